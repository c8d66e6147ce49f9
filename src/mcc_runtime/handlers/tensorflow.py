"""TensorFlow / Keras: ``.keras`` files and SavedModel directories (served through their signature).

Each model's signature (its named inputs and outputs) is read for ``code/schema.json``: a model of several
inputs or of text inputs (``TextVectorization``, ``StringLookup``) gets one array per input from each request
(``mcc_runtime.tensors``) and answers with its named outputs (``run``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import BadRequest
from ..schema import InputSchema
from ..signature import DTYPES, Signature, TensorSpec
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
    name, spec = next(iter(inputs.items()))
    width = spec.shape[-1] if spec.shape.rank and len(inputs) == 1 else None
    return SignatureModel(loaded, function, name, spec.dtype, width)


def input_schema(model: Any) -> InputSchema:
    """The input width (one numeric input) and the model's signature."""
    signature = _signature(model)
    named = len(signature.inputs) > 1 or signature.inputs[0].dtype == "string"
    return InputSchema(width=None if named else feature_count(model), signature=signature)


def run(model: Any, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every output of the model, by name, for one array per input."""
    if isinstance(model, SignatureModel):
        specs = model.function.structured_input_signature[1]
        call = lambda: model.function(**{n: tf.constant(a, dtype=specs[n].dtype) for n, a in inputs.items()})  # noqa: E731
    else:
        tensors = {name: tf.constant(array) for name, array in inputs.items()}
        given = [tensors[i.name] for i in model.inputs]
        arguments = tensors if isinstance(model.input, dict) else given if len(given) > 1 else given[0]
        call = lambda: model(arguments, training=False)  # noqa: E731
    try:
        output = call()
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
        raise BadRequest(f"the model rejected the input: {str(exc).splitlines()[0]}") from None
    if not isinstance(output, dict):
        names = list(getattr(model, "output_names", None) or ["output"])
        output = dict(zip(names, output if isinstance(output, list | tuple) else [output], strict=False))
    return {name: np.asarray(values) for name, values in output.items()}


def _signature(model: Any) -> Signature:
    if isinstance(model, SignatureModel):
        inputs = model.function.structured_input_signature[1].items()
        outputs = model.function.structured_outputs.items()
        return Signature(tuple(_spec(n, s.dtype, s.shape) for n, s in inputs),
                         tuple(_spec(n, s.dtype, s.shape) for n, s in outputs))  # fmt: skip
    names = list(getattr(model, "output_names", None) or [o.name for o in model.outputs])
    return Signature(tuple(_spec(i.name, i.dtype, i.shape) for i in model.inputs),
                     tuple(_spec(n, o.dtype, o.shape) for n, o in zip(names, model.outputs, strict=False)))  # fmt: skip


def _spec(name: str, dtype: Any, shape: Any) -> TensorSpec:
    kind = tf.as_dtype(dtype).name
    dims = shape.as_list() if hasattr(shape, "as_list") and shape.rank is not None else list(shape or [None])
    return TensorSpec(name, kind if kind in DTYPES else "float32", tuple(dims) or (None,))


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
