"""Request decoding, response encoding and Accept negotiation (no model code here).

Requests parse to rows (:class:`mcc_runtime.tabular.Table`) that the model's input schema turns into a 2-D
float array or a DataFrame. Predictions encode from an array (one entry or row per input row) or from a dict
of such arrays (``{"predictions": labels, "probabilities": p}``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson

from . import open_inference, recordio, tabular
from .errors import BadRequest, NotAcceptable, UnsupportedMediaType
from .schema import InputSchema
from .tabular import Table

JSON = "application/json"
CSV = "text/csv"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"
LIBSVM = "text/libsvm"  # XGBoost's sparse rows (the SageMaker SDK's XGBoostPredictor sends them)
NPZ = "application/x-npz"  # a SciPy sparse matrix (scipy.sparse.save_npz), for models that take sparse input
RECORDIO = "application/x-recordio-protobuf"  # SageMaker's built-in algorithms' RecordIO-wrapped protobuf Records
CSV_HEADER = "text/csv;header=present"  # RFC 4180's parameter: the answer's first line names its columns
INPUT_TYPES: tuple[str, ...] = (CSV, JSON, JSONLINES, NPY)
OUTPUT_TYPES: tuple[str, ...] = (JSON, CSV, JSONLINES, NPY, CSV_HEADER)
DEFAULT_OUTPUT = JSON
CONTENT_TYPES = {open_inference.ANSWER: JSON}  # response types written with another media type's header
JSON_KEYS = ("instances", "inputs")
NUMERIC_CSV_MIN_ROWS = 4  # below it, splitting in Python costs less than starting numpy's reader
ALIASES = {
    "application/jsonl": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/npy": NPY,
    "application/x-libsvm": LIBSVM,
}
BOM = "\ufeff"  # Excel's "CSV UTF-8" starts with it
# One JSON Lines answer line per row: the column "predictions" is named in the singular there.
ROW_KEYS = {"predictions": "prediction"}
CELL_NAMES = {"probabilities": "probability"}  # and a CSV header's
ASK_FOR_JSON = f"ask for {JSON} or {JSONLINES}"


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``; missing -> ``""``; aliases -> their canonical name."""
    if not header:
        return ""
    media = header.split(";", 1)[0].strip().lower()
    return ALIASES.get(media, media)


def negotiate(accept: str | None, offered: Sequence[str] = OUTPUT_TYPES, default: str = DEFAULT_OUTPUT) -> str:
    """Pick the response type from an Accept header (q-values honoured); raise 406 when none fits."""
    if not accept or not accept.strip():
        return default
    ranges: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        media, quality = ALIASES.get(media.lower(), media.lower()), 1.0
        for param in params:
            name, _, value = (p.strip().lower() for p in param.partition("="))
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            elif media == CSV and (name, value) == ("header", "present"):
                media = CSV_HEADER
        if media and quality > 0:
            ranges.append((-quality, position, media))
    for _, _, media in sorted(ranges):
        if media in ("*/*", "*"):
            return default
        if media.endswith("/*"):
            family = media[:-1]
            matches = [t for t in offered if t.startswith(family)]
            if matches:
                return default if default in matches else matches[0]
        elif media in offered:
            return media
    raise NotAcceptable(f"cannot answer with Accept {accept!r}; available: {', '.join(offered)}")


def decode(
    body: bytes | str, content_type: str, schema: InputSchema | None = None, accepted: Sequence[str] = INPUT_TYPES
) -> Any:
    """Decode a request body (bytes; or str for CSV and JSON, as input_fn receives them) into what the model
    takes: a 2-D float array, or a DataFrame for models fitted on one with text or categorical columns (see
    :mod:`mcc_runtime.tabular`)."""
    schema = schema or InputSchema()
    return tabular.conform(parse(body, content_type, schema, accepted), schema)


