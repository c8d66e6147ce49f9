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
        """``name: float32[?, 3]``, as errors and the README show it (``name: float32`` for an unknown shape)."""
        if not self.shape:
            return f"{self.name}: {self.dtype}"
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
    certain: bool = True  # False: the artifact records the names only (TorchScript); dtypes and shapes are guesses

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)

    @property
    def named(self) -> bool:
        """Several inputs, or text: requests decode to one array per named input (mcc_runtime.tensors), not to
        rows of numbers or columns."""
        return len(self.inputs) > 1 or any(spec.dtype == "string" for spec in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        recorded = {"inputs": [s.to_dict() for s in self.inputs], "outputs": [s.to_dict() for s in self.outputs]}
        return recorded if self.certain else {**recorded, "certain": False}

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        keys = {"inputs", "outputs", "certain"}
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or set(data) - keys:
            raise SignatureError("a signature must be an object with a list of inputs (and of outputs)")
        inputs = tuple(TensorSpec.from_dict(entry) for entry in data["inputs"])
        outputs = tuple(TensorSpec.from_dict(entry) for entry in data.get("outputs") or ())
        if not inputs or len(set(s.name for s in inputs)) != len(inputs):
            raise SignatureError("a signature needs inputs with distinct names")
        return cls(inputs, outputs, bool(data.get("certain", True)))


def parse(text: str) -> Signature:
    """``"features: float32[?, 4]; category: int64[?]"`` (``?`` or nothing: any size) as a Signature."""
    specs = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, colon, rest = part.partition(":")
        dtype, bracket, dims = rest.strip().partition("[")
        if not colon or not name.strip() or not bracket or not dims.endswith("]"):
            raise SignatureError(f"{part!r} must read NAME: DTYPE[SIZES], e.g. 'features: float32[?, 4]'")
        sizes = [d.strip() for d in dims[:-1].split(",")]
        if not all(d in ("?", "") or d.isdigit() for d in sizes):
            raise SignatureError(f"{part!r}: sizes are numbers or ? (any size), e.g. [?, 4]")
        specs.append(TensorSpec(name.strip(), dtype.strip(), tuple(int(d) if d.isdigit() else None for d in sizes)))
    names = [spec.name for spec in specs]
    if not specs or len(set(names)) != len(names):
        raise SignatureError("declare each input once, separated by ';', e.g. 'features: float32[?, 4]; id: int64[?]'")
    return Signature(tuple(specs))
