"""The model's input schema: column names and order, a kind per column, and where missing values are allowed.

Written by the generator to ``code/schema.json``, read by the runtime at start and checked against what the
model itself records. Standard library only: the generator imports it to write the file.

A column's ``kind`` is one of:

``number``    a real number (integers included); the model sees float64
``text``      free text; ``categories`` lists the values the model knows (others are the model's to handle)
``category``  one of ``categories`` exactly; any other value is refused
``boolean``   true/false (also 1/0, yes/no)
``timestamp`` an ISO 8601 date or date and time (``2024-03-01``, ``2024-03-01T09:30:00``, with an offset or
              ``Z``); the model sees pandas datetimes (naive, or in UTC where the values carry an offset)

``missing`` says whether a missing value may reach the model in that column; ``certain: false`` marks a kind the
artifact does not record (a guess: number, unless the sample payload shows text), which ``schema.json`` may
correct.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .signature import Signature, SignatureError

SCHEMA_FILE = "schema.json"
KINDS = ("number", "text", "category", "boolean", "timestamp")
# An ISO 8601 date, or date and time (seconds, fractions and a UTC offset optional), as pandas writes datetimes.
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
SOURCES = ("model", "declared", "sample", "")
MISSING_WORDS = frozenset({"", "na", "nan", "null", "none", "n/a", "<na>", "#n/a"})  # a missing value's spellings


class SchemaError(ValueError):
    """A schema file or a schema comparison that the runtime cannot accept."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "number"
    categories: tuple[Any, ...] = ()
    missing: bool = True  # missing values (empty CSV field, NA, null) are allowed here
    certain: bool = True  # False: the kind is a guess (the artifact does not record it)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SchemaError(f"column {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "category" and not self.categories:
            raise SchemaError(f"column {self.name!r}: a category column needs its categories")

    @property
    def expected(self) -> str:
        """What a value of this column must be, for error messages."""
        if self.kind == "category":
            return "one of " + ", ".join(map(str, self.categories[:20])) + (" ..." if len(self.categories) > 20 else "")
        return {"number": "a number", "text": "text", "boolean": "true or false",
                "timestamp": "an ISO 8601 date or time (2024-03-01T09:30:00)"}[self.kind]  # fmt: skip


