"""The library versions a model artifact records it was saved with, read from its bytes without loading it.

- scikit-learn pickles (and joblib files): every estimator's state holds ``_sklearn_version``;
- XGBoost ``save_model`` output (JSON or UBJSON), and the raw model inside a pickled Booster or estimator:
  the top-level ``version`` array;
- Keras 3 ``.keras`` files: ``metadata.json``'s ``keras_version``;
- PyTorch ExportedPrograms (``.pt2``): ``models/model.json``'s ``torch_version``.

ONNX models record what they need of the runtime instead (IR version, operator sets: :func:`onnx_versions`).
Other formats record a file-format version rather than the library's; for those nothing is returned and the
catalog's version stands.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .file_cache import per_file_version
from .pickle_scan import decompressed

# After the key: an optional MEMOIZE/BINPUT/LONG_BINPUT, then SHORT_BINUNICODE (1-byte length) or BINUNICODE (4).
SKLEARN_VERSION = re.compile(rb"_sklearn_version(?:\x94|q[\x00-\xff]|r[\x00-\xff]{4})?(\x8c|X)")
UBJ_VERSION = re.compile(rb"version\[")  # UBJSON: the key's bytes, then the array marker
JSON_VERSION = re.compile(rb'"version"\s*:\s*\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]')
UBJ_INTS = {ord("i"): ">b", ord("U"): ">B", ord("I"): ">h", ord("l"): ">i", ord("L"): ">q"}
VERSION_TEXT = re.compile(r"^\d+(\.\d+){1,3}([a-z]+\d*|\.post\d+)?$")


@dataclass(frozen=True)
class Recorded:
    """Distribution name -> version, and where in the artifact they were read."""

    versions: dict[str, str]
    evidence: str


@per_file_version
def recorded_versions(path: Path, check: str | None) -> Recorded | None:
    """What the artifact at ``path`` (of a format whose structural check is ``check``) records, if anything."""
    reader = READERS.get(check or "")
    if reader is None or not path.is_file():
        return None
    try:
        return reader(path)
    except (OSError, ValueError, zipfile.BadZipFile, struct.error, IndexError):
        return None  # damaged: the structural check reports it


def _pickle(path: Path) -> Recorded | None:
    data = decompressed(path)
    versions, evidence = {}, []
    sklearn = _most_common(_sklearn_versions(data))
    if sklearn:
        versions["scikit-learn"] = sklearn
        evidence.append("the estimators' _sklearn_version")
    xgboost = _xgboost_version(data)
    if xgboost:
        versions["xgboost"] = xgboost
        evidence.append("the embedded XGBoost model's version")
    return Recorded(versions, " and ".join(evidence)) if versions else None


def _sklearn_versions(data: bytes) -> list[str]:
    found = []
    for match in SKLEARN_VERSION.finditer(data):
        start = match.end()
        if match.group(1) == b"\x8c":
            length, start = data[start], start + 1
        else:
            length, start = struct.unpack("<I", data[start : start + 4])[0], start + 4
        text = data[start : start + length].decode("ascii", "replace")
        if VERSION_TEXT.match(text):
            found.append(text)
    return found


def _xgboost_save_model(path: Path) -> Recorded | None:
    data = path.read_bytes()
    if data[:1] == b"{" and data[1:2] in (b'"', b"\n", b" ", b"\r", b"\t", b"}"):
        version = json.loads(data).get("version")
        text = ".".join(map(str, version)) if isinstance(version, list) and version else None
    else:
        text = _xgboost_version(data)
    return Recorded({"xgboost": text}, "the model's version field") if text else None


def _xgboost_builtin(path: Path) -> Recorded | None:
    """SageMaker's ``xgboost-model``: save_model output, or a pickled Booster."""
    head = path.read_bytes()[:1]
    return _xgboost_save_model(path) if head == b"{" else _pickle(path)


def _xgboost_version(data: bytes) -> str | None:
    """The top-level ``version`` of an XGBoost model found in ``data``: as UBJSON (save_model's binary format and
    what pickles embed) or as JSON."""
    for match in UBJ_VERSION.finditer(data):
        numbers = _ubj_int_array(data, match.end())
        if numbers and len(numbers) == 3:
            return ".".join(map(str, numbers))
    match = JSON_VERSION.search(data)
    return ".".join(n.decode() for n in match.groups()) if match else None


