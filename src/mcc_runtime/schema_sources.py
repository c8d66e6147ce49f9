"""The project's input schema from its three sources: what the model records, the declared names, the sample.

Run where the model is read, in the project's own environment (``mcc_runtime.probe``): the sample payload is
parsed with the server's own codecs, so what ``mcc new`` records is what the server will take.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import codecs, tabular
from .errors import RequestError
from .schema import (
    MISSING_WORDS,
    Column,
    InputSchema,
    SchemaError,
    csv_header,
    csv_text,
    is_timestamp,
    number_or_missing,
    reconcile,
    synthetic_row,
)

PAYLOAD_TYPES = {".csv": codecs.CSV, ".json": codecs.JSON}
BOOLEAN_WORDS = frozenset({"True", "TRUE", "true", "False", "FALSE", "false"})  # what pandas.read_csv reads as bool
EXAMPLE_ROWS = 2  # rows of the sample payload the README's example requests show


class PayloadMismatch(SchemaError):
    """The sample payload cannot be read, or does not fit the model's columns."""


def payload_type(path: Path) -> str:
    return PAYLOAD_TYPES[path.suffix.lower()]


def payload_schema(body: bytes, media: str, names: tuple[str, ...] = ()) -> InputSchema:
    """Column names (header, objects, split ``columns``, else ``names``) and kinds as the sample shows them, read
    the way pandas reads a CSV: a column whose every present value is true or false (JSON's, or True/TRUE/true,
    False/FALSE/false) is boolean, an ISO 8601 date or time a timestamp, a number a number, any other text."""
    names = names or (csv_header(body) if media == codecs.CSV else ())
    given = InputSchema(tuple(Column(n, certain=False) for n in names))
    table = codecs.PARSERS[media](body, given)
    if table.records is not None:
        header = list(table.records[0])
        rows = [[record.get(name) for name in header] for record in table.records]
    else:
        header, rows = table.names or list(names), table.rows or []
    if not header:
        return InputSchema(width=len(rows[0]) if rows else None, source="sample")
    columns = []
    for index, name in enumerate(header):
        values = [row[index] for row in rows if index < len(row)]
        kind = _sampled_kind(values)
        columns.append(Column(str(name), kind, certain=False))
    return InputSchema(tuple(columns), frame=any(c.kind != "number" for c in columns), source="sample")


def _sampled_kind(values: list[Any]) -> str:
    present = [v for v in values if not _missing(v)]
    if present and all(isinstance(v, bool) or (isinstance(v, str) and v.strip() in BOOLEAN_WORDS) for v in present):
        return "boolean"
    if present and all(is_timestamp(v) for v in present):
        return "timestamp"
    return "number" if all(number_or_missing(v) for v in values) else "text"


def _missing(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or (isinstance(value, str) and value.strip().lower() in MISSING_WORDS)


def project_schema(
    from_model: InputSchema | None, declared: tuple[str, ...], sample: InputSchema | None
) -> InputSchema:
    """What ``code/schema.json`` records. Raises SchemaError when the sources contradict each other."""
    if declared:
        kinds = {c.name: c for c in sample.columns} if sample and sample.columns else {}
        if sample and sample.columns and set(sample.names) != set(declared):
            raise SchemaError(f"the sample payload's columns ({', '.join(sample.names)}) are not the declared ones")
        columns = tuple(kinds.get(n) or Column(n, certain=False) for n in declared)
        recorded = InputSchema(columns, frame=any(c.kind != "number" for c in columns), source="declared")
    elif sample and sample.columns and from_model and from_model.columns:
        recorded = InputSchema(sample.columns, frame=sample.frame, source="sample")
    else:
        recorded = InputSchema(width=sample.features if sample else None, source="sample" if sample else "")
    same_names = from_model and from_model.columns and set(recorded.names) == set(from_model.names)
    if same_names and not declared:  # a sample may name the columns in any order: only its kinds count
        by_name = {c.name: c for c in recorded.columns}
        recorded = InputSchema(tuple(by_name[n] for n in from_model.names), frame=recorded.frame, source="sample")
    return reconcile(recorded, from_model)


def sample_fits(body: bytes, media: str, schema: InputSchema) -> None:
    """PayloadMismatch unless the server's own decoder takes the sample for ``schema``."""
    try:
        codecs.decode(body, media, schema)
    except RequestError as exc:
        raise PayloadMismatch(f"does not fit the model's columns: {exc.message}") from None


def example_rows(body: bytes, media: str, schema: InputSchema) -> list[list[Any]]:
    """The first rows of the sample in the model's column order, as JSON values (none where they cannot be read)."""
    try:
        rows = tabular.ordered_rows(codecs.PARSERS[media](body, schema), schema)[:EXAMPLE_ROWS]
    except RequestError:
        return []
    return [[_json_value(value, column) for value, column in zip(row, schema.columns, strict=True)] for row in rows]


def synthetic_payload(schema: InputSchema) -> bytes:
    """A CSV with a header and one synthetic row (the model's values are not known: check yours)."""
    return csv_text([list(schema.names), synthetic_row(schema)]).encode()


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
