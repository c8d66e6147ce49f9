"""PyTorch: TorchScript files (torch.jit.save) and exported programs (torch.export.save)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import BadRequest
from . import as_class_probabilities, labels_from_proba, squeeze, threads

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load(path: Path, model_format: str = "torchscript") -> Any:
    torch.set_num_threads(threads())
    if model_format == "exported":
        return torch.export.load(str(path)).module().to(DEVICE)
    return torch.jit.load(str(path), map_location=DEVICE).eval()


def predict(model: Any, data: np.ndarray) -> np.ndarray:
    """The network's output as it is (values or scores; single-output rows squeezed)."""
    return squeeze(_run(model, data))


def has_proba(model: Any) -> bool:
    return True  # the output is taken as class probabilities (a softmax or sigmoid head)


def predict_proba(model: Any, data: np.ndarray) -> np.ndarray:
    output = _run(model, data)
    return as_class_probabilities(output)


def predict_label(model: Any, data: np.ndarray) -> np.ndarray:
    return labels_from_proba(_run(model, data))


def feature_count(model: Any) -> int | None:
    return None  # a network's first layer does not declare its width in a loadable way


def _run(model: Any, data: np.ndarray) -> np.ndarray:
    inputs = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)).to(DEVICE)
    try:
        with torch.inference_mode():
            output = model(inputs)
    except (RuntimeError, ValueError, AssertionError, IndexError) as exc:
        # Shape and dtype mismatches surface as RuntimeError from the first layer that sees them.
        raise BadRequest(f"the model rejected the input: {_first_cause(exc)}") from None
    if isinstance(output, list | tuple | dict):
        raise TypeError("the model returns several outputs; write a predict_fn in code/inference.py")
    return output.detach().cpu().numpy()


def _first_cause(exc: Exception) -> str:
    """TorchScript wraps the real error after a traceback; its last line says what went wrong."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    return lines[-1] if lines[0].startswith("The following operation failed") else lines[0]