def parse(
    body: bytes | str, content_type: str, schema: InputSchema | None = None, accepted: Sequence[str] = INPUT_TYPES
) -> Any:
    """A request body read as its media type gives it (a :class:`tabular.Table`, or an array or sparse matrix),
    not yet conformed to the model's columns: what :func:`tabular.conform` (one request) or
    :func:`tabular.conform_together` (a batch's requests at once) take."""
    schema = schema or InputSchema()
    media = ALIASES.get(content_type, content_type)
    parser = PARSERS.get(media) if media in accepted else None
    if parser is None:
        shown = content_type or "(none)"
        raise UnsupportedMediaType(f"unsupported Content-Type {shown}; send one of: {', '.join(accepted)}")
    if not body or not body.strip():
        raise BadRequest("the request body is empty")
    return parser(body, schema)


def parse_csv(body: bytes | str, schema: InputSchema) -> Table:
    """CSV rows; a first row of column names (any order) is a header when the model declares names."""
    text = _text(body)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BadRequest("the CSV body has no rows")
    quoted = '"' in text
    if not quoted and (numbers := _numeric_csv(text, lines, schema)) is not None:
        return Table(numbers=numbers)
    rows = list(csv.reader(lines)) if quoted else [line.split(",") for line in lines]
    if not _is_header(rows[0], schema):
        return Table(rows)
    if not schema.names:
        raise BadRequest("the CSV has a header row, but this model declares no column names; send values only")
    if len(rows) == 1:
        raise BadRequest("the CSV body has a header but no rows")
    return Table(rows[1:], tabular.names_of(rows[0]))


def _numeric_csv(text: str, lines: list[str], schema: InputSchema) -> np.ndarray | None:
    """Several rows of numbers for a model of numeric columns, parsed by numpy's C reader in one pass (twice as
    fast as a float per cell from Python); None where a cell is not a number, a row is short, or the first row
    is a header: the cell-by-cell path then reads or explains it."""
    if len(lines) < NUMERIC_CSV_MIN_ROWS or schema.needs_pandas or _is_header(lines[0].split(","), schema):
        return None
    try:
        return np.loadtxt(io.StringIO(text), dtype=np.float64, delimiter=",", comments=None, ndmin=2)
    except ValueError:
        return None


def parse_json(body: bytes | str, schema: InputSchema) -> Table:
    """``{"instances": rows}``, ``{"inputs": rows}``, a bare list (a flat list is one row), one object keyed by
    column name, or the pandas/MLflow split shape ``{"columns": [...], "data": [...]}``; rows are lists or
    objects keyed by column name."""
    document = json_document(body)
    if (tensors := open_inference.request_tensors(document)) is not None:
        return _open_inference_table(tensors, schema)
    if isinstance(document, dict):
        document = document.get("dataframe_split", document)
        if "dataframe_records" in document:
            document = document["dataframe_records"]
        elif "columns" in document and "data" in document:
            return _split(document)
        elif key := next((k for k in JSON_KEYS if k in document), None):
            document = document[key]
        elif schema.names and set(document) <= set(schema.names):
            return Table(records=[document])
        else:
            raise BadRequest(
                'a JSON object must hold the rows under "instances" or "inputs", be one row keyed by column name, '
                'or be {"columns": [...], "data": [...]}'
            )
    if not isinstance(document, list) or not document:
        raise BadRequest("expected a non-empty list of rows")
    return _records_or_rows(document)


def parse_jsonlines(body: bytes, schema: InputSchema) -> Table:
    """One row per line: a list of values, or an object keyed by column name."""
    return _records_or_rows(jsonlines_values(body))


def jsonlines_values(body: bytes | str) -> list:
    """The JSON value of each non-empty line (a 400 naming the first line that is not JSON)."""
    lines = [line for line in _text(body).splitlines() if line.strip()]
    if not lines:
        raise BadRequest("the JSON Lines body has no rows")
    values = []
    for number, line in enumerate(lines, start=1):
        try:
            values.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"JSON Lines line {number} is not valid JSON: {exc}") from None
    return values


