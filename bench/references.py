"""The servers bench/ compares mcc's against, on the same model: a plain Flask app on gunicorn behind nginx,
Seldon MLServer 1.7.1 with its scikit-learn runtime, BentoML 1.4 and NVIDIA Triton 2.51 (the tritonserver binary
that nvidia-pytriton bundles, python backend) — each installed once into its own virtualenv under .cache/bench."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mcc_runtime.local import free_port
from mcc_runtime.nginx import find_nginx

REPO = Path(__file__).resolve().parents[1]
BENCH_CACHE = REPO / ".cache" / "bench"
MLSERVER_VENV = BENCH_CACHE / "mlserver-1.7.1"
# uvloop 0.23 (what pip picks today) breaks MLServer 1.7.1's parallel worker pool ("There is no current event
# loop"); 0.21.0 is the newest release it starts with, so the pool runs as MLServer intends.
MLSERVER_PINS = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "scikit-learn==1.9.1", "uvloop==0.21.0")
MLSERVER_BATCH_TIME_S = 0.002  # its longest wait to fill a batch (as mcc's default MCC_MAX_BATCH_WAIT_MS)
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

PLAIN_APP = """
import io, json, os
import joblib, numpy as np
from flask import Flask, Response, request

model = joblib.load(os.environ["MODEL"])
app = Flask(__name__)

@app.get("/ping")
def ping():
    return ""

@app.post("/invocations")
def invocations():
    rows = np.loadtxt(io.StringIO(request.get_data(as_text=True)), delimiter=",", ndmin=2)
    return Response(json.dumps({"predictions": model.predict(rows).tolist()}), mimetype="application/json")
"""

PLAIN_NGINX = """
worker_processes auto;
pid {run}/nginx.pid;
error_log stderr warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream app {{ server unix:{run}/app.sock; }}
    server {{
        listen {port};
        location / {{ proxy_pass http://app; }}
    }}
}}
"""


def wait_ready(url: str, limit_s: float = 120.0, interval: float = 0.01) -> float:
    """Seconds until ``url`` answers 200 (polled every ``interval``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{url} not ready within {limit_s:g} s")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@contextlib.contextmanager
def plain_flask(python: str, model: Path, workdir: Path, workers: int = 2) -> Iterator[str]:
    """The issue's plain reference: Flask on gunicorn (sync workers) behind nginx, CSV in, JSON out."""
    run = workdir / "plain"
    run.mkdir(parents=True, exist_ok=True)
    (run / "plain_app.py").write_text(PLAIN_APP)
    port = free_port()
    (run / "nginx.conf").write_text(PLAIN_NGINX.format(run=run, port=port))
    env = {**os.environ, **THREAD_ENV, "MODEL": str(model)}
    app = [python, "-m", "gunicorn", "-w", str(workers), "--bind", f"unix:{run}/app.sock", "--chdir", str(run)]
    processes = [
        subprocess.Popen([*app, "plain_app:app"], env=env, start_new_session=True, stderr=subprocess.DEVNULL),
        subprocess.Popen([find_nginx(), "-c", str(run / "nginx.conf"), "-p", str(run)], start_new_session=True),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{port}/ping")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(processes)


def peer_python(venv: Path, pins: tuple[str, ...]) -> str:
    """A peer's own virtualenv with ``pins`` (built once, rebuilt when the pins change)."""
    python = venv / "bin" / "python"
    marker = venv / ".complete"
    if not marker.exists() or marker.read_text() != " ".join(pins):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *pins], check=True)
        marker.write_text(" ".join(pins))
    return str(python)


def mlserver_python() -> str:
    return peer_python(MLSERVER_VENV, MLSERVER_PINS)


def v2_request(rows: list[str]) -> str:
    """CSV rows as one V2 (Open Inference Protocol) JSON request, as MLServer and Triton take it."""
    values = [[float(v) for v in row.split(",")] for row in rows]
    shape = [len(values), len(values[0])]
    return json.dumps({"inputs": [{"name": "x", "shape": shape, "datatype": "FP64", "data": values}]})


@contextlib.contextmanager
def mlserver(model: Path, workdir: Path, workers: int, batch: int = 0) -> Iterator[tuple[str, float]]:
    """MLServer serving ``model`` with its scikit-learn runtime and ``workers`` parallel workers, with adaptive
    batching up to ``batch`` requests (0: off): (base URL, seconds from start to ready)."""
    python = mlserver_python()
    home = workdir / f"mlserver-{batch}"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, home / "model.joblib")
    settings = {
        "name": "wine",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
        **({"max_batch_size": batch, "max_batch_time": MLSERVER_BATCH_TIME_S} if batch else {}),
    }
    (home / "model-settings.json").write_text(json.dumps(settings))
    port, grpc, metrics = free_port(), free_port(), free_port()
    server_settings = {"http_port": port, "grpc_port": grpc, "metrics_port": metrics, "parallel_workers": workers}
    (home / "settings.json").write_text(json.dumps(server_settings))
    command = [str(Path(python).parent / "mlserver"), "start", str(home)]
    with served(command, {**os.environ, **THREAD_ENV}, port, "/v2/models/wine/ready") as started:
        yield started


@contextlib.contextmanager
def served(
    command: list[str], env: dict[str, str], port: int, ready_path: str, cwd: Path | None = None, limit_s: float = 120
) -> Iterator[tuple[str, float]]:
    """A peer's server process: (base URL, seconds from start to ready), stopped (its whole group) afterwards."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}{ready_path}", limit_s=limit_s)
        yield f"http://127.0.0.1:{port}", time.perf_counter() - started
    finally:
        _stop([process])


BENTOML_VENV = BENCH_CACHE / "bentoml-1.4.40"
BENTOML_PINS = ("bentoml==1.4.40", "scikit-learn==1.9.1")
BENTOML_SERVICE = """
import os