@dataclass(frozen=True)
class InputSchema:
    columns: tuple[Column, ...] = ()
    width: int | None = None  # features per row, when known without names
    frame: bool = False  # the model takes a pandas DataFrame (fitted on one, with non-numeric or selected columns)
    source: str = ""  # where the names came from: the model itself, --feature-names, or the sample payload
    notes: tuple[str, ...] = field(default=(), compare=False)
    signature: Signature | None = None  # a tensor model's named inputs and outputs (mcc_runtime.signature)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise SchemaError(f"source {self.source!r} is not one of {', '.join(s for s in SOURCES if s)}")
        names = self.names
        if len(set(names)) != len(names):
            raise SchemaError(f"column names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
        if self.columns and self.width is not None and self.width != len(self.columns):
            raise SchemaError(f"width {self.width} differs from the {len(self.columns)} named columns")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def features(self) -> int | None:
        """Values per row, where known."""
        return len(self.columns) if self.columns else self.width

    @property
    def numeric(self) -> bool:
        """Every column is a number (or nothing is known): rows can travel as one float array."""
        return all(column.kind == "number" for column in self.columns)

    @property
    def needs_pandas(self) -> bool:
        return self.frame or not self.numeric

    @property
    def tensors(self) -> bool:
        """The model takes several named tensors, or text: requests decode to one array per input
        (mcc_runtime.tensors) instead of rows of numbers or columns."""
        return self.signature is not None and self.signature.named

    def to_dict(self) -> dict[str, Any]:
        return {
            **({"signature": self.signature.to_dict()} if self.signature else {}),
            "source": self.source,
            "frame": self.frame,
            "width": self.features,
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    **({"categories": list(c.categories)} if c.categories else {}),
                    "missing": c.missing,
                    **({} if c.certain else {"certain": False}),
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSchema:
        known = {"source", "frame", "width", "columns", "signature"}
        if not isinstance(data, dict) or set(data) - known:
            raise SchemaError(f"expected an object with keys {', '.join(sorted(known))}")
        columns = []
        for entry in data.get("columns") or ():
            if not isinstance(entry, dict) or "name" not in entry or set(entry) - {*COLUMN_KEYS}:
                raise SchemaError(f"column {entry!r} must be an object with a name (keys: {', '.join(COLUMN_KEYS)})")
            columns.append(
                Column(
                    name=str(entry["name"]),
                    kind=entry.get("kind", "number"),
                    categories=tuple(entry.get("categories") or ()),
                    missing=bool(entry.get("missing", True)),
                    certain=bool(entry.get("certain", True)),
                )
            )
        width = data.get("width")
        if width is not None and (not isinstance(width, int) or width < 1):
            raise SchemaError(f"width {width!r} must be a positive integer")
        if columns and width is not None and width != len(columns):
            raise SchemaError(f"width {width} differs from the {len(columns)} named columns")
        try:
            signature = Signature.from_dict(data["signature"]) if data.get("signature") is not None else None
        except SignatureError as exc:
            raise SchemaError(str(exc)) from None
        frame, source = bool(data.get("frame", False)), data.get("source", "")
        return cls(tuple(columns), None if columns else width, frame, source, signature=signature)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> InputSchema:
        """``code/schema.json``; a project without one has an empty schema (nothing known)."""
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            return cls()
        except (json.JSONDecodeError, SchemaError) as exc:
            raise SchemaError(f"{path}: {exc}") from None


COLUMN_KEYS = ("name", "kind", "categories", "missing", "certain")


def name_mismatch(given: list[str] | tuple[str, ...], expected: tuple[str, ...]) -> str:
    """What differs between two lists of column names: missing, unknown, or only the order."""
    missing = [n for n in expected if n not in given]
    unknown = [n for n in given if n not in expected]
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"unknown {', '.join(map(str, unknown))}"] if unknown else []
    if not parts:
        parts = ["names repeated" if len(set(given)) != len(given) else "same names in another order"]
    return "; ".join(parts)


def reconcile(recorded: InputSchema, from_model: InputSchema | None) -> InputSchema:
    """The schema to serve with: what the model records wins; ``schema.json`` fills in what it does not.

    Names recorded in the project that differ from the model's own (in set or order) are refused: serving
    them would put values in the wrong columns.
    """
    if from_model is None or (not from_model.columns and from_model.width is None and not from_model.signature):
        return recorded
    if from_model.columns:
        if recorded.columns and recorded.names != from_model.names:
            raise SchemaError(
                f"the project's columns ({', '.join(recorded.names)}) are not the model's own "
                f"({', '.join(from_model.names)}): {name_mismatch(recorded.names, from_model.names)}"
            )
        guessed = {c.name: c for c in recorded.columns}
        columns = tuple(_fill_in(column, guessed.get(column.name)) for column in from_model.columns)
        frame = from_model.frame or not all(c.kind == "number" for c in columns)
        return InputSchema(columns, None, frame, "model", from_model.notes)
    width = from_model.width
    if width is not None and recorded.features is not None and recorded.features != width:
        raise SchemaError(width_mismatch(recorded, width))
    signature = _signature(recorded.signature, from_model.signature)
    if InputSchema(signature=signature).tensors:  # named tensors: the signature is the whole schema
        return InputSchema(signature=signature, source="model" if signature is from_model.signature else "declared")
    return InputSchema(recorded.columns, None if recorded.columns else width, recorded.frame, recorded.source,
                       signature=signature)  # fmt: skip


def _signature(recorded: Signature | None, from_model: Signature | None) -> Signature | None:
    """The model's own signature; where it records only the names (TorchScript), the one declared for it."""
    if from_model is None or from_model.certain or recorded is None:
        return from_model or recorded
    if from_model.inputs and recorded.input_names != from_model.input_names:
        raise SchemaError(f"the declared inputs ({', '.join(recorded.input_names)}) are not the model's own "
                          f"({', '.join(from_model.input_names)}, in this order)")  # fmt: skip
    return recorded


def width_mismatch(recorded: InputSchema, width: int) -> str:
    shown = f"{recorded.features} columns ({', '.join(recorded.names)})" if recorded.columns else recorded.features
    return f"the project declares {shown}, but the model takes {width} features per row"


def _fill_in(column: Column, recorded: Column | None) -> Column:
    """A model column whose kind is a guess takes the project's kind (from the sample payload or an edit); a
    number column the sample shows as true/false was a bool column in training (numbers to the model): boolean."""
    if recorded is not None and (column.kind, recorded.kind) == ("number", "boolean"):
        return Column(column.name, "boolean", (), column.missing and recorded.missing, column.certain)
    if column.certain or recorded is None:
        return column
    return Column(column.name, recorded.kind, recorded.categories, column.missing and recorded.missing, False)


def number_or_missing(value: object) -> bool:
    """A value a number column holds: a number, or a missing value in any spelling."""
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


def is_timestamp(value: object) -> bool:
    """A text an ISO 8601 date or time (``timestamp`` columns take these)."""
    return isinstance(value, str) and ISO_TIMESTAMP.fullmatch(value.strip()) is not None


def csv_header(body: bytes) -> tuple[str, ...]:
    """The first row of a CSV body when it is a header (not all numbers), else nothing."""
    first = next(csv.reader(io.StringIO(body.decode("utf-8-sig", errors="replace"))), [])
    return tuple(first) if first and not all(number_or_missing(v) for v in first) else ()


def synthetic_row(schema: InputSchema) -> list[Any]:
    """One valid-looking row: 0 for numbers, the first known value for categories and text, true for booleans."""
    return [_placeholder(column) for column in schema.columns]


def _placeholder(column: Column) -> Any:
    if column.categories:
        return column.categories[0]
    return {"number": 0, "boolean": True, "timestamp": "2024-01-01T00:00:00"}.get(column.kind, "text")


def csv_text(rows: list[list[Any]]) -> str:
    """Rows as CSV text (None as an empty field)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()
