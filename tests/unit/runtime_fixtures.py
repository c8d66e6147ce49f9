"""A project's code/ and model/ directories, built in a temp dir around the real runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mcc_runtime.settings import Settings

SERVING_JSON = {
    "handler": "sklearn",
    "model_filename": "model.joblib",
    "model_extensions": [".joblib", ".pickle", ".pkl"],
    "preload": True,
    "server": {"name": "flask", "app": "mcc_runtime.apps.flask_app:create_app()", "worker_class": "sync"},
    "max_payload_mb": 1,
}


ONNX_SERVING = {"handler": "onnx", "model_filename": "model.onnx", "model_extensions": [".onnx"]}


def make_project(root: Path, model_file: Path, inference_py: str | None = None, **serving: object) -> Path:
    """Write code/serving.json (SERVING_JSON with ``serving``'s keys), code/inference.py where given, and the
    model as model/<model_filename>; return code/."""
    code, model = root / "code", root / "model"
    code.mkdir(parents=True)
    model.mkdir()
    settings = {**SERVING_JSON, **serving}
    shutil.copy(model_file, model / str(settings["model_filename"]))
    (code / "serving.json").write_text(json.dumps(settings))
    if inference_py is not None:
        (code / "inference.py").write_text(inference_py)
    return code


def settings_for(code: Path, **env: str) -> Settings:
    return Settings.load(code, {"MCC_MODEL_DIR": str(code.parent / "model"), **env})
