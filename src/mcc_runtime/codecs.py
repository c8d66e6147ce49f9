"""Request decoding, response encoding and Accept negotiation (no model code here)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

import numpy as np
import orjson

from .errors import BadRequest, NotAcceptable, UnsupportedMediaType

JSON = "application/json"
CSV = "text/csv"
INPUT_TYPES: tuple[str, ...] = (CSV, JSON)
OUTPUT_TYPES: tuple[str, ...] = (JSON, CSV)
DEFAULT_OUTPUT = JSON
JSON_KEYS = ("instances", "inputs")


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``; missing -> ``""``."""
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


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
            ranges.append((-quality, position, media.lower()))
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


def decode(body: bytes, content_type: str) -> np.ndarray:
    """Decode a request body into a 2-D float array (rows of features)."""
    decoder = DECODERS.get(content_type)
    if decoder is None:
        shown = content_type or "(none)"
        raise UnsupportedMediaType(f"unsupported Content-Type {shown}; send one of: {', '.join(INPUT_TYPES)}")
    if not body:
        raise BadRequest("the request body is empty")
    return decoder(body)


def decode_csv(body: bytes) -> np.ndarray:
    """CSV without a header: one row per line, numbers only."""
    text = _utf8(body)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BadRequest("the CSV body has no rows")
    rows = list(csv.reader(lines)) if '"' in text else [line.split(",") for line in lines]
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise BadRequest(f"CSV row {number} has {len(row)} values but row 1 has {width}")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        raise BadRequest(_first_non_number(rows)) from None


def decode_json(body: bytes) -> np.ndarray:
    """``{"instances": rows}``, ``{"inputs": rows}`` or a bare list; a flat list is one row."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if isinstance(document, dict):
        key = next((k for k in JSON_KEYS if k in document), None)
        if key is None:
            raise BadRequest('a JSON object must hold the rows under "instances" or "inputs"')
        document = document[key]
    if not isinstance(document, list) or not document:
        raise BadRequest("expected a non-empty list of rows")
    try:
        array = np.asarray(document, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise BadRequest("rows must be lists of numbers, all of the same length") from None
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise BadRequest(f"expected rows of numbers (a 2-D list); got a {array.ndim}-D list")
    if array.shape[1] == 0:
        raise BadRequest("rows must not be empty")
    return array


def encode(prediction: object, accept: str) -> bytes:
    """Encode a prediction for the negotiated response type."""
    encoder = ENCODERS.get(accept)
    if encoder is None:
        raise NotAcceptable(f"cannot answer with {accept}; available: {', '.join(OUTPUT_TYPES)}")
    return encoder(prediction)


def encode_json(prediction: object) -> bytes:
    """``{"predictions": [...]}``; a dict prediction is written as it is."""
    if isinstance(prediction, dict):
        return orjson.dumps(prediction, option=orjson.OPT_SERIALIZE_NUMPY)
    return orjson.dumps({"predictions": _jsonable(prediction)}, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_csv(prediction: object) -> bytes:
    """One line per prediction; multi-output rows are comma-separated."""
    if isinstance(prediction, dict):
        raise NotAcceptable("this prediction is a JSON object and cannot be written as text/csv")
    rows = np.asarray(prediction).reshape(-1) if np.ndim(prediction) < 2 else np.asarray(prediction)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows.tolist():
        writer.writerow(row if isinstance(row, list) else [row])
    return buffer.getvalue().encode()


def _jsonable(prediction: object) -> object:
    if isinstance(prediction, np.ndarray):
        if prediction.dtype.kind in "biuf":
            return np.ascontiguousarray(prediction)
        return prediction.tolist()
    if isinstance(prediction, np.generic):
        return prediction.item()
    return prediction


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


DECODERS: dict[str, Callable[[bytes], np.ndarray]] = {CSV: decode_csv, JSON: decode_json}
ENCODERS: dict[str, Callable[[object], bytes]] = {JSON: encode_json, CSV: encode_csv}
