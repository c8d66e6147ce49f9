"""The Open Inference Protocol (KServe v2; what Triton and MLServer clients speak) over JSON: a request is
``{"inputs": [{"name", "shape", "datatype", "data"}, …]}``, an answer ``{"model_name", "outputs": […]}``, each
tensor's ``data`` flattened in row-major order.

``ANSWER`` is the response type a request in this protocol is answered with (its content type is still JSON)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .errors import BadRequest, NotAcceptable
from .signature import OPEN_INFERENCE_DATATYPES

ANSWER = "application/json;protocol=open-inference"
JSON = "application/json"
MODEL_NAME = "model"
DATATYPES = {v2: dtype for dtype, v2 in OPEN_INFERENCE_DATATYPES.items()}  # numpy's dtype names


def request_tensors(document: Any) -> list[dict] | None:
    """The request's input tensors, where ``document`` (parsed JSON) is in this protocol; else None."""
    if not isinstance(document, dict):
        return None
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return None
    if all(isinstance(t, dict) and "name" in t and ("datatype" in t or "shape" in t) for t in inputs):
        return inputs  # one without a datatype is this protocol's too, refused naming what it lacks
    return None


def is_request(body: bytes | str, media: str) -> bool:
    """Whether a request body is in this protocol (a body without a "datatype" key is not parsed here)."""
    if media != JSON or not body:
        return False
    marker = b'"datatype"' if isinstance(body, bytes) else '"datatype"'
    if marker not in body:
        return False
    try:
        return request_tensors(json.loads(body)) is not None
    except ValueError:
        return False


def input_array(tensor: dict) -> np.ndarray:
    """One input tensor's data in its datatype and shape (BadRequest naming the input)."""
    name, datatype, shape = tensor["name"], tensor.get("datatype"), tensor.get("shape")
    if datatype not in DATATYPES:
        raise BadRequest(f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise BadRequest(f"input {name!r}: shape must be a list of sizes, got {shape!r}")
    dtype = object if datatype == "BYTES" else DATATYPES[datatype]
    try:
        return np.asarray(tensor.get("data"), dtype=dtype).reshape(shape)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"input {name!r}: data does not fill shape {shape} of {datatype} ({exc})") from None


def output_tensor(name: str, values: Any) -> dict[str, Any]:
    """An output as this protocol writes it; values that are not numbers, booleans or texts are a 406."""
    array = np.asarray(values)
    if array.dtype.kind == "O" and not all(isinstance(v, str) for v in array.reshape(-1)):
        raise NotAcceptable(f"output {name!r} holds {type(array.reshape(-1)[0]).__name__} values, which no "
                            "Open Inference Protocol tensor holds; ask for application/jsonlines")  # fmt: skip
    kind = "string" if array.dtype.kind in "OUS" else array.dtype.name
    return {"name": name, "datatype": OPEN_INFERENCE_DATATYPES.get(kind, "BYTES"), "shape": list(array.shape),
            "data": array.reshape(-1).tolist()}  # fmt: skip


def answer(outputs: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": MODEL_NAME, "outputs": [output_tensor(name, values) for name, values in outputs.items()]}
