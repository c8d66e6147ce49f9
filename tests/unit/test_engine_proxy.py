"""A proxied engine (TensorRT-LLM) behind the generated nginx.conf, run by the generated code/serve.

trtllm-serve cannot be installed without CUDA, so a stand-in program of that name (a small HTTP server that
records its command line and answers trtllm-serve's /health and /v1/chat/completions) takes its place on
PATH. Everything else is real: the launcher, the options file, nginx and its route mapping, supervision.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from mcc_runtime.local import free_port

STAND_IN = textwrap.dedent(
    """\
    #!{python}
    import json, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from pathlib import Path

    argv = sys.argv[1:]
    Path({record!r}).write_text(json.dumps({{"argv": argv, "options": Path(argv[-1]).read_text()}}))
    port = int(argv[argv.index("--port") + 1])

    class Engine(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = json.dumps({{"route": self.path, "echo": json.loads(body)}}).encode()
            self.send_response(200 if self.path == "/v1/chat/completions" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", port), Engine).serve_forever()
    """
)


@pytest.fixture()
def trtllm_project(tmp_path):
    project = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "trt", "--framework", "transformers",
         "--engine", "trtllm", "--model-id", "meta-llama/Llama-3.1-8B-Instruct", "--dtype", "bfloat16",
         "--instance-type", "ml.g5.12xlarge", "--output-dir", str(project)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return project


def test_nginx_maps_sagemakers_routes_to_the_engines(trtllm_project, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "engine.json"
    stand_in = bin_dir / "trtllm-serve"
    stand_in.write_text(STAND_IN.format(python=sys.executable, record=str(record)))
    stand_in.chmod(0o755)
    port, engine_port = free_port(), free_port()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_SAFE_PORT_RANGE": f"{engine_port}-{engine_port + 10}",
        "SM_NUM_GPUS": "4",
    }
    server = subprocess.Popen([sys.executable, str(trtllm_project / "code" / "serve")], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the proxied engine never got ready"
                time.sleep(0.2)
        body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read()) == {"route": "/v1/chat/completions", "echo": json.loads(body)}
        started = json.loads(record.read_text())
        assert started["argv"][:5] == [
            "meta-llama/Llama-3.1-8B-Instruct",
            "--host",
            "127.0.0.1",
            "--port",
            str(engine_port),
        ]
        assert started["argv"][started["argv"].index("--tp_size") + 1] == "4"
        assert started["options"] == 'dtype: "bfloat16"\n'
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_a_run_directory_that_does_not_exist_is_one_clear_line(trtllm_project, tmp_path):
    env = {**os.environ, "MCC_RUN_DIR": str(tmp_path / "missing"), "SM_NUM_GPUS": "1"}
    result = subprocess.run(
        [sys.executable, str(trtllm_project / "code" / "serve")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"error: cannot make a run directory in MCC_RUN_DIR={tmp_path / 'missing'}" in result.stderr
    assert "Traceback" not in result.stderr
