"""Example requests built from the model's columns: the README's copy-paste bodies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcc_runtime.schema import InputSchema, csv_text, synthetic_row
from mcc_runtime.signature import OPEN_INFERENCE_DATATYPES, Signature

# The README's line for each request type a framework takes beyond the common ones (catalog input_types).
REQUEST_TYPE_NOTES = {
    "text/libsvm": "LIBSVM rows `[label] index:value ...` (indices from 0; the label is ignored; a feature left "
    "out is missing), as SageMaker's XGBoost container and the SDK's `XGBoostPredictor` send them",
    "application/x-npz": "a SciPy sparse matrix (`scipy.sparse.save_npz`), handed to the model as sparse input "
    "(a left-out entry is what the model makes of it: zero for scikit-learn and LightGBM, missing for XGBoost)",
    "application/x-recordio-protobuf": "RecordIO-wrapped protobuf `Record`s, one row each in the `values` feature "
    "(dense, or sparse with keys and shape: a left-out entry is missing), as SageMaker's built-in XGBoost takes "
    "them and the SageMaker SDK's `RecordSerializer` writes them",
}


def request_examples(schema: InputSchema, rows: Sequence[Sequence[Any]] = ()) -> dict[str, str]:
    """Encoding -> request body, for a schema with named columns (empty otherwise). ``rows``: the sample's first
    rows in the model's column order, as the model check read them; else one synthetic row."""
    if not schema.columns:
        return {}
    rows = [list(row) for row in rows] or [synthetic_row(schema)]
    names = list(schema.names)
    records = [dict(zip(names, row, strict=True)) for row in rows]
    return {
        "text/csv": csv_text([names, *rows]).rstrip("\n"),
        "application/json": json.dumps(records),
        "application/json (instances)": json.dumps({"instances": rows}),
        "application/json (split)": json.dumps({"columns": names, "data": rows}),
        "application/jsonlines": "\n".join(json.dumps(record) for record in records),
    }


def signature_examples(signature: Signature) -> dict[str, str]:
    """Protocol -> request body of one placeholder row (zeros, or "text" for string inputs), for a model of
    several named inputs: TF Serving rows and columnar, and the Open Inference Protocol (KServe v2, Triton)."""
    row = {spec.name: _placeholder(spec.dtype, spec.shape[1:]) for spec in signature.inputs}
    tensors = []
    for spec in signature.inputs:
        shape = [1, *(size or 1 for size in spec.shape[1:])]
        flat = [row[spec.name]] if len(shape) == 1 else _flattened(row[spec.name])
        datatype = OPEN_INFERENCE_DATATYPES[spec.dtype]
        tensors.append({"name": spec.name, "shape": shape, "datatype": datatype, "data": flat})
    return {
        "application/json (TF Serving rows)": json.dumps({"instances": [row]}),
        "application/json (TF Serving columnar)": json.dumps({"inputs": {name: [v] for name, v in row.items()}}),
        "application/json (Open Inference Protocol)": json.dumps({"inputs": tensors}),
    }


def _placeholder(dtype: str, shape: tuple[int | None, ...]) -> Any:
    if shape:
        return [_placeholder(dtype, shape[1:]) for _ in range(shape[0] or 1)]
    return "text" if dtype == "string" else False if dtype == "bool" else 0


def _flattened(value: Any) -> list:
    return [v for part in value for v in _flattened(part)] if isinstance(value, list) else [value]
