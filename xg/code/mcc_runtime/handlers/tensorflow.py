"""TensorFlow / Keras: ``.keras`` files and SavedModel directories (served through their signature)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import BadRequest
from . import as_class_probabilities, check_width, labels_from_proba, squeeze

SIGNATURE = "serving_default"


@dataclass(frozen=True)
class SignatureModel:
    loaded: Any  # the trackable object: keeps the signature's variables alive
    function: Any
    input_name: str
    dtype: tf.DType
    width: int | None


def load(path: Path, model_format: str = "keras") -> Any:
    if model_format == "keras":
        import keras

        return keras.models.load_model(path, compile=False)
    loaded = tf.saved_model.load(str(path))
    if SIGNATURE not in loaded.signatures:
        raise ValueError(f"{path} has no {SIGNATURE!r} signature (found: {', '.join(loaded.signatures) or 'none'})")
    function = loaded.signatures[SIGNATURE]
    inputs = function.structured_input_signature[1]
    if len(inputs) != 1:
        raise ValueError(f"{path}: the {SIGNATURE!r} signature takes {len(inputs)} inputs; one is supported")
    ((name, spec),) = inputs.items()
    width = spec.shape[-1] if spec.shape.rank else None
    return SignatureModel(loaded, function, name, spec.dtype, width)


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
    return model.width if isinstance(model, SignatureModel) else model.inputs[0].shape[-1]


def _run(model: Any, data: np.ndarray) -> np.ndarray:
    check_width(data, feature_count(model))
    if isinstance(model, SignatureModel):
        run = lambda: model.function(**{model.input_name: tf.constant(data, dtype=model.dtype)})  # noqa: E731
    else:
        run = lambda: model(data.astype(np.float32), training=False)  # noqa: E731
    try:
        output = run()
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
        raise BadRequest(f"the model rejected the input: {exc}") from None
    if isinstance(output, dict):
        if len(output) != 1:
            raise TypeError(f"the model has {len(output)} outputs; write a predict_fn in code/inference.py")
        output = next(iter(output.values()))
    if isinstance(output, list | tuple):
        raise TypeError(f"the model has {len(output)} outputs; write a predict_fn in code/inference.py")
    return np.asarray(output)
