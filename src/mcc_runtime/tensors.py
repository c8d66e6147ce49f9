"""Requests for a model that takes several named tensors (its ``Signature``), decoded into one array per input,
and answers written in the protocol the request spoke:

- TF Serving rows, ``{"instances": [{"a": …, "b": …}, …]}`` (or a bare list of such rows, or JSON Lines, one row
  a line): answered ``{"predictions": [...]}``, one entry per row (an object of the named outputs where there
  are several);
- TF Serving columnar, ``{"inputs": {"a": batch, "b": batch}}``: answered ``{"outputs": batch}``, or an object
  of the named outputs;
- the Open Inference Protocol (KServe v2, which Triton and MLServer clients speak),
  ``{"inputs": [{"name", "shape", "datatype", "data"}, …]}``: answered ``{"model_name", "outputs": [{"name",
  "shape", "datatype", "data"}]}``;
- NPZ (``numpy.savez``), one array per input name: answered as rows.

Each input is checked against its dtype and shape; every error names the input, what it takes and what was sent.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import codecs, open_inference
from .errors import BadRequest, UnsupportedMediaType
from .signature import Signature, TensorSpec

ROWS, COLUMNAR, OPEN_INFERENCE = "rows", "columnar", "open-inference"
INPUT_TYPES = (codecs.JSON, codecs.JSONLINES, codecs.NPZ)
SINGLE_INPUT_TYPES = (codecs.CSV, codecs.NPY)  # one input needs no name: one row (or text) per line, one array
FORMATS = ('send {"instances": [{input: value, ...}, ...]}, {"inputs": {input: batch, ...}} or the Open '
           'Inference Protocol\'s {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')  # fmt: skip


class NamedInputs(dict):
    """``{input name: array}``, and the protocol the request spoke (its answer speaks it too)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], protocol: str = ROWS) -> None:
        super().__init__(arrays)
        self.protocol = protocol


class NamedOutputs(dict):
    """``{output name: array}``, in the graph's order, and the protocol to answer in."""

    def __init__(self, arrays: Mapping[str, np.ndarray], protocol: str = ROWS) -> None:
        super().__init__(arrays)
        self.protocol = protocol


def decode(body: bytes | str, content_type: str, signature: Signature) -> NamedInputs:
    """One array per input of ``signature``, all with the same number of rows (BadRequest saying what is wrong)."""
    media = codecs.ALIASES.get(content_type, content_type)
    single = len(signature.inputs) == 1
    accepted = (*INPUT_TYPES, *SINGLE_INPUT_TYPES) if single else INPUT_TYPES
    if media not in accepted:
        names, what = ", ".join(signature.input_names), "named input" if single else "named inputs"
        raise UnsupportedMediaType(f"this model takes {len(signature.inputs)} {what} ({names}): send "
                                   f"{', '.join(accepted)}{'' if single else ' naming them'}, not "
                                   f"{content_type or '(none)'}")  # fmt: skip
    if not body or not body.strip():
        raise BadRequest("the request body is empty")
    if media == codecs.CSV:
        given, protocol = {signature.inputs[0].name: _csv_values(body, signature.inputs[0])}, ROWS
    elif media == codecs.NPY:
        given, protocol = {signature.inputs[0].name: _npy(body)}, ROWS
    elif media == codecs.NPZ:
        given, protocol = _npz(body), ROWS
    elif media == codecs.JSONLINES:
        given, protocol = _rows(codecs.jsonlines_values(body), signature), ROWS
    else:
        given, protocol = _json_inputs(codecs.json_document(body), signature)
    return NamedInputs(_conformed(given, signature), protocol)


def encode(outputs: NamedOutputs, accept: str) -> bytes:
    """The answer in the request's protocol for JSON; CSV, JSON Lines and NPY as for any prediction."""
    if accept == open_inference.ANSWER:
        accept = codecs.JSON  # the protocol the request spoke (outputs.protocol)
    if accept != codecs.JSON:  # one output as a plain prediction; a CSV header names the outputs
        only = len(outputs) == 1 and accept != codecs.CSV_HEADER
        return codecs.encode(next(iter(outputs.values())) if only else dict(outputs), accept)
    if outputs.protocol == OPEN_INFERENCE:
        return codecs.encode(open_inference.answer(dict(outputs)), codecs.JSON)
    values = {name: np.asarray(array) for name, array in outputs.items()}
    if outputs.protocol == COLUMNAR:
        return codecs.encode({"outputs": next(iter(values.values())) if len(values) == 1 else values}, codecs.JSON)
    if len(values) == 1:
        return codecs.encode({"predictions": next(iter(values.values()))}, codecs.JSON)
    rows = [dict(zip(values, row, strict=True)) for row in zip(*(v.tolist() for v in values.values()), strict=True)]
    return codecs.encode({"predictions": rows}, codecs.JSON)


