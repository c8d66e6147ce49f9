"""Example requests built from the model's columns: the README's copy-paste bodies and, for a model that
records its columns but came without a sample payload, ``samples/payload.csv``."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from mcc_runtime.schema import Column, InputSchema

EXAMPLE_ROWS = 2
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
JSON_TYPES = {".csv": "text/csv", ".json": "application/json"}


def synthetic_row(schema: InputSchema) -> list[Any]:
    """One valid row: 0 for numbers, the first known value for categories and text, true for booleans."""
    return [_placeholder(column) for column in schema.columns]


def synthetic_payload(schema: InputSchema) -> bytes:
    """A CSV with a header and one synthetic row (the model's values are not known here: check yours)."""
    return _csv([list(schema.names), synthetic_row(schema)]).encode()


def request_examples(schema: InputSchema, payload_files: list) -> dict[str, str]:
    """Encoding -> request body, for a schema with named columns (empty otherwise)."""
    if not schema.columns:
        return {}
    rows = _payload_rows(schema, payload_files) or [synthetic_row(schema)]
    names = list(schema.names)
    records = [dict(zip(names, row, strict=True)) for row in rows]
    return {
        "text/csv": _csv([names, *rows]).rstrip("\n"),
        "application/json": json.dumps(records),
        "application/json (instances)": json.dumps({"instances": rows}),
        "application/json (split)": json.dumps({"columns": names, "data": rows}),
        "application/jsonlines": "\n".join(json.dumps(record) for record in records),
    }


def _payload_rows(schema: InputSchema, payload_files: list) -> list[list[Any]]:
    """The first rows of the sample payload in the model's column order, as JSON values."""
    from mcc_runtime import codecs, tabular
    from mcc_runtime.errors import RequestError

    for planned in payload_files:
        suffix = "." + planned.path.rsplit(".", 1)[-1]
        body = planned.content if planned.content is not None else planned.source.read_bytes()
        try:
            table = codecs.PARSERS[JSON_TYPES[suffix]](body, schema)
            rows = tabular.ordered_rows(table, schema)[:EXAMPLE_ROWS]
        except (RequestError, KeyError):
            continue
        return [[_json_value(value, column) for value, column in zip(row, schema.columns, strict=True)] for row in rows]
    return []


def _json_value(value: Any, column: Column) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if column.kind != "number":
        return text
    try:
        number = float(text)
    except ValueError:
        return None  # a missing value
    return int(number) if number.is_integer() else number


def _placeholder(column: Column) -> Any:
    if column.categories:
        return column.categories[0]
    return {"number": 0, "boolean": True}.get(column.kind, "text")


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()