import bentoml
import joblib
import numpy as np


@bentoml.service(workers=int(os.environ["BENCH_WORKERS"]))
class Wine:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["MODEL"])

    @bentoml.api(batchable=True, max_batch_size=256, max_latency_ms=1000)
    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self.model.predict(rows)
"""


def bentoml_request(rows: list[str]) -> str:
    return json.dumps({"rows": [[float(v) for v in row.split(",")] for row in rows]})


@contextlib.contextmanager
def bentoml(model: Path, workdir: Path, workers: int) -> Iterator[tuple[str, float]]:
    """BentoML 1.4 serving ``model`` from a batchable API (adaptive batching on), ``workers`` processes."""
    python = peer_python(BENTOML_VENV, BENTOML_PINS)
    home = workdir / "bentoml"
    home.mkdir(parents=True, exist_ok=True)
    (home / "service.py").write_text(BENTOML_SERVICE)
    port = free_port()
    env = {**os.environ, **THREAD_ENV, "MODEL": str(model), "BENCH_WORKERS": str(workers),
           "BENTOML_DO_NOT_TRACK": "true", "BENTOML_HOME": str(home / "home")}  # fmt: skip
    command = [str(Path(python).parent / "bentoml"), "serve", "service:Wine", "--port", str(port)]
    with served(command, env, port, "/readyz", cwd=home) as started:
        yield started


TRITON_VENV = BENCH_CACHE / "triton-0.7.0"
# numpy 2 silently corrupts the inputs the python backend hands to model.py: keep the venv on numpy 1.
TRITON_PINS = ("nvidia-pytriton==0.7.0", "scikit-learn==1.9.1", "onnxruntime==1.31.1", "numpy<2")
TRITON_CONFIG = """
name: "wine"
backend: "python"
max_batch_size: 256
input [ {{ name: "x", data_type: TYPE_FP64, dims: [ {width} ] }} ]
output [ {{ name: "y", data_type: TYPE_INT64, dims: [ 1 ] }} ]
dynamic_batching {{ }}
instance_group [ {{ count: {workers}, kind: KIND_CPU }} ]
"""
TRITON_MODEL = """
import os

import joblib
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        folder = os.path.join(args["model_repository"], args["model_version"])
        if os.path.exists(os.path.join(folder, "model.onnx")):  # the same model through onnxruntime
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(os.path.join(folder, "model.onnx"), options)
            name = session.get_inputs()[0].name
            self.predict = lambda rows: session.run(None, {name: rows.astype(np.float32)})[0]
        else:
            self.predict = joblib.load(os.path.join(folder, "model.joblib")).predict

    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, "x").as_numpy() for r in requests]
        labels = self.predict(np.concatenate(arrays)).astype(np.int64).reshape(-1, 1)
        answers, start = [], 0
        for array in arrays:
            part = labels[start : start + len(array)]
            start += len(array)
            answers.append(pb_utils.InferenceResponse([pb_utils.Tensor("y", part)]))
        return answers
"""


def triton_server(python: str) -> tuple[Path, dict[str, str]]:
    """A runnable copy of the tritonserver that nvidia-pytriton bundles, with its python backend stub, and the
    environment it needs (its libraries, the venv's libpython and python3 first on PATH)."""
    site = Path(subprocess.run([python, "-c", "import pytriton, os; print(os.path.dirname(pytriton.__path__[0]))"],
                               check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    server = BENCH_CACHE / "tritonserver"
    if not (server / "bin" / "tritonserver").exists():
        shutil.rmtree(server, ignore_errors=True)
        shutil.copytree(site / "pytriton" / "tritonserver", server)
        version = ".".join(map(str, sys.version_info[:2]))
        stub = site / "pytriton" / "tritonserver" / "python_backend_stubs" / version / "triton_python_backend_stub"
        (server / "backends" / "python").mkdir(parents=True, exist_ok=True)
        shutil.copy(stub, server / "backends" / "python" / "triton_python_backend_stub")
    libpython = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"],
                               check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    env = {
        **os.environ,
        **THREAD_ENV,
        "LD_LIBRARY_PATH": os.pathsep.join([str(site / "nvidia_pytriton.libs"), libpython]),
        "PATH": os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")]),
    }
    return server, env


@contextlib.contextmanager
def triton(model: Path, workdir: Path, workers: int, width: int) -> Iterator[tuple[str, float]]:
    """Triton serving ``model`` (joblib, or .onnx through onnxruntime) from a python-backend model.py with
    dynamic batching, ``workers`` instances."""
    python = peer_python(TRITON_VENV, TRITON_PINS)
    server, env = triton_server(python)
    repository = workdir / f"triton-{model.suffix[1:]}"
    (repository / "wine" / "1").mkdir(parents=True, exist_ok=True)
    (repository / "wine" / "config.pbtxt").write_text(TRITON_CONFIG.format(width=width, workers=workers))
    (repository / "wine" / "1" / "model.py").write_text(TRITON_MODEL)
    shutil.copy(model, repository / "wine" / "1" / f"model{model.suffix}")
    http, grpc, metrics = free_port(), free_port(), free_port()
    command = [
        str(server / "bin" / "tritonserver"), f"--model-repository={repository}",
        f"--backend-directory={server / 'backends'}", f"--http-port={http}", f"--grpc-port={grpc}",
        f"--metrics-port={metrics}", "--log-verbose=0",
    ]  # fmt: skip
    with served(command, env, http, "/v2/models/wine/ready", limit_s=60) as started:  # a missing libpython hangs it
        yield started