def parse_npy(body: bytes, schema: InputSchema) -> np.ndarray:
    """A NumPy ``.npy`` array of numbers: 1-D is one row, 2-D is rows (pickled objects are refused)."""
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadRequest(f"the body is not a readable .npy array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise BadRequest(f"the .npy array must hold numbers, not {getattr(array, 'dtype', type(array))}")
    return array.astype(np.float64, copy=False)


def parse_recordio(body: bytes, schema: InputSchema) -> np.ndarray:
    """Records of SageMaker's RecordIO-protobuf, their ``values`` feature as rows (see :mod:`mcc_runtime.recordio`)."""
    return recordio.parse(body, schema.features)


def parse_npz(body: bytes, schema: InputSchema) -> Any:
    """A SciPy sparse matrix saved with ``scipy.sparse.save_npz`` (no pickled objects), handed to the model as
    sparse input: what a left-out entry means is the model's own rule (zero for scikit-learn and LightGBM,
    missing for XGBoost)."""
    import scipy.sparse

    try:
        matrix = scipy.sparse.load_npz(io.BytesIO(body))
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise BadRequest(f"the body is not a readable .npz sparse matrix: {exc}") from None
    if matrix.dtype.kind not in "biuf":
        raise BadRequest(f"the sparse matrix must hold numbers, not {matrix.dtype}")
    return scipy.sparse.csr_matrix(matrix, dtype=np.float64)


def parse_libsvm(body: bytes, schema: InputSchema) -> np.ndarray:
    """LIBSVM rows (``[label] index:value ...``, indices from 0 as XGBoost reads them; the label is ignored).
    A feature a row leaves out is missing (NaN), as it is for XGBoost's own sparse input."""
    lines = [line for line in _text(body).splitlines() if line.strip()]
    if not lines:
        raise BadRequest("the LIBSVM body has no rows")
    entries: list[list[tuple[int, float]]] = []
    for number, line in enumerate(lines, start=1):
        tokens = line.split("#", 1)[0].split()
        if tokens and ":" not in tokens[0]:
            tokens = tokens[1:]  # the label
        row = []
        for token in tokens:
            index, _, value = token.partition(":")
            try:
                row.append((int(index), float(value)))
            except ValueError:
                raise BadRequest(f"LIBSVM row {number}: {token[:40]!r} is not index:value") from None
            if row[-1][0] < 0:
                raise BadRequest(f"LIBSVM row {number}: index {index} is negative")
        entries.append(row)
    width = schema.features or 1 + max((i for row in entries for i, _ in row), default=0)
    array = np.full((len(entries), width), np.nan)
    for r, row in enumerate(entries):
        for index, value in row:
            if index >= width:
                raise BadRequest(f"LIBSVM row {r + 1}: feature index {index}, but the model takes {width} features")
            array[r, index] = value
    return array


def encode(prediction: object, accept: str, bare_json: bool = False) -> bytes:
    """Encode a prediction for the negotiated response type; ``bare_json``: JSON answers are the bare array
    (as AWS's framework containers answer) instead of ``{"predictions": [...]}``."""
    if bare_json and accept == JSON:
        return encode_bare_json(prediction)
    encoder = ENCODERS.get(accept)
    if encoder is None:
        raise NotAcceptable(f"cannot answer with {accept}; available: {', '.join(OUTPUT_TYPES)}")
    return encoder(prediction)


def encode_json(prediction: object) -> bytes:
    """``{"predictions": [...]}``; a dict prediction is written as it is."""
    if isinstance(prediction, dict):
        return _dumps({k: _jsonable(v) for k, v in prediction.items()})
    return _dumps({"predictions": _jsonable(prediction)})


def encode_bare_json(prediction: object) -> bytes:
    """The predictions as a bare JSON array; with several columns (label and probabilities), one object per row."""
    columns = _columns(prediction, JSON)
    return _dumps(_per_row(columns, single=len(columns) == 1))


def encode_csv(prediction: object, header: bool = False) -> bytes:
    """One line per input row; multi-output rows and several columns (label, probabilities) side by side; rows
    that are objects (a ``predict_fn`` answering one dict per row) as their values, in the first row's key order.
    Only scalars fit a cell: anything else is a 406 that names the JSON types. ``header``: a first line naming
    the columns (a row object's keys; else ``prediction``, ``probability``, or ``probability_0``, ``_1``, …
    where a column holds several values a row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names, rows = _csv_rows(_columns(prediction, CSV))
    if header:
        writer.writerow(names)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def encode_csv_with_header(prediction: object) -> bytes:
    return encode_csv(prediction, header=True)


def encode_jsonlines(prediction: object) -> bytes:
    """One JSON value per input row; with several columns, one object per row."""
    columns = _columns(prediction, JSONLINES)
    return b"".join(_dumps(row) + b"\n" for row in _per_row(columns, single=list(columns) == ["predictions"]))


def encode_open_inference(prediction: object) -> bytes:
    """The Open Inference Protocol's answer: one output tensor per column (``predictions``, ``probabilities``)."""
    return _dumps(open_inference.answer(_columns(prediction, JSON)))


def encode_npy(prediction: object) -> bytes:
    """The prediction array as ``.npy`` (one column only: labels or probabilities, not both)."""
    columns = _columns(prediction, NPY)
    if len(columns) != 1:
        raise NotAcceptable(f"{NPY} holds one array; this answer has {', '.join(columns)}; ask for JSON")
    array = np.asarray(next(iter(columns.values())))
    if array.dtype.kind not in "biufb":
        raise NotAcceptable(f"{NPY} answers hold numbers; these predictions are {array.dtype}; ask for JSON")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _columns(prediction: object, media: str) -> dict[str, object]:
    """A prediction as named columns of equal length."""
    if not isinstance(prediction, dict):
        return {"predictions": prediction}
    lengths = {len(v) if hasattr(v, "__len__") and not isinstance(v, str) else -1 for v in prediction.values()}
    if not prediction or len(lengths) != 1 or -1 in lengths:
        raise NotAcceptable(f"this prediction is a JSON object and cannot be written as {media}; ask for JSON")
    return prediction


def _per_row(columns: dict[str, object], single: bool) -> list:
    """One value per row (``single``: the only column's values), else one object per row, keyed by column."""
    if single:
        return _as_list(next(iter(columns.values())))
    names = [ROW_KEYS.get(name, name) for name in columns]
    rows = zip(*(_as_list(column) for column in columns.values()), strict=True)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _csv_rows(columns: dict[str, object]) -> tuple[list[str], list[list]]:
    """The columns' names, one per cell of a row, and the rows."""
    only = next(iter(columns.values())) if len(columns) == 1 else None
    records = _as_list(only) if isinstance(only, (list, tuple, np.ndarray)) else []
    if records and all(isinstance(record, dict) for record in records):
        names = list(records[0])
        for number, record in enumerate(records, 1):
            if set(record) != set(names):
                fields, first = ", ".join(map(str, record)), ", ".join(map(str, names))
                raise NotAcceptable(f"{CSV} answers need the same fields on every row; row {number} has {fields}, "
                                    f"row 1 {first}; {ASK_FOR_JSON}")  # fmt: skip
        rows = [[record[name] for name in names] for record in records]
        names = [str(name) for name in names]
    else:
        arrays = {name: _as_2d(column) for name, column in columns.items()}
        names = [cell for name, array in arrays.items() for cell in _cell_names(ROW_KEYS.get(name, name), array)]
        parts = zip(*(array.tolist() for array in arrays.values()), strict=True)
        rows = [[cell for part in row for cell in part] for row in parts]
    return names, [[_csv_cell(cell) for cell in row] for row in rows]


def _cell_names(name: str, array: np.ndarray) -> list[str]:
    """A column's name for each of its cells in a row (``array``: 2-D)."""
    name = CELL_NAMES.get(name, name)
    return [name] if array.shape[1] == 1 else [f"{name}_{i}" for i in range(array.shape[1])]


def _csv_cell(value: object) -> object:
    """A scalar as the csv module writes it (numpy's as Python's: no ``np.float64(…)`` repr); else a 406."""
    if isinstance(value, np.generic) and np.ndim(value) == 0:
        value = value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise NotAcceptable(f"{CSV} answers hold one number or text per cell; this answer has {type(value).__name__} "
                        f"values; {ASK_FOR_JSON}")  # fmt: skip


def _dumps(value: object) -> bytes:
    """JSON of arrays, numpy scalars and plain values (numpy scalars inside dicts and lists too)."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"the prediction holds a {type(value).__name__}, which has no JSON form")


def _as_2d(values: object) -> np.ndarray:
    array = np.asarray(values)
    return array.reshape(-1, 1) if array.ndim < 2 else array.reshape(len(array), -1)


def _as_list(values: object) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _jsonable(prediction: object) -> object:
    if isinstance(prediction, np.ndarray):
        if prediction.dtype.kind in "biuf":
            return np.ascontiguousarray(prediction)
        return prediction.tolist()
    if isinstance(prediction, np.generic):
        return prediction.item()
    return prediction


def json_document(body: bytes | str) -> object:
    """The body's JSON value (Excel's BOM ignored; a 400 when it is not JSON)."""
    try:
        return orjson.loads(body.removeprefix(BOM if isinstance(body, str) else BOM.encode()))
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


def utf8_text(body: bytes) -> str:
    """The body as text; a 400 naming the first byte that is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def _text(body: bytes | str) -> str:
    """The body as text without Excel's BOM (a str is decoded already, as input_fn gets CSV and JSON bodies)."""
    return (body if isinstance(body, str) else utf8_text(body)).removeprefix(BOM)


