"""ML Container Creator: answers in, a complete SageMaker AI inference container project out."""

__version__ = "0.1.0"
