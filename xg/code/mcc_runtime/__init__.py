"""mcc_runtime — the serving code that runs inside every generated container.

It is copied verbatim into each generated project (``code/mcc_runtime``) and never templated; a project's
behaviour is configured by ``code/serving.json`` and environment variables, and customised in
``code/inference.py``.
"""

__version__ = "0.1.0"
