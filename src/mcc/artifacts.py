"""Structural checks of a model artifact before anything is written: is this file what its format says?

Each check reads at most the file's header (or its zip directory) and returns an error message or None.
The catalog names the check per format; a wrong or corrupt file is refused at generation time instead of
at the endpoint's first start.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

PICKLE_PROTOCOL_2_PLUS = b"\x80"
COMPRESSED_MAGICS = (b"\x78", b"\x1f\x8b", b"\xfd7zXZ", b"BZh", b"\x04\x22\x4d\x18")  # zlib gzip xz bz2 lz4
ONNX_FIRST_BYTE = b"\x08"  # ModelProto field 1 (ir_version), varint
UBJSON_OBJECT = b"{"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def _header(path: Path, size: int = 8) -> bytes:
    with path.open("rb") as stream:
        return stream.read(size)


def pickle_file(path: Path) -> str | None:
    head = _header(path)
    if head.startswith(PICKLE_PROTOCOL_2_PLUS) or head.startswith(COMPRESSED_MAGICS):
        return None
    return "is not a pickle or joblib file (it does not start like one)"


def xgboost_json(path: Path) -> str | None:
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"is not valid JSON: {exc}"
    if not isinstance(document, dict) or "learner" not in document:
        return 'is JSON but not an XGBoost model (no "learner" object; save it with Booster.save_model)'
    return None


def ubjson(path: Path) -> str | None:
    if _header(path, 1) != UBJSON_OBJECT:
        return "is not a UBJSON model (save it with Booster.save_model('model.ubj'))"
    return None


def xgboost_builtin(path: Path) -> str | None:
    """SageMaker's XGBoost algorithm writes ``xgboost-model``: a pickled Booster (its 0.90 and 1.x containers) or
    ``Booster.save_model`` output without an extension (UBJSON, or JSON)."""
    head = _header(path, 1)
    if head.startswith(PICKLE_PROTOCOL_2_PLUS) or head == UBJSON_OBJECT:
        return None
    return "is not a SageMaker XGBoost model (neither a pickled Booster nor Booster.save_model output)"


def lightgbm_text(path: Path) -> str | None:
    if _header(path, 5) != b"tree\n" and _header(path, 6) != b"tree\r\n":
        return "is not a LightGBM text model (it should start with 'tree'; save it with Booster.save_model)"
    return None


def zip_archive(path: Path) -> str | None:
    return None if zipfile.is_zipfile(path) else "is not a zip archive, as this format is"


def keras_file(path: Path) -> str | None:
    if not zipfile.is_zipfile(path):
        return "is not a Keras 3 .keras file (a zip archive); save it with model.save('model.keras')"
    with zipfile.ZipFile(path) as archive:
        if "config.json" not in archive.namelist():
            return "is a zip archive without config.json, so not a Keras 3 .keras file"
    return None


def saved_model(path: Path) -> str | None:
    if not path.is_dir():
        return "must be a SavedModel directory"
    if not any((path / name).is_file() for name in SAVED_MODEL_FILES):
        return "is a directory without saved_model.pb, so not a SavedModel"
    return None


def onnx_file(path: Path) -> str | None:
    if _header(path, 1) != ONNX_FIRST_BYTE:
        return "is not an ONNX model (it does not start like an ONNX ModelProto)"
    return None


def _xgboost_json_features(path: Path) -> int | None:
    parameters = json.loads(path.read_bytes())["learner"].get("learner_model_param", {})
    return int(parameters["num_feature"]) if "num_feature" in parameters else None


def _lightgbm_text_features(path: Path) -> int | None:
    with path.open(encoding="utf-8", errors="replace") as text:
        for _, line in zip(range(64), text, strict=False):  # the header precedes the trees
            if line.startswith("max_feature_idx="):
                return int(line.removeprefix("max_feature_idx=")) + 1
    return None


CHECKS: dict[str, Callable[[Path], str | None]] = {
    "pickle": pickle_file,
    "xgboost_json": xgboost_json,
    "ubjson": ubjson,
    "xgboost_builtin": xgboost_builtin,
    "lightgbm_text": lightgbm_text,
    "zip": zip_archive,
    "keras": keras_file,
    "savedmodel": saved_model,
    "onnx": onnx_file,
}


FEATURE_COUNTS: dict[str, Callable[[Path], int | None]] = {
    "xgboost_json": _xgboost_json_features,
    "lightgbm_text": _lightgbm_text_features,
}


def recorded_feature_count(path: Path, check: str | None) -> int | None:
    """How many features per row a model that passed ``check`` records in its text, where its format says so."""
    reader = FEATURE_COUNTS.get(check or "")
    try:
        return reader(path) if reader else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable here: the runtime compares again when it loads the model


def artifact_error(path: Path, check: str | None) -> str | None:
    """Run the catalog's named check on ``path``; None when it passes or there is no check."""
    if not check:
        return None
    try:
        return CHECKS[check](path)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
