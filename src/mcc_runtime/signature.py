"""A tensor model's signature: its named inputs and outputs, each with a dtype and a shape (``None`` for a free
dimension; the first is the batch), as the artifact records them (an ONNX graph's inputs and outputs).

Recorded in ``code/schema.json`` beside the tabular schema (``"signature"``) and read again from the model when
the server starts. Standard library only: the generator imports it to write the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string")
# The Open Inference Protocol's (KServe v2, Triton) datatype for each dtype.
OPEN_INFERENCE_DATATYPES = {
    "float16": "FP16", "float32": "FP32", "float64": "FP64", "int8": "INT8", "int16": "INT16", "int32": "INT32",
    "int64": "INT64", "uint8": "UINT8", "bool": "BOOL", "string": "BYTES",
}  # fmt: skip


class SignatureError(ValueError):
    """A signature in schema.json the runtime cannot accept."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # one of DTYPES
    shape: tuple[int | None, ...] = (None,)  # None: any size; the first dimension is the batch

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise SignatureError(f"tensor {self.name!r}: dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")

    @property
    def shown(self) -> str:
        """``name: float32[?, 3]``, as errors and the README show it."""
        return f"{self.name}: {self.dtype}[{', '.join('?' if d is None else str(d) for d in self.shape)}]"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: Any) -> TensorSpec:
        keys = {"name", "dtype", "shape"}
        if not isinstance(data, dict) or not isinstance(data.get("name"), str) or set(data) - keys:
            raise SignatureError(f"tensor {data!r} must be an object with a name, a dtype and a shape")
        shape = data.get("shape", [None])
        if not isinstance(shape, list) or not all(d is None or (isinstance(d, int) and d >= 0) for d in shape):
            raise SignatureError(f"tensor {data['name']!r}: shape {shape!r} must list sizes (null for any)")
        return cls(data["name"], str(data.get("dtype", "float32")), tuple(shape))


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = ()

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [s.to_dict() for s in self.inputs], "outputs": [s.to_dict() for s in self.outputs]}

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or set(data) - {"inputs", "outputs"}:
            raise SignatureError("a signature must be an object with a list of inputs (and of outputs)")
        inputs = tuple(TensorSpec.from_dict(entry) for entry in data["inputs"])
        outputs = tuple(TensorSpec.from_dict(entry) for entry in data.get("outputs") or ())
        if not inputs or len(set(s.name for s in inputs)) != len(inputs):
            raise SignatureError("a signature needs inputs with distinct names")
        return cls(inputs, outputs)
