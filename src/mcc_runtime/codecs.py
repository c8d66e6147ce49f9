"""Request decoding, response encoding and Accept negotiation (no model code here).

Requests decode to a 2-D float array (rows of features). Predictions encode from an array (one entry or
row per input row) or from a dict of such arrays (``{"predictions": labels, "probabilities": p}``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

import numpy as np
import orjson

from .errors import BadRequest, NotAcceptable, UnsupportedMediaType

JSON = "application/json"
CSV = "text/csv"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"
INPUT_TYPES: tuple[str, ...] = (CSV, JSON, JSONLINES, NPY)
OUTPUT_TYPES: tuple[str, ...] = (JSON, CSV, JSONLINES, NPY)
DEFAULT_OUTPUT = JSON
JSON_KEYS = ("instances", "inputs")
ALIASES = {"application/jsonl": JSONLINES, "application/x-jsonlines": JSONLINES, "application/npy": NPY}
# One JSON Lines answer line per row: the column "predictions" is named in the singular there.
ROW_KEYS = {"predictions": "prediction"}

FeatureNames = Sequence[str] | None


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
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((-quality, position, ALIASES.get(media.lower(), media.lower())))
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


def decode(body: bytes, content_type: str, feature_names: FeatureNames = None) -> np.ndarray:
    """Decode a request body into a 2-D float array (rows of features).

    With ``feature_names``, CSV may start with a header row and JSON rows may be objects keyed by name;
    both are put in the declared order.
    """
    decoder = DECODERS.get(ALIASES.get(content_type, content_type))
    if decoder is None:
        shown = content_type or "(none)"
        raise UnsupportedMediaType(f"unsupported Content-Type {shown}; send one of: {', '.join(INPUT_TYPES)}")
    if not body:
        raise BadRequest("the request body is empty")
    return decoder(body, feature_names)


def decode_csv(body: bytes, feature_names: FeatureNames = None) -> np.ndarray:
    """CSV rows of numbers; a header row naming the columns is allowed when feature names are declared."""
    text = _utf8(body)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BadRequest("the CSV body has no rows")
    rows = list(csv.reader(lines)) if '"' in text else [line.split(",") for line in lines]
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise BadRequest(f"CSV row {number} has {len(row)} values but row 1 has {width}")
    order = None
    if _is_header(rows[0]):
        if not feature_names:
            raise BadRequest("the CSV has a header row, but this model declares no feature names; send numbers only")
        order = _column_order([cell.strip() for cell in rows[0]], feature_names)
        rows = rows[1:]
        if not rows:
            raise BadRequest("the CSV body has a header but no rows")
    try:
        array = np.array(rows, dtype=np.float64)
    except ValueError:
        raise BadRequest(_first_non_number(rows)) from None
    return array[:, order] if order is not None else array


def decode_json(body: bytes, feature_names: FeatureNames = None) -> np.ndarray:
    """``{"instances": rows}``, ``{"inputs": rows}`` or a bare list; a flat list is one row."""
    document = _json(body)
    if isinstance(document, dict):
        key = next((k for k in JSON_KEYS if k in document), None)
        if key is None:
            if feature_names and set(document) == set(feature_names):
                return _rows([document], feature_names)
            raise BadRequest('a JSON object must hold the rows under "instances" or "inputs"')
        document = document[key]
    if not isinstance(document, list) or not document:
        raise BadRequest("expected a non-empty list of rows")
    return _rows(document, feature_names)


def decode_jsonlines(body: bytes, feature_names: FeatureNames = None) -> np.ndarray:
    """One row per line: a list of numbers, or an object keyed by feature name."""
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines:
        raise BadRequest("the JSON Lines body has no rows")
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"JSON Lines line {number} is not valid JSON: {exc}") from None
    return _rows(records, feature_names)


def decode_npy(body: bytes, feature_names: FeatureNames = None) -> np.ndarray:
    """A NumPy ``.npy`` array of numbers: 1-D is one row, 2-D is rows (pickled objects are refused)."""
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadRequest(f"the body is not a readable .npy array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise BadRequest(f"the .npy array must hold numbers, not {getattr(array, 'dtype', type(array))}")
    return _two_d(array.astype(np.float64, copy=False))


def encode(prediction: object, accept: str) -> bytes:
    """Encode a prediction for the negotiated response type."""
    encoder = ENCODERS.get(accept)
    if encoder is None:
        raise NotAcceptable(f"cannot answer with {accept}; available: {', '.join(OUTPUT_TYPES)}")
    return encoder(prediction)


def encode_json(prediction: object) -> bytes:
    """``{"predictions": [...]}``; a dict prediction is written as it is."""
    if isinstance(prediction, dict):
        return orjson.dumps({k: _jsonable(v) for k, v in prediction.items()}, option=orjson.OPT_SERIALIZE_NUMPY)
    return orjson.dumps({"predictions": _jsonable(prediction)}, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_csv(prediction: object) -> bytes:
    """One line per input row; multi-output rows and several columns (label, probabilities) side by side."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in zip(*(_as_2d(column).tolist() for column in _columns(prediction, "text/csv").values()), strict=True):
        writer.writerow([cell for part in row for cell in part])
    return buffer.getvalue().encode()


