"""Generative serving: the engine launcher (vLLM, SGLang, TensorRT-LLM, DJL LMI) and mcc's own
Transformers server. The launcher uses the standard library only: engine images bring their own Python."""
