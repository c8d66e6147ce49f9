"""The model's input schema at generation: what the artifact records, else the declared names and the sample.

The artifact is read with the runtime's own handler (the same code the server runs at start), for frameworks
the catalog marks ``schema_at_generation`` and only where the framework can be imported here. Where it
cannot, the server still reads the model's columns when it starts and refuses a project that contradicts them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mcc_runtime.schema import Column, InputSchema, SchemaError, reconcile

from .catalog import Framework, ModelFormat
from .file_cache import per_file_version
from .pinning import recorded, release_not_installed

PAYLOAD_TYPES = {".csv": "text/csv", ".json": "application/json"}


class PayloadMismatch(SchemaError):
    """The sample payload cannot be read, or does not fit the model's columns."""


@dataclass(frozen=True)
class ModelReading:
    """The schema the model records (None: not read here), and why it was not read."""

    schema: InputSchema | None
    note: str = ""


def read_model(framework: Framework, model_format: ModelFormat, path: Path) -> ModelReading:
    """Load the model with the runtime's handler and read its columns (cached per file)."""
    if not framework.schema_at_generation:
        return ModelReading(None, f"{framework.display_name} models are read when the server starts")
    other = release_not_installed(framework, recorded(framework, model_format.name, path))
    if other:  # loading it with another release could misread it: the server's own pinned release reads it
        return ModelReading(None, f"{other}; the server reads the model's columns when it starts")
    return _read(path, framework.handler, model_format.name)


@per_file_version
def _read(path: Path, handler_name: str, model_format: str) -> ModelReading:
    later = "the server reads the model's columns when it starts"
    try:
        from mcc_runtime.handlers import load_handler, model_schema

        handler = load_handler(handler_name)
    except ImportError as exc:
        return ModelReading(None, f"{exc.name} cannot be imported here; {later}")
    try:
        model = handler.load(path, model_format)
        return ModelReading(model_schema(handler, model))
    except Exception as exc:  # the user's artifact: any failure to load it here is reported, not raised
        problem = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return ModelReading(None, f"could not load it here ({problem}); {later}")


def payload_schema(path: Path, names: tuple[str, ...] = ()) -> InputSchema:
    """Column names (header, objects, split ``columns``, else ``names``) and kinds as the sample shows them:
    a column whose every present value is a number is a number, any other is text."""
    from mcc_runtime import codecs

    names = names or _csv_header(path)
    given = InputSchema(tuple(Column(n, certain=False) for n in names))
    parser = codecs.PARSERS[PAYLOAD_TYPES[path.suffix.lower()]]
    table = parser(path.read_bytes(), given)
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
        kind = "number" if all(_number_or_missing(v) for v in values) else "text"
        columns.append(Column(str(name), kind, certain=False))
    return InputSchema(tuple(columns), frame=any(c.kind != "number" for c in columns), source="sample")


def _csv_header(path: Path) -> tuple[str, ...]:
    """The first row of a CSV sample when it is a header (not all numbers): the names where nothing else knows
    them (the model could not be read here); the server checks them against the model's own when it starts."""
    if path.suffix.lower() != ".csv":
        return ()
    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        first = next(csv.reader(stream), [])
    return tuple(first) if first and not all(_number_or_missing(v) for v in first) else ()


def _number_or_missing(value: object) -> bool:
    """A sample value a number column holds: a number, or a missing value in any spelling."""
    from mcc_runtime.tabular import MISSING_WORDS

    if value is None or isinstance(value, (int, float)):
        return True
    text = str(value).strip()
    if text.lower() in MISSING_WORDS:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def project_schema(
    from_model: InputSchema | None, declared: tuple[str, ...], sample: InputSchema | None, unread: bool = False
) -> InputSchema:
    """What ``code/schema.json`` records. Raises SchemaError when the sources contradict each other. ``unread``: the
    model records its columns but could not be read here, so a sample's header names them (the server checks
    them against the model's own when it starts)."""
    if declared:
        kinds = {c.name: c for c in sample.columns} if sample and sample.columns else {}
        if sample and sample.columns and set(sample.names) != set(declared):
            raise SchemaError(f"the sample payload's columns ({', '.join(sample.names)}) are not the declared ones")
        columns = tuple(kinds.get(n) or Column(n, certain=False) for n in declared)
        recorded = InputSchema(columns, frame=any(c.kind != "number" for c in columns), source="declared")
    elif sample and sample.columns and ((from_model and from_model.columns) or unread):
        recorded = InputSchema(sample.columns, frame=sample.frame, source="sample")
    else:
        recorded = InputSchema(width=sample.features if sample else None, source="sample" if sample else "")
    same_names = from_model and from_model.columns and set(recorded.names) == set(from_model.names)
    if same_names and not declared:  # a sample may name the columns in any order: only its kinds count
        by_name = {c.name: c for c in recorded.columns}
        recorded = InputSchema(tuple(by_name[n] for n in from_model.names), frame=recorded.frame, source="sample")
    return reconcile(recorded, from_model)


def schema_or_declared(
    framework: Framework,
    model_format: ModelFormat,
    model_file: Path | None,
    declared: tuple[str, ...],
    sample_payload: Path | None,
) -> InputSchema:
    """:func:`schema_for`, or where the runtime's codecs (numpy, orjson) cannot be imported here, the declared
    names alone (the server still reads the model's own columns when it starts)."""
    try:
        return schema_for(framework, model_format, model_file, declared, sample_payload)
    except ImportError:
        columns = tuple(Column(name, certain=False) for name in declared)
        return InputSchema(columns, source="declared" if columns else "")


def schema_for(
    framework: Framework,
    model_format: ModelFormat,
    model_file: Path | None,
    declared: tuple[str, ...],
    sample_payload: Path | None,
) -> InputSchema:
    """The project's schema from every source; SchemaError when they contradict each other, PayloadMismatch
    when the sample payload cannot be read or does not fit it."""
    from mcc_runtime import codecs
    from mcc_runtime.errors import RequestError

    reading = read_model(framework, model_format, model_file) if model_file else ModelReading(None)
    try:
        known = declared or (reading.schema.names if reading.schema else ())
        sample = payload_schema(sample_payload, known) if sample_payload else None
    except RequestError as exc:
        raise PayloadMismatch(f"cannot be read: {exc.message}") from None
    schema = project_schema(
        reading.schema, declared, sample, unread=framework.schema_at_generation and not reading.schema
    )
    if sample_payload:
        try:
            codecs.decode(sample_payload.read_bytes(), PAYLOAD_TYPES[sample_payload.suffix.lower()], schema)
        except RequestError as exc:
            raise PayloadMismatch(f"does not fit the model's columns: {exc.message}") from None
    return InputSchema(
        schema.columns, schema.width, schema.frame, schema.source, (reading.note,) if reading.note else ()
    )
