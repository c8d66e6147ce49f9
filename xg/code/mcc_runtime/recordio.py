"""``application/x-recordio-protobuf``: SageMaker's RecordIO framing around protobuf ``aialgs.data.Record``
messages, as its built-in algorithms and the SageMaker Python SDK's RecordSerializer write them.

Each frame is the magic number 0xCED7230A, the record's length (little-endian uint32; the top three bits are
flags), the record and padding to four bytes. A record's ``features["values"]`` holds the row: a Float32Tensor,
Float64Tensor or Int32Tensor, dense, or sparse with ``keys`` and ``shape``. The protobuf wire format is read here
with the standard library (images need no protobuf package).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

from .errors import BadRequest

MAGIC = 0xCED7230A
LENGTH_MASK = (1 << 29) - 1
FEATURE = "values"
TENSORS = {2: "<f4", 3: "<f8", 7: "int32"}  # Value's oneof field number -> the tensor's element type
VARINT, FIXED64, DELIMITED, FIXED32 = 0, 1, 2, 5


def parse(body: bytes, width: int | None) -> np.ndarray:
    """The rows of every record's ``values`` feature; sparse entries a record leaves out are missing (NaN), as
    XGBoost reads sparse input. ``width``: the model's feature count, when known."""
    rows = [_row(record, number, width) for number, record in enumerate(_frames(body), start=1)]
    if not rows:
        raise BadRequest("the RecordIO body holds no record")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise BadRequest(f"the records hold rows of different lengths ({', '.join(map(str, sorted(widths)))})")
    return np.vstack(rows)


def _frames(body: bytes) -> Iterator[bytes]:
    offset = 0
    while offset < len(body):
        if len(body) - offset < 8:
            raise BadRequest(f"RecordIO: {len(body) - offset} stray bytes at offset {offset}")
        magic, header = struct.unpack_from("<II", body, offset)
        if magic != MAGIC:
            raise BadRequest(
                f"RecordIO: no record marker at offset {offset} (is this application/x-recordio-protobuf?)"
            )
        length = header & LENGTH_MASK
        start = offset + 8
        if start + length > len(body):
            raise BadRequest(f"RecordIO: the record at offset {offset} is cut short")
        yield body[start : start + length]
        offset = start + (length + 3) // 4 * 4


def _row(record: bytes, number: int, width: int | None) -> np.ndarray:
    for field, _, entry in _fields(record, f"record {number}"):
        if field != 1:  # features (label, uid, metadata and configuration are not model input)
            continue
        name, value = "", b""
        for key, _, content in _fields(entry, f"record {number} feature"):
            if key == 1:
                name = bytes(content).decode("utf-8", "replace")
            elif key == 2:
                value = content
        if name == FEATURE:
            return _tensor(value, number, width)
    raise BadRequest(f"record {number} has no '{FEATURE}' feature")


def _tensor(value: bytes, number: int, width: int | None) -> np.ndarray:
    for kind, _, tensor in _fields(value, f"record {number} value"):
        if kind not in TENSORS:
            raise BadRequest(f"record {number}: only float32, float64 and int32 tensors can be model input")
        values, keys, shape = [], [], []
        for field, wire, content in _fields(tensor, f"record {number} tensor"):
            if field == 1:
                values.append(_numbers(content, wire, TENSORS[kind]))
            elif field == 2:
                keys.extend(_unsigned(content, wire))
            elif field == 3:
                shape.extend(_unsigned(content, wire))
        dense = np.concatenate(values).astype(np.float64) if values else np.zeros(0)
        if not keys:
            return dense
        size = shape[0] if shape else width or (max(keys) + 1)
        if len(keys) != len(dense) or max(keys) >= size:
            raise BadRequest(f"record {number}: the sparse tensor's keys do not fit its values or shape")
        row = np.full(size, np.nan)
        row[keys] = dense
        return row
    raise BadRequest(f"record {number}: the '{FEATURE}' feature holds no tensor")


def _numbers(content: bytes | int, wire: int, dtype: str) -> np.ndarray:
    if dtype == "int32":
        return np.array([_signed32(v) for v in _unsigned(content, wire)], dtype=np.float64)
    if wire == DELIMITED:
        return np.frombuffer(content, dtype=dtype)
    return np.frombuffer(struct.pack("<I" if wire == FIXED32 else "<Q", content), dtype=dtype)


def _unsigned(content: bytes | int, wire: int) -> list[int]:
    if wire == VARINT:
        return [content]
    values, offset = [], 0
    while offset < len(content):
        value, offset = _varint(content, offset)
        values.append(value)
    return values


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _fields(message: bytes, where: str) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, content) of each field of a protobuf message."""
    offset = 0
    try:
        while offset < len(message):
            key, offset = _varint(message, offset)
            field, wire = key >> 3, key & 7
            if wire == VARINT:
                content, offset = _varint(message, offset)
            elif wire == FIXED64:
                content, offset = struct.unpack_from("<Q", message, offset)[0], offset + 8
            elif wire == FIXED32:
                content, offset = struct.unpack_from("<I", message, offset)[0], offset + 4
            elif wire == DELIMITED:
                length, offset = _varint(message, offset)
                if offset + length > len(message):
                    raise ValueError("a field runs past the end")
                content, offset = message[offset : offset + length], offset + length
            else:
                raise ValueError(f"wire type {wire}")
            yield field, wire, content
    except (ValueError, struct.error, IndexError) as exc:
        raise BadRequest(f"{where} is not a valid protobuf Record ({exc})") from None


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("a varint longer than 10 bytes")