def _split(document: dict) -> Table:
    columns, data = document["columns"], document["data"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequest('"columns" must be a list of column names')
    if not isinstance(data, list) or not data:
        raise BadRequest('"data" must be a non-empty list of rows')
    return Table(data, tabular.names_of(columns))


def _open_inference_table(tensors: list[dict], schema: InputSchema) -> Table:
    """One tensor of rows (``[rows, values]``; ``[values]`` is one row), or one tensor per column named as the
    model's columns (``[rows]`` or ``[rows, 1]``, as MLServer's pandas codec sends a DataFrame)."""
    arrays = {str(t["name"]): open_inference.input_array(t) for t in tensors}
    if len(arrays) == 1 and not set(arrays) & set(schema.names):
        (array,) = arrays.values()
        if array.ndim not in (1, 2):
            raise BadRequest(f"input {next(iter(arrays))!r}: shape {list(array.shape)}: send [rows, values]")
        return Table(array.reshape(1 if array.ndim == 1 else len(array), -1).tolist())
    columns = {}
    for name, array in arrays.items():
        if array.ndim == 0 or array.ndim > 2 or (array.ndim == 2 and array.shape[1] != 1):
            raise BadRequest(f"input {name!r}: shape {list(array.shape)}: a column is [rows] or [rows, 1]")
        columns[name] = array.reshape(-1).tolist()
    sizes = {len(values) for values in columns.values()}
    if len(sizes) > 1:
        shown = ", ".join(f"{name} {len(values)}" for name, values in columns.items())
        raise BadRequest(f"the columns have different numbers of rows ({shown})")
    return Table([list(row) for row in zip(*columns.values(), strict=True)], list(columns))


def _records_or_rows(items: list) -> Table:
    if all(isinstance(item, dict) for item in items):
        return Table(records=items)
    if any(isinstance(item, dict) for item in items):
        raise BadRequest("rows must be all lists or all objects")
    return Table(items if isinstance(items[0], list) else [items])


def _is_header(row: list[str], schema: InputSchema) -> bool:
    """A first row of names: no cell is a number or empty, and (for models with text columns) one cell is a
    column name."""
    for cell in row:
        if not cell.strip():
            return False
        try:
            float(cell)
            return False
        except ValueError:
            continue
    return schema.numeric or any(cell.strip() in schema.names for cell in row)


PARSERS: dict[str, Callable[[bytes, InputSchema], Any]] = {
    CSV: parse_csv,
    JSON: parse_json,
    JSONLINES: parse_jsonlines,
    NPY: parse_npy,
    LIBSVM: parse_libsvm,
    NPZ: parse_npz,
    RECORDIO: parse_recordio,
}
ENCODERS: dict[str, Callable[[object], bytes]] = {
    JSON: encode_json,
    CSV: encode_csv,
    JSONLINES: encode_jsonlines,
    NPY: encode_npy,
    CSV_HEADER: encode_csv_with_header,
    open_inference.ANSWER: encode_open_inference,
}
