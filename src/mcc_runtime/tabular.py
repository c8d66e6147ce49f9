"""Request rows conformed to the model's input schema: one float array for numeric models, else a DataFrame.

Decoders (``codecs``) turn a body into a :class:`Table`: rows of cells (CSV text or JSON values), named by a
header, by the ``columns`` of a split document, or given as objects keyed by name. :func:`conform` puts the
cells in the model's column order, converts each to its column's kind and refuses, with a 400 naming the row,
the column, the value and what was expected, anything that does not fit. Nothing is filled in silently.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from .errors import BadRequest
from .schema import MISSING_WORDS, Column, InputSchema, is_timestamp, name_mismatch

TRUE_WORDS = frozenset({"true", "1", "yes", "t", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "f", "n"})
SHOWN_CHARS = 40


@dataclass(frozen=True)
class Table:
    """Rows as a request gave them: ``rows`` (lists of cells) with optional ``names``, or ``records``, or
    ``numbers`` (a float array a parser read in one pass, in the model's column order)."""

    rows: list[list[Any]] | None = None
    names: list[str] | None = None
    records: list[dict[str, Any]] | None = None
    numbers: np.ndarray | None = None


def conform(data: Table | np.ndarray, schema: InputSchema) -> Any:
    """A float array (numeric schema) or a pandas DataFrame in the model's column order and dtypes."""
    if getattr(data, "format", None) == "csr":  # a sparse matrix: the model takes it as it is
        _check_width(data.shape[1], schema, "the sparse rows have")
        if schema.needs_pandas:
            raise BadRequest("this model takes named, typed columns; send CSV or JSON, not a sparse matrix")
        if data.shape[0] == 0:
            raise BadRequest("expected at least one row")
        return data
    if isinstance(data, np.ndarray):
        array = _two_d(data)
        _check_width(array.shape[1], schema, "the array has")
        return _frame_of_numbers(array, schema) if schema.needs_pandas else array
    if data.numbers is not None:
        _check_width(data.numbers.shape[1], schema, "rows have")
        return _check_missing_numbers(data.numbers, schema)
    rows = ordered_rows(data, schema)
    if not schema.needs_pandas:
        return _check_missing_numbers(_numbers(rows, schema), schema)
    return _frame(rows, schema)


def conform_together(parts: Sequence[Any], schema: InputSchema) -> tuple[Any, list[int]] | None:
    """Several requests' tables conformed at once, as one array or DataFrame, and each request's row count; None
    where that could differ from conforming each on its own and joining the results (a part that is not a table,
    a request that conform refuses, a boolean column whose missing values make it float in only some requests):
    the caller then conforms each request alone. Each column is converted once for the batch, and no DataFrame
    is made per request and then concatenated (most of a batch of one-row requests' decoding)."""
    if not parts or not all(isinstance(part, Table) for part in parts):
        return None
    try:
        if not schema.needs_pandas:
            arrays = [_table_numbers(part, schema) for part in parts]
            joined = _check_missing_numbers(np.concatenate(arrays), schema)
            return joined, [len(a) for a in arrays]
        if any(part.numbers is not None for part in parts):
            return None
        tables = [ordered_rows(part, schema) for part in parts]
        frame = _frame([row for rows in tables for row in rows], schema)
    except BadRequest:
        return None
    sizes = [len(rows) for rows in tables]
    return (frame, sizes) if _dtypes_alike(frame, sizes, schema) else None


def _table_numbers(table: Table, schema: InputSchema) -> np.ndarray:
    if table.numbers is not None:
        _check_width(table.numbers.shape[1], schema, "rows have")
        return table.numbers
    return _numbers(ordered_rows(table, schema), schema)


def _dtypes_alike(frame: Any, sizes: list[int], schema: InputSchema) -> bool:
    """Whether each request's rows of the joined frame have the dtypes its own frame would: a boolean column is
    float only where missing values are (joined: where any request has one), a timestamp column in UTC only
    where values carry an offset (joined: where any request's do), a text column pandas' string dtype only
    where it holds a text (joined: where any request's does)."""
    bounds = np.cumsum([0, *sizes])
    for column in schema.columns:
        values = frame[column.name]
        if column.kind == "boolean" and values.dtype.kind == "f":
            marked = np.isnan(values.to_numpy())  # each request must have a missing value of its own
        elif column.kind == "timestamp" and getattr(values.dtype, "tz", None) is not None:
            marked = values.notna().to_numpy()  # each request must have a value with an offset of its own
        elif column.kind == "text" and values.dtype != object:
            marked = values.notna().to_numpy()  # each request must have a text of its own
        else:
            continue
        if not all(marked[a:b].any() for a, b in itertools.pairwise(bounds)):
            return False
    return True


def missing_cells(data: Any, limit: int = 3) -> list[str]:
    """``row 2, column 'age'`` for the first missing values in a conformed batch (for the model's own refusal)."""
    if hasattr(data, "isna"):
        where = np.argwhere(data.isna().to_numpy())
        names = list(data.columns)
    elif isinstance(data, np.ndarray) and data.dtype.kind == "f":
        where = np.argwhere(np.isnan(data))
        names = None
    else:
        return []
    return [f"row {r + 1}, column {_label(names[c] if names else None, c)}" for r, c in where[:limit]]


def ordered_rows(table: Table, schema: InputSchema) -> list[list[Any]]:
    names = schema.names
    if table.records is not None:
        if not names:
            raise BadRequest("rows are objects keyed by name, but this model declares no column names; send lists")
        rows = []
        for number, record in enumerate(table.records, start=1):
            if len(record) != len(names) or any(name not in record for name in names):
                raise BadRequest(f"row {number}: {name_mismatch(list(record), names)} (expected {', '.join(names)})")
            rows.append([record[name] for name in names])
        return rows
    rows = table.rows or []
    if not rows:
        raise BadRequest("the request holds no rows")
    width = len(table.names) if table.names is not None else len(rows[0])
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise BadRequest(f"row {number} is {_shown(row)}; rows must be all lists or all objects")
        if len(row) != width:
            reference = "the header has" if table.names else "row 1 has"
            raise BadRequest(f"row {number} has {len(row)} values, but {reference} {width}")
    if table.names is None:
        _check_width(width, schema, "rows have")
        return rows
    if not names:
        raise BadRequest("the request names its columns, but this model declares no column names; send values only")
    if list(table.names) == list(names):
        return rows
    if len(set(table.names)) != len(table.names) or set(table.names) != set(names):
        raise BadRequest(f"columns: {name_mismatch(table.names, names)} (expected {', '.join(names)})")
    order = [table.names.index(name) for name in names]
    return [[row[i] for i in order] for row in rows]


def _check_width(width: int, schema: InputSchema, what: str) -> None:
    expected = schema.features
    if expected is not None and width != expected:
        shown = f" ({', '.join(schema.names)})" if schema.names else ""
        raise BadRequest(f"{what} {width} values, but the model takes {expected}{shown}")


def _numbers(rows: list[list[Any]], schema: InputSchema) -> np.ndarray:
    """The fast path: numpy parses numbers and numeric text at once; cell by cell only to explain a failure."""
    try:
        return _two_d(np.asarray(rows, dtype=np.float64))
    except (ValueError, TypeError, OverflowError):
        pass
    columns = schema.columns or (None,) * len(rows[0])
    return _two_d(
        np.array(
            [
                [_number(cell, r, c, col) for c, (cell, col) in enumerate(zip(row, columns, strict=True))]
                for r, row in enumerate(rows)
            ],
            dtype=np.float64,
        )
    )


def _check_missing_numbers(array: np.ndarray, schema: InputSchema) -> np.ndarray:
    refused = [i for i, column in enumerate(schema.columns) if not column.missing]
    if refused and np.isnan(array[:, refused]).any():
        r, c = np.argwhere(np.isnan(array[:, refused]))[0]
        column = schema.columns[refused[c]]
        raise BadRequest(_missing_refused(int(r), refused[c], column))
    return array


def _frame(rows: list[list[Any]], schema: InputSchema) -> Any:
    import pandas as pd

    data = {}
    for c, column in enumerate(schema.columns):
        values = [row[c] for row in rows]
        data[column.name] = CONVERTERS[column.kind](values, c, column)
    # In the schema's order already, and each column made for this frame alone: no reindexing, no copy (a third
    # of a one-row request's decoding).
    return pd.DataFrame(data, copy=False)


def _frame_of_numbers(array: np.ndarray, schema: InputSchema) -> Any:
    import pandas as pd

    kinds = {column.kind for column in schema.columns}
    if kinds - {"number"}:
        raise BadRequest(f"this model takes {', '.join(sorted(kinds))} columns; send CSV or JSON, not a numeric array")
    return pd.DataFrame(_check_missing_numbers(array, schema), columns=list(schema.names))


def _number_column(values: list[Any], c: int, column: Column) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        array = np.array([_number(v, r, c, column) for r, v in enumerate(values)], dtype=np.float64)
    if not column.missing and np.isnan(array).any():
        raise BadRequest(_missing_refused(int(np.argmax(np.isnan(array))), c, column))
    return array


def _text_column(values: list[Any], c: int, column: Column) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for r, value in enumerate(values):
        if _is_missing(value, column):
            if not column.missing:
                raise BadRequest(_missing_refused(r, c, column))
            out[r] = np.nan
        elif isinstance(value, (list, dict)):
            raise BadRequest(_bad(r, c, column, value))
        else:
            out[r] = _as_text(value)
    return out


def _category_column(values: list[Any], c: int, column: Column) -> Any:
    import pandas as pd

    known = {_as_text(v): v for v in column.categories}
    out: list[Any] = []
    for r, value in enumerate(values):
        if _is_missing(value, column):
            if not column.missing:
                raise BadRequest(_missing_refused(r, c, column))
            out.append(None)
            continue
        key = _as_text(value) if not isinstance(value, (list, dict)) else None
        if key not in known:
            raise BadRequest(_bad(r, c, column, value))
        out.append(known[key])
    return pd.Categorical(out, categories=list(column.categories))


def _boolean_column(values: list[Any], c: int, column: Column) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for r, value in enumerate(values):
        if _is_missing(value, column):
            if not column.missing:
                raise BadRequest(_missing_refused(r, c, column))
            out[r] = np.nan
            continue
        word = str(value).strip().lower() if not isinstance(value, bool) else str(value).lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise BadRequest(_bad(r, c, column, value))
        out[r] = 1.0 if word in TRUE_WORDS else 0.0
    return out if np.isnan(out).any() else out.astype(bool)


def _timestamp_column(values: list[Any], c: int, column: Column) -> Any:
    """ISO 8601 texts as pandas datetimes: naive where no value carries an offset, else all in UTC."""
    import pandas as pd

    moments: list[datetime | None] = []
    for r, value in enumerate(values):
        if _is_missing(value, column):
            if not column.missing:
                raise BadRequest(_missing_refused(r, c, column))
            moments.append(None)
            continue
        moment = _moment(value)
        if moment is None:
            raise BadRequest(_bad(r, c, column, value))
        moments.append(moment)
    offsets = {moment.tzinfo is not None for moment in moments if moment is not None}
    if len(offsets) > 1:
        raise BadRequest(f"column {_label(column.name, c)}: some timestamps carry a UTC offset and others do not; "
                         "send all with one (or Z) or all without")  # fmt: skip
    return pd.to_datetime(moments, utc=offsets == {True})


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 text as a datetime; None for anything else (2024-02-30 has the shape but is no day)."""
    if not is_timestamp(value):
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


CONVERTERS = {
    "number": _number_column,
    "text": _text_column,
    "category": _category_column,
    "boolean": _boolean_column,
    "timestamp": _timestamp_column,
}


def _number(value: Any, r: int, c: int, column: Column | None) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (int, float)):  # bool included: JSON true is 1
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING_WORDS:
            return math.nan
        try:
            return float(text)
        except ValueError:
            pass
    raise BadRequest(_bad(r, c, column, value))


def _is_missing(value: Any, column: Column) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str) and value.strip().lower() in MISSING_WORDS:
        return value not in column.categories  # a category literally named "NA" stays a value
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 2**53 else str(value)
    return str(value)


def _two_d(array: np.ndarray) -> np.ndarray:
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise BadRequest(f"expected rows of values (2-D); got {array.ndim}-D data")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BadRequest("expected at least one row with at least one value")
    return array


def _label(name: str | None, c: int) -> str:
    return repr(name) if name is not None else str(c + 1)


def _shown(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else value
    shown = repr(text)
    return shown if len(shown) <= SHOWN_CHARS else shown[: SHOWN_CHARS - 3] + "..."


def _bad(r: int, c: int, column: Column | None, value: Any) -> str:
    expected = column.expected if column is not None else "a number"
    return f"row {r + 1}, column {_label(column.name if column else None, c)}: {_shown(value)} is not {expected}"


def _missing_refused(r: int, c: int, column: Column) -> str:
    return (
        f"row {r + 1}, column {_label(column.name, c)}: the value is missing, "
        f"and this model cannot take missing values there (expected {column.expected})"
    )


def names_of(values: Sequence[Any]) -> list[str]:
    """Header cells as column names."""
    return [str(v).strip() for v in values]
