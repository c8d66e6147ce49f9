"""The servers bench/ compares mcc's against, on the same model: a plain Flask app on gunicorn behind nginx, and
Seldon MLServer 1.7.1 with its scikit-learn runtime (installed into its own virtualenv under .cache/bench)."""

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
MLSERVER_VENV = REPO / ".cache" / "bench" / "mlserver-1.7.1"
# uvloop 0.23 (what pip picks today) breaks MLServer 1.7.1's parallel worker pool ("There is no current event
# loop"); 0.21.0 is the newest release it starts with, so the pool runs as MLServer intends.
MLSERVER_PINS = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "scikit-learn==1.9.1", "uvloop==0.21.0")
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


def mlserver_python() -> str:
    """MLServer's own virtualenv (built once)."""
    python = MLSERVER_VENV / "bin" / "python"
    marker = MLSERVER_VENV / ".complete"
    if not marker.exists() or marker.read_text() != " ".join(MLSERVER_PINS):
        shutil.rmtree(MLSERVER_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLSERVER_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *MLSERVER_PINS], check=True)
        marker.write_text(" ".join(MLSERVER_PINS))
    return str(python)


def v2_request(row: str) -> str:
    """One CSV row as an MLServer V2 (Open Inference Protocol) JSON request."""
    values = [float(v) for v in row.split(",")]
    return json.dumps({"inputs": [{"name": "x", "shape": [1, len(values)], "datatype": "FP64", "data": values}]})


@contextlib.contextmanager
def mlserver(model: Path, workdir: Path, workers: int) -> Iterator[tuple[str, float]]:
    """MLServer serving ``model`` with its scikit-learn runtime and ``workers`` parallel workers:
    (base URL, seconds from start to ready)."""
    python = mlserver_python()
    home = workdir / "mlserver"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, home / "model.joblib")
    settings = {
        "name": "wine",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    (home / "model-settings.json").write_text(json.dumps(settings))
    port, grpc, metrics = free_port(), free_port(), free_port()
    server_settings = {"http_port": port, "grpc_port": grpc, "metrics_port": metrics, "parallel_workers": workers}
    (home / "settings.json").write_text(json.dumps(server_settings))
    mlserver_bin = str(Path(python).parent / "mlserver")
    started = time.perf_counter()
    process = subprocess.Popen(
        [mlserver_bin, "start", str(home)],
        env={**os.environ, **THREAD_ENV},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/models/wine/ready")
        yield f"http://127.0.0.1:{port}", time.perf_counter() - started
    finally:
        _stop([process])
