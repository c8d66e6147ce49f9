"""Runtime settings: ``code/serving.json`` (written by the generator) overridden by environment variables.

Environment variables (all optional):

==================================  ==============================================================
``SAGEMAKER_BIND_TO_PORT``          port nginx listens on (default 8080)
``MCC_BIND_HOST``                   the one address nginx listens on (default: every interface, as
                                    SageMaker needs; do/run --local sets 127.0.0.1)
``MCC_MODEL_DIR``                   model directory (default ``/opt/ml/model``)
``MCC_WORKERS``                     app-server workers (default: serving.json's, else usable CPUs);
                                    ``SAGEMAKER_MODEL_SERVER_WORKERS`` is honoured too
``MCC_THREADS``                     threads per worker for threaded workers (default from serving.json)
``SAGEMAKER_MODEL_SERVER_TIMEOUT``  seconds a request may take (default 60)
``MCC_MAX_PAYLOAD_MB``              request body limit in MB (default from serving.json, else 6)
``MCC_PREDICT_OUTPUT``              ``label``, ``proba`` or ``both`` (default from serving.json, else label)
``MCC_JSON_RESPONSE``               ``object`` (``{"predictions": [...]}``) or ``array`` (the bare array AWS's
                                    framework containers answer); default from serving.json, else object
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``  the response type when a request's Accept is missing or ``*/*``
                                    (default application/json), as in AWS's framework containers
``SAGEMAKER_BATCH``                 ``true`` in a batch transform job (SageMaker sets it): JSON answers are
                                    JSON Lines, one line per record, like CSV ones
``SAGEMAKER_MAX_PAYLOAD_IN_MB``     the transform job's MaxPayloadInMB (SageMaker sets it): the body limit
                                    in a batch transform job, unless MCC_MAX_PAYLOAD_MB is set
``MCC_MAX_BATCH_SIZE``              requests one model call may answer together (default from serving.json;
                                    ``1`` turns adaptive batching off)
``MCC_MAX_BATCH_WAIT_MS``          longest wait for requests already on their way before a batch is
                                    predicted (default from serving.json); an idle server never waits
``MCC_ACCESS_LOG``                  ``1`` to log every request to stdout (default off)
``MCC_RUN_AS_USER``                 when started as root, app and nginx workers run as this user
``MCC_LOG_LEVEL``                   gunicorn log level (default ``info``)
``MCC_NGINX_BIN``                   nginx executable (default: ``nginx`` on PATH or in /usr/sbin)
``MCC_RUN_DIR``                     where each start makes its socket/config directory (default: $TMPDIR or /tmp)
==================================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import envvalues
from .cpus import usable_cpus
from .serving_file import SERVING_FILE, ServerSection, ServingFile, ServingFileError

SETTINGS_FILE = SERVING_FILE
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
DEFAULT_TIMEOUT_S = 60
WORKER_TIMEOUT_MARGIN_S = 5  # a hung request: the client's 504 comes first, then the worker is replaced
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_MAX_BATCH_SIZE = 32  # what mcc new writes; a serving.json without the key: 1 (off)
DEFAULT_MAX_BATCH_WAIT_MS = 2
PREDICT_OUTPUTS = ("label", "proba", "both")
JSON_RESPONSES = ("object", "array")


class SettingsError(envvalues.ValueProblem):
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
    default_accept: str = "application/json"
    batch: bool = False
    input_types: tuple[str, ...] = ()
    preload: bool = True
    app: str = "mcc_runtime.apps.flask_app:create_app()"
    worker_class: str = "sync"
    threads: int = 1
    port: int = DEFAULT_PORT
    bind_host: str = ""  # every interface
    workers: int = 1
    timeout_s: int = DEFAULT_TIMEOUT_S
    max_batch_size: int = 1
    max_batch_wait_ms: int = 0
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB
    access_log: bool = False
    run_as_user: str | None = None
    log_level: str = "info"

    @property
    def worker_timeout_s(self) -> int:
        """How long one prediction may run before its worker is replaced."""
        return self.timeout_s + WORKER_TIMEOUT_MARGIN_S

    @property
    def app_threads(self) -> int:
        """Threads per worker: a sync (Flask) worker that batches takes one request per thread, up to a batch."""
        if self.worker_class == "sync" and self.max_batch_size > 1:
            return max(self.threads, self.max_batch_size)
        return self.threads

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
        try:
            data = ServingFile.read(code_dir)
        except ServingFileError as exc:
            raise SettingsError(str(exc)) from None
        server = data.server or ServerSection(app=cls.app, worker_class=cls.worker_class)
        workers_env = env.get("MCC_WORKERS") or env.get("SAGEMAKER_MODEL_SERVER_WORKERS")
        batch = envvalues.flag("SAGEMAKER_BATCH", env.get("SAGEMAKER_BATCH"), error=SettingsError)
        return cls(
            code_dir=code_dir,
            model_dir=Path(env.get("MCC_MODEL_DIR") or DEFAULT_MODEL_DIR),
            handler=data.handler,
            model_format=data.model_format,
            model_filename=data.model_filename,
            model_extensions=data.model_extensions,
            model_is_directory=data.model_is_directory,
            predict_output=_choice("MCC_PREDICT_OUTPUT", env, data.predict_output, PREDICT_OUTPUTS),
            json_response=_choice("MCC_JSON_RESPONSE", env, data.json_response, JSON_RESPONSES),
            batch=batch,
            default_accept=(env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "application/json").strip().lower(),
            input_types=data.input_types,
            preload=data.preload,
            app=server.app,
            worker_class=server.worker_class,
            threads=_number("MCC_THREADS", env.get("MCC_THREADS"), server.threads),
            port=_number("SAGEMAKER_BIND_TO_PORT", env.get("SAGEMAKER_BIND_TO_PORT"), DEFAULT_PORT),
            bind_host=(env.get("MCC_BIND_HOST") or "").strip(),
            workers=_number("MCC_WORKERS", workers_env, server.workers or usable_cpus()),
            timeout_s=_number(
                "SAGEMAKER_MODEL_SERVER_TIMEOUT", env.get("SAGEMAKER_MODEL_SERVER_TIMEOUT"), DEFAULT_TIMEOUT_S
            ),
            max_batch_size=_number("MCC_MAX_BATCH_SIZE", env.get("MCC_MAX_BATCH_SIZE"), data.max_batch_size),
            max_batch_wait_ms=envvalues.whole_number(
                "MCC_MAX_BATCH_WAIT_MS",
                env.get("MCC_MAX_BATCH_WAIT_MS"),
                data.max_batch_wait_ms,
                minimum=0,
                error=SettingsError,
            ),
            max_payload_mb=_number("MCC_MAX_PAYLOAD_MB", env.get("MCC_MAX_PAYLOAD_MB"), _batch_limit(env, batch, data)),
            access_log=envvalues.flag("MCC_ACCESS_LOG", env.get("MCC_ACCESS_LOG"), error=SettingsError),
            run_as_user=env.get("MCC_RUN_AS_USER") or None,
            log_level=(env.get("MCC_LOG_LEVEL") or "info").lower(),
        )


def _batch_limit(env: Mapping[str, str], batch: bool, data: ServingFile) -> int:
    """The body limit before MCC_MAX_PAYLOAD_MB: a transform job's MaxPayloadInMB (0: none given), else the file's."""
    raw = env.get("SAGEMAKER_MAX_PAYLOAD_IN_MB") if batch else None
    given = envvalues.whole_number("SAGEMAKER_MAX_PAYLOAD_IN_MB", raw, 0, minimum=0, error=SettingsError)
    return given or data.max_payload_mb


def _choice(name: str, env: Mapping[str, str], value: str, allowed: tuple[str, ...]) -> str:
    """The environment variable's value, else serving.json's; a problem names where the value came from."""
    source = name if env.get(name) else f"{SERVING_FILE} {name.removeprefix('MCC_').lower()}"
    return envvalues.choice(source, env.get(name) or value, allowed[0], allowed, error=SettingsError)


def _number(name: str, raw: str | None, default: int) -> int:
    return envvalues.whole_number(name, raw, default, error=SettingsError)
