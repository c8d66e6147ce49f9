"""PyTorch: TorchScript files (torch.jit.save) and exported programs (torch.export.save).

An exported program's graph records every input's name, dtype and shape (a dynamic dimension as free): its
signature. A TorchScript ``forward`` of several tensors, or of one ``Dict[str, Tensor]``, records its inputs'
names (the positional ones) but not their dtypes and shapes: those are declared (``mcc new --signature``,
recorded in ``code/schema.json``). A model of several inputs gets one array per input for ``run`` (each request
decoded by ``mcc_runtime.tensors``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import BadRequest
from ..schema import InputSchema
from ..signature import DTYPES, Signature, TensorSpec
from . import as_class_probabilities, labels_from_proba, squeeze, threads

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class ExportedModel:
    """An exported program's module, and the signature its graph records (None where it takes nested inputs)."""

    module: Any
    signature: Signature | None

    def __call__(self, *tensors: torch.Tensor) -> Any:
        return self.module(*tensors)

    def __getattr__(self, name: str) -> Any:  # a predict_fn of the user's own uses it as the module
        if name == "module":
            raise AttributeError(name)
        return getattr(self.module, name)


def load(path: Path, model_format: str = "torchscript") -> Any:
    torch.set_num_threads(threads())
    if model_format == "exported":
        program = torch.export.load(str(path))
        return ExportedModel(program.module().to(DEVICE), exported_signature(program))
    return torch.jit.load(str(path), map_location=DEVICE).eval()


def exported_signature(program: Any) -> Signature | None:
    """Names, dtypes and shapes of an exported program's tensor arguments and outputs, from its graph."""
    positional, keywords = program.call_spec.in_spec.children()  # (args, kwargs)
    if keywords.num_leaves or not all(argument.is_leaf() for argument in positional.children()):
        return None  # keyword or nested (dict, list) inputs: declared like a TorchScript Dict forward's
    nodes = {node.name: node for node in program.graph.nodes}
    inputs = [_exported_spec(name, nodes[name]) for name in program.graph_signature.user_inputs]
    results = next(node for node in program.graph.nodes if node.op == "output").args[0]
    names = ["output"] if len(results) == 1 else [f"output_{i}" for i in range(len(results))]
    outputs = [_exported_spec(name, node) for name, node in zip(names, results, strict=True)]
    specs = [*inputs, *outputs]
    return None if None in specs else Signature(tuple(inputs), tuple(outputs))


def _exported_spec(name: str, node: Any) -> TensorSpec | None:
    value = getattr(node, "meta", {}).get("val")
    dtype = str(getattr(value, "dtype", "")).removeprefix("torch.")
    if dtype not in DTYPES:
        return None
    return TensorSpec(name, dtype, tuple(d if isinstance(d, int) else None for d in value.shape))


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


def input_schema(model: Any) -> InputSchema | None:
    """For a TorchScript forward of several tensors, their names (dtypes and shapes unknown: float32 of any
    shape until declared); for one ``Dict[str, Tensor]``, a signature of no known inputs (they must be declared);
    else nothing recorded."""
    if isinstance(model, ExportedModel):
        return _exported_schema(model.signature)
    arguments = _forward_arguments(model)
    if len(arguments) > 1 and all(kind == "Tensor" for _, kind in arguments):
        return InputSchema(signature=Signature(tuple(TensorSpec(n, "float32", ()) for n, _ in arguments), (), False))
    if len(arguments) == 1 and arguments[0][1].startswith("Dict[str, Tensor]"):
        return InputSchema(signature=Signature((), (), False))
    return None


def _exported_schema(signature: Signature | None) -> InputSchema | None:
    """An exported program's signature; for one input of rows of values, their number too."""
    if signature is None:
        return None
    shape = signature.inputs[0].shape if len(signature.inputs) == 1 else ()
    width = shape[1] if len(shape) == 2 and shape[1] else None
    return InputSchema(width=width, signature=signature)


def run(model: Any, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's outputs by name (``output``, or ``output_0``, … for a tuple, or a returned dict's keys)."""
    tensors = {name: torch.from_numpy(np.ascontiguousarray(array)).to(DEVICE) for name, array in inputs.items()}
    arguments = _forward_arguments(model)
    keyed = len(arguments) == 1 and arguments[0][1].startswith("Dict")
    try:
        with torch.inference_mode():
            output = model(tensors) if keyed else model(*(tensors[name] for name, _ in arguments))
    except (RuntimeError, ValueError, AssertionError, IndexError, KeyError) as exc:
        raise BadRequest(f"the model rejected the input: {_first_cause(exc)}") from None
    if isinstance(output, dict):
        return {str(name): value.detach().cpu().numpy() for name, value in output.items()}
    if isinstance(output, list | tuple):
        return {f"output_{i}": value.detach().cpu().numpy() for i, value in enumerate(output)}
    return {"output": output.detach().cpu().numpy()}


def _forward_arguments(model: Any) -> list[tuple[str, str]]:
    """(name, type) of a TorchScript forward's arguments, without self, or an exported program's tensors."""
    if isinstance(model, ExportedModel):
        return [(spec.name, "Tensor") for spec in model.signature.inputs] if model.signature else []
    schema = getattr(getattr(model, "forward", None), "schema", None)
    if schema is None:
        return []
    return [(a.name, str(a.type)) for a in schema.arguments if a.name != "self"]


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
