"""ONNX Runtime: any ``.onnx`` model with one input; scikit-learn conversions (label + probabilities) too.

Every graph's signature (named inputs and outputs, dtypes, shapes) is read for ``code/schema.json``; a graph
with several inputs gets one array per input from each request (``mcc_runtime.tensors``) and answers with its
named outputs (``run``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from ..errors import BadRequest
from ..schema import InputSchema
from ..signature import Signature, TensorSpec
from . import as_class_probabilities, check_width, labels_from_proba, squeeze, threads

DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}
PROBABILITY_NAMES = ("probabilities", "output_probability", "probability")
TENSOR_TYPES = {"float": "float32", "double": "float64", "float16": "float16", "int64": "int64", "int32": "int32",
                "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool", "string": "string"}  # fmt: skip


@dataclass(frozen=True)
class OnnxModel:
    session: onnxruntime.InferenceSession
    input_name: str  # the first input's (the only one the default predict_fn feeds)
    dtype: type | None
    width: int | None
    outputs: tuple[str, ...]
    fixed_rows: bool = False  # the graph's input has a fixed first dimension (rows of requests cannot join)
    signature: Signature | None = None  # every input and (tensor) output, in the graph's order

    @property
    def probability_output(self) -> int | None:
        """Index of a converted classifier's probability output (label is output 0), if any."""
        if len(self.outputs) < 2:
            return None
        named = [i for i, name in enumerate(self.outputs) if name.lower() in PROBABILITY_NAMES]
        return named[0] if named else 1


def load(path: Path, model_format: str = "onnx") -> OnnxModel:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads()
    options.inter_op_num_threads = 1
    wanted = ("CUDAExecutionProvider", "CPUExecutionProvider")
    providers = [p for p in wanted if p in onnxruntime.get_available_providers()]
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    inputs = session.get_inputs()
    signature = Signature(tuple(_spec(i) for i in inputs), tuple(_spec(o) for o in session.get_outputs() if _tensor(o)))
    outputs = tuple(o.name for o in session.get_outputs())
    fixed_rows = any(spec.shape and isinstance(spec.shape[0], int) for spec in inputs)
    if signature.named:  # one array per named input, or texts (mcc_runtime.tensors)
        return OnnxModel(session, inputs[0].name, None, None, outputs, fixed_rows, signature)
    (spec,) = inputs
    if spec.type not in DTYPES:
        raise ValueError(f"{path}: input {spec.name!r} is {spec.type}; supported: {', '.join(DTYPES)}")
    width = spec.shape[-1] if spec.shape and isinstance(spec.shape[-1], int) else None
    return OnnxModel(session, spec.name, DTYPES[spec.type], width, outputs, fixed_rows, signature)


def input_schema(model: OnnxModel) -> InputSchema:
    """The input width (one input) and the graph's signature."""
    return InputSchema(width=model.width, signature=model.signature)


def run(model: OnnxModel, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every output of the graph, by name, for one array per input."""
    try:
        outputs = model.session.run(None, inputs)
    except (ort_errors.Fail, ort_errors.InvalidArgument, ValueError) as exc:
        raise BadRequest(f"the model rejected the input: {str(exc).splitlines()[0]}") from None
    return {name: _array(output) for name, output in zip(model.outputs, outputs, strict=True)}


def _tensor(node: object) -> bool:
    return str(getattr(node, "type", "")).removeprefix("tensor(").removesuffix(")") in TENSOR_TYPES


def _spec(node: object) -> TensorSpec:
    kind = str(getattr(node, "type", "")).removeprefix("tensor(").removesuffix(")")
    if kind not in TENSOR_TYPES:
        raise ValueError(f"input {node.name!r} is {node.type}; supported: {', '.join(TENSOR_TYPES)}")
    shape = tuple(d if isinstance(d, int) else None for d in (node.shape or [None]))
    return TensorSpec(node.name, TENSOR_TYPES[kind], shape)


def predict(model: OnnxModel, data: np.ndarray) -> np.ndarray:
    """Output 0: a converted classifier's labels, a regressor's values, or a network's output."""
    return squeeze(_run(model, data, 0))


def has_proba(model: OnnxModel) -> bool:
    return True  # a converted classifier's probability output, else the output itself


def predict_proba(model: OnnxModel, data: np.ndarray) -> np.ndarray:
    index = model.probability_output
    output = _run(model, data, 0 if index is None else index)
    return as_class_probabilities(output)


def predict_label(model: OnnxModel, data: np.ndarray) -> np.ndarray:
    if model.probability_output is not None:
        return predict(model, data)
    return labels_from_proba(_run(model, data, 0))


def row_independent(model: OnnxModel) -> bool:
    """Rows may share one run when the graph takes any number of them (a network is assumed row-wise)."""
    return not model.fixed_rows


def feature_count(model: OnnxModel) -> int | None:
    return model.width


def _run(model: OnnxModel, data: np.ndarray, index: int) -> np.ndarray:
    check_width(data, feature_count(model))
    try:
        output = model.session.run([model.outputs[index]], {model.input_name: data.astype(model.dtype)})[0]
    except (ort_errors.Fail, ort_errors.InvalidArgument, ValueError) as exc:
        raise BadRequest(f"the model rejected the input: {str(exc).splitlines()[0]}") from None
    return _array(output)


def _array(output: object) -> np.ndarray:
    if isinstance(output, list):  # ZipMap output: one {class: probability} dict per row
        output = np.array([[row[k] for k in sorted(row)] for row in output])
    return np.asarray(output)