def _json_inputs(document: Any, signature: Signature) -> tuple[dict[str, Any], str]:
    if isinstance(document, list):
        return _rows(document, signature), ROWS
    if not isinstance(document, dict) or not ({"instances", "inputs"} & set(document)):
        raise BadRequest(FORMATS)
    if "instances" in document:
        return _rows(document["instances"], signature), ROWS
    if (given := open_inference.request_tensors(document)) is not None:
        return {t["name"]: open_inference.input_array(t) for t in given}, OPEN_INFERENCE
    inputs = document["inputs"]
    if isinstance(inputs, dict):
        return inputs, COLUMNAR
    if len(signature.inputs) == 1:
        return {signature.inputs[0].name: inputs}, COLUMNAR
    raise BadRequest(f'"inputs" must name each of the model\'s inputs ({", ".join(signature.input_names)})')


def _rows(rows: Any, signature: Signature) -> dict[str, Any]:
    """Row objects ``{input: value}`` as one batch per input."""
    if not isinstance(rows, list) or not rows:
        raise BadRequest("expected a non-empty list of rows")
    (first, *others) = signature.inputs
    if not others and not any(isinstance(row, dict) for row in rows):  # one input: each row is its value
        return {first.name: rows}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise BadRequest(f"row {number} is {type(row).__name__}; each row must name the model's inputs "
                             f"({', '.join(signature.input_names)})")  # fmt: skip
        _check_names(row, signature, f"row {number}")
    return {name: [row[name] for row in rows] for name in signature.input_names}


def _csv_values(body: bytes | str, spec: TensorSpec) -> list:
    """One row per CSV line: its one value (a text may be quoted, commas and all) or its values."""
    text = (body if isinstance(body, str) else codecs.utf8_text(body)).removeprefix(codecs.BOM)
    lines = [line for line in text.splitlines() if line.strip()]
    rows = list(csv.reader(lines))
    values = [[_cell(cell, spec, number) for cell in row] for number, row in enumerate(rows, 1)]
    return [row[0] if len(row) == 1 and len(spec.shape) == 1 else row for row in values]


def _cell(text: str, spec: TensorSpec, line: int) -> Any:
    if spec.dtype == "string":
        return text
    try:
        return float(text) if spec.dtype.startswith("float") else int(text)
    except ValueError:
        raise BadRequest(f"input {spec.shown}: line {line} holds {text!r}, not a {spec.dtype} value") from None


def _npy(body: bytes | str) -> np.ndarray:
    if isinstance(body, str):
        raise BadRequest("an NPY body is binary")
    try:
        return np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadRequest(f"the body is not a readable .npy array: {exc}") from None


def _npz(body: bytes | str) -> dict[str, np.ndarray]:
    if isinstance(body, str):
        raise BadRequest("an NPZ body is binary")
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BadRequest(f"the body is not an NPZ archive of arrays (numpy.savez): {exc}") from None


def _check_names(given: Mapping[str, Any], signature: Signature, where: str) -> None:
    missing = [n for n in signature.input_names if n not in given]
    unknown = sorted(str(n) for n in given if n not in signature.input_names)
    if missing or unknown:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise BadRequest(f"{where}: {'; '.join(parts)} (the model's inputs: {', '.join(signature.input_names)})")


def _conformed(given: Mapping[str, Any], signature: Signature) -> dict[str, np.ndarray]:
    _check_names(given, signature, "inputs")
    arrays = {spec.name: _tensor(spec, given[spec.name]) for spec in signature.inputs}
    sizes = {name: len(array) for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise BadRequest(f"the inputs have different numbers of rows ({shown}); each row needs every input")
    return arrays


def _tensor(spec: TensorSpec, value: Any) -> np.ndarray:
    """``value`` as the input's dtype and shape (a batch along the first dimension)."""
    try:
        if spec.dtype == "string":
            array = np.asarray(value, dtype=object)
            if not all(isinstance(v, str) for v in array.reshape(-1)):
                raise ValueError("not every value is text")
        else:
            array = np.asarray(value)
            if array.dtype.kind not in "biuf" or (array.dtype.kind == "f" and spec.dtype[0] in "iub"):
                raise ValueError(f"the values are {_kind(array)}")
            array = array.astype(spec.dtype)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"input {spec.shown}: {exc}; sent {_described(value)}") from None
    if not spec.shape:  # a shape the artifact does not record (and none was declared): the model checks it
        return array
    if array.ndim == len(spec.shape) - 1 and spec.shape[-1] == 1:  # one value a row, for a [?, 1] input
        array = array[..., np.newaxis]
    if array.ndim != len(spec.shape):
        raise BadRequest(f"input {spec.shown}: {array.ndim} dimensions sent ({_described(value)}), "
                         f"it takes {len(spec.shape)}")  # fmt: skip
    fixed = [(i, want, got) for i, (want, got) in enumerate(zip(spec.shape, array.shape, strict=True)) if i and want]
    wrong = [(i, want, got) for i, want, got in fixed if want != got]
    if wrong:
        i, want, got = wrong[0]
        raise BadRequest(f"input {spec.shown}: dimension {i} is {got}, it must be {want}; sent {_described(value)}")
    return array


def _kind(array: np.ndarray) -> str:
    return {"f": "decimals", "O": "mixed or text", "U": "text", "S": "bytes"}.get(array.dtype.kind, array.dtype.name)


def _described(value: Any) -> str:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return f"a ragged {type(value).__name__}"
    kind = "text" if array.dtype.kind in "OUS" else array.dtype.name
    return f"{kind}[{', '.join(str(d) for d in array.shape)}]"