def encode_jsonlines(prediction: object) -> bytes:
    """One JSON value per input row; with several columns, one object per row."""
    columns = _columns(prediction, JSONLINES)
    if list(columns) == ["predictions"]:
        lines = (orjson.dumps(value) for value in _as_list(columns["predictions"]))
    else:
        names = [ROW_KEYS.get(name, name) for name in columns]
        rows = zip(*(_as_list(column) for column in columns.values()), strict=True)
        lines = (orjson.dumps(dict(zip(names, row, strict=True))) for row in rows)
    return b"".join(line + b"\n" for line in lines)


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


def _json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


def _rows(records: list, feature_names: FeatureNames) -> np.ndarray:
    """Rows given as lists of numbers, or as objects keyed by feature name, as a 2-D float array."""
    if any(isinstance(r, dict) for r in records):
        if not feature_names:
            raise BadRequest("rows are objects, but this model declares no feature names; send lists of numbers")
        if not all(isinstance(r, dict) for r in records):
            raise BadRequest("rows must be all lists or all objects")
        for number, record in enumerate(records, start=1):
            if set(record) != set(feature_names):
                raise BadRequest(f"row {number}: {_name_mismatch(list(record), feature_names)}")
        records = [[record[name] for name in feature_names] for record in records]
    try:
        array = np.asarray(records, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise BadRequest("rows must be lists of numbers, all of the same length") from None
    return _two_d(array)


def _two_d(array: np.ndarray) -> np.ndarray:
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise BadRequest(f"expected rows of numbers (2-D); got {array.ndim}-D data")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BadRequest("expected at least one row with at least one value")
    return array


def _is_header(row: list[str]) -> bool:
    """A first row whose cells are all non-numeric names is a header."""
    for cell in row:
        try:
            float(cell)
            return False
        except ValueError:
            continue
    return True


def _column_order(header: list[str], feature_names: Sequence[str]) -> list[int]:
    if len(set(header)) != len(header) or set(header) != set(feature_names):
        raise BadRequest(f"CSV header: {_name_mismatch(header, feature_names)}")
    return [header.index(name) for name in feature_names]


def _name_mismatch(given: list[str], feature_names: Sequence[str]) -> str:
    missing = [n for n in feature_names if n not in given]
    unknown = [n for n in given if n not in feature_names]
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"unknown {', '.join(map(str, unknown))}"] if unknown else []
    return "; ".join(parts or ["names repeated"]) + f" (expected {', '.join(feature_names)})"


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def _first_non_number(rows: list[list[str]]) -> str:
    for r, row in enumerate(rows, start=1):
        for c, cell in enumerate(row, start=1):
            try:
                float(cell)
            except ValueError:
                return f"CSV row {r} column {c}: {cell.strip()[:40]!r} is not a number"
    return "the CSV body holds values that are not numbers"


DECODERS: dict[str, Callable[[bytes, FeatureNames], np.ndarray]] = {
    CSV: decode_csv,
    JSON: decode_json,
    JSONLINES: decode_jsonlines,
    NPY: decode_npy,
}
ENCODERS: dict[str, Callable[[object], bytes]] = {
    JSON: encode_json,
    CSV: encode_csv,
    JSONLINES: encode_jsonlines,
    NPY: encode_npy,
}