def _ubj_int_array(data: bytes, at: int) -> list[int] | None:
    """The integers of a UBJSON array whose contents start at ``at`` (optimized ``$type#count`` or plain)."""
    element_type = None
    if data[at : at + 1] == b"$":
        element_type, at = data[at + 1], at + 2
    count = None
    if data[at : at + 1] == b"#":
        count, at = _ubj_int(data, data[at + 1], at + 2)
    numbers: list[int] = []
    while count is None or len(numbers) < count:
        marker = element_type
        if marker is None:
            marker, at = data[at], at + 1
            if marker == ord("]") and count is None:
                return numbers
        if marker not in UBJ_INTS:
            return None
        number, at = _ubj_int(data, marker, at)
        numbers.append(number)
        if len(numbers) > 8:
            return None
    return numbers


def _ubj_int(data: bytes, marker: int, at: int) -> tuple[int, int]:
    fmt = UBJ_INTS.get(marker)
    if fmt is None:
        raise ValueError("not a UBJSON integer")
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, data[at : at + size])[0], at + size


def _keras(path: Path) -> Recorded | None:
    with zipfile.ZipFile(path) as archive:
        if "metadata.json" not in archive.namelist():
            return None
        version = json.loads(archive.read("metadata.json")).get("keras_version")
    return Recorded({"keras": version}, "metadata.json's keras_version") if isinstance(version, str) else None


@dataclass(frozen=True)
class OnnxVersions:
    """What an ONNX model needs of its runtime: the IR version and each operator set's version."""

    ir_version: int
    opsets: dict[str, int]  # domain ("" is the default ai.onnx) -> version


def onnx_versions(path: Path) -> OnnxVersions | None:
    """ModelProto's ``ir_version`` (field 1) and ``opset_import`` (field 8: domain = 1, version = 2), read from the
    file's top-level fields; the graph (field 7, the weights) is skipped over, not read."""
    ir_version, opsets = None, {}
    try:
        with path.open("rb") as stream:
            for number, value in _top_level_fields(stream, wanted={1, 8}):
                if number == 1:
                    ir_version = value
                elif number == 8:
                    fields = dict(_message_fields(value))
                    domain = fields.get(1, b"")
                    opsets[domain.decode() if isinstance(domain, bytes) else ""] = int(fields.get(2, 0))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return OnnxVersions(ir_version, opsets) if isinstance(ir_version, int) else None


def _top_level_fields(stream, wanted: set[int]):
    """(field number, varint value or bytes) of a protobuf message read from ``stream``; delimited fields not in
    ``wanted`` are skipped with a seek."""
    while tag := _read_varint(stream, allow_end=True):
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            yield number, _read_varint(stream)
        elif wire == 2:
            length = _read_varint(stream)
            if number in wanted:
                yield number, stream.read(length)
            else:
                stream.seek(length, 1)
        elif wire in (1, 5):
            stream.seek(8 if wire == 1 else 4, 1)
        else:
            raise ValueError(f"protobuf wire type {wire}")


def _message_fields(data: bytes):
    return _top_level_fields(io.BytesIO(data), wanted={1})


def _read_varint(stream, allow_end: bool = False) -> int | None:
    value, shift = 0, 0
    while True:
        byte = stream.read(1)
        if not byte:
            if allow_end and shift == 0:
                return None
            raise ValueError("truncated varint")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _exported_program(path: Path) -> Recorded | None:
    """torch.export.save's archive: ``models/model.json`` records the ``torch_version`` that exported it
    (TorchScript records only its file format's version)."""
    with zipfile.ZipFile(path) as archive:
        name = next((n for n in archive.namelist() if n.endswith("/models/model.json")), None)
        if name is None:
            return None
        version = json.loads(archive.read(name)).get("torch_version")
    if not isinstance(version, str) or not version:
        return None
    return Recorded({"torch": version.split("+", 1)[0]}, "the ExportedProgram's torch_version")


def _most_common(values: list[str]) -> str | None:
    return Counter(values).most_common(1)[0][0] if values else None


READERS = {
    "pickle": _pickle,
    "xgboost_json": _xgboost_save_model,
    "ubjson": _xgboost_save_model,
    "xgboost_builtin": _xgboost_builtin,
    "keras": _keras,
    "zip": _exported_program,
}
