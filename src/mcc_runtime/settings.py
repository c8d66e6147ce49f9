"""Runtime settings: ``code/serving.json`` (written by the generator) overridden by environment variables.

Environment variables (all optional):

==================================  ==============================================================
``SAGEMAKER_BIND_TO_PORT``          port nginx listens on (default 8080)
``MCC_MODEL_DIR``                   model directory (default ``/opt/ml/model``)
``MCC_WORKERS``                     app-server workers (default: serving.json's, else usable CPUs);
                                    ``SAGEMAKER_MODEL_SERVER_WORKERS`` is honoured too
``MCC_THREADS``                     threads per worker for threaded workers (default from serving.json)
``SAGEMAKER_MODEL_SERVER_TIMEOUT``  seconds a request may take (default 60)
``MCC_MAX_PAYLOAD_MB``              request body limit in MB (default from serving.json, else 6)
``MCC_PREDICT_OUTPUT``              ``label``, ``proba`` or ``both`` (default from serving.json, else label)
``MCC_JSON_RESPONSE``               ``object`` (``{"predictions": [...]}``) or ``array`` (the bare array AWS's
                                    framework containers answer); default from serving.json, else object
``MCC_ACCESS_LOG``                  ``1`` to log every request to stdout (default off)
``MCC_RUN_AS_USER``                 when started as root, app and nginx workers run as this user
``MCC_LOG_LEVEL``                   gunicorn log level (default ``info``)
``MCC_NGINX_BIN``                   nginx executable (default: ``nginx`` on PATH or in /usr/sbin)
``MCC_RUN_DIR``                     where each start makes its socket/config directory (default: $TMPDIR or /tmp)
==================================  ==============================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .cpus import usable_cpus

SETTINGS_FILE = "serving.json"
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
DEFAULT_TIMEOUT_S = 60
WORKER_TIMEOUT_MARGIN_S = 5  # a hung request: the client's 504 comes first, then the worker is replaced
DEFAULT_MAX_PAYLOAD_MB = 6
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
PREDICT_OUTPUTS = ("label", "proba", "both")
JSON_RESPONSES = ("object", "array")


class SettingsError(ValueError):
    """A setting has a value the runtime cannot use."""


def runtime_code_dir() -> Path:
    """The directory holding ``mcc_runtime`` (a project's ``code/``)."""
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    code_dir: Path
    model_dir: Path
    handler: str
    model_format: str = ""
    model_filename: str | None = None
    model_extensions: tuple[str, ...] = ()
    model_is_directory: bool = False
    predict_output: str = "label"
    json_response: str = "object"
    preload: bool = True
    app: str = "mcc_runtime.apps.flask_app:create_app()"
    worker_class: str = "sync"
    threads: int = 1
    port: int = DEFAULT_PORT
    workers: int = 1
    timeout_s: int = DEFAULT_TIMEOUT_S
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB
    access_log: bool = False
    run_as_user: str | None = None
    log_level: str = "info"
    extra: dict = field(default_factory=dict)

    @property
    def worker_timeout_s(self) -> int:
        """How long one prediction may run before its worker is replaced."""
        return self.timeout_s + WORKER_TIMEOUT_MARGIN_S

    @property
    def max_payload_bytes(self) -> int:
        return self.max_payload_mb * 1024 * 1024

    @property
    def project_dir(self) -> Path:
        return self.code_dir.parent

    @classmethod
    def load(cls, code_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``serving.json`` from ``code_dir`` and apply environment overrides."""
        code_dir = Path(code_dir) if code_dir else runtime_code_dir()
        env = os.environ if environ is None else environ
        path = code_dir / SETTINGS_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise SettingsError(f"{path} is missing; it is written by `mcc new`") from None
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{path} is not valid JSON: {exc}") from None
        server = data.get("server", {})
        workers_env = env.get("MCC_WORKERS") or env.get("SAGEMAKER_MODEL_SERVER_WORKERS")
        return cls(
            code_dir=code_dir,
            model_dir=Path(env.get("MCC_MODEL_DIR") or DEFAULT_MODEL_DIR),
            handler=data.get("handler", ""),
            model_format=data.get("model_format", ""),
            model_filename=data.get("model_filename"),
            model_extensions=tuple(data.get("model_extensions", ())),
            model_is_directory=bool(data.get("model_is_directory", False)),
            predict_output=_choice("MCC_PREDICT_OUTPUT", env.get("MCC_PREDICT_OUTPUT"), data, PREDICT_OUTPUTS),
            json_response=_choice("MCC_JSON_RESPONSE", env.get("MCC_JSON_RESPONSE"), data, JSON_RESPONSES),
            preload=bool(data.get("preload", True)),
            app=server.get("app", cls.app),
            worker_class=server.get("worker_class", cls.worker_class),
            threads=_positive_int("MCC_THREADS", env.get("MCC_THREADS"), int(server.get("threads", 1))),
            port=_positive_int("SAGEMAKER_BIND_TO_PORT", env.get("SAGEMAKER_BIND_TO_PORT"), DEFAULT_PORT),
            workers=_positive_int("MCC_WORKERS", workers_env, int(server.get("workers") or usable_cpus())),
            timeout_s=_positive_int(
                "SAGEMAKER_MODEL_SERVER_TIMEOUT", env.get("SAGEMAKER_MODEL_SERVER_TIMEOUT"), DEFAULT_TIMEOUT_S
            ),
            max_payload_mb=_positive_int(
                "MCC_MAX_PAYLOAD_MB",
                env.get("MCC_MAX_PAYLOAD_MB"),
                int(data.get("max_payload_mb", DEFAULT_MAX_PAYLOAD_MB)),
            ),
            access_log=_flag("MCC_ACCESS_LOG", env.get("MCC_ACCESS_LOG")),
            run_as_user=env.get("MCC_RUN_AS_USER") or None,
            log_level=(env.get("MCC_LOG_LEVEL") or "info").lower(),
            extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
        )


_KNOWN_KEYS = {
    "handler",
    "model_format",
    "model_filename",
    "model_extensions",
    "model_is_directory",
    "predict_output",
    "json_response",
    "preload",
    "server",
    "max_payload_mb",
}


def _choice(name: str, raw: str | None, data: dict, allowed: tuple[str, ...]) -> str:
    key = name.removeprefix("MCC_").lower()
    value = (raw or data.get(key) or allowed[0]).strip().lower()
    if value not in allowed:
        raise SettingsError(f"{key}={value!r} must be one of {', '.join(allowed)}")
    return value


def _positive_int(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise SettingsError(f"{name}={raw!r} must be at least 1")
    return value


def _flag(name: str, raw: str | None) -> bool:
    word = (raw or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={raw!r} must be one of 1/0, true/false, yes/no, on/off")
