"""``do/run --sagemaker``, the local SageMaker host: a good image passes; each way a container fails SageMaker's
health check or invocation is diagnosed with its evidence, each proven here with a deliberately broken image
(a small HTTP server on the predictive base image, broken as ``BROKEN`` says through CONTAINER_ENV)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from mcc_lifecycle.local_host import image_problem
from mcc_lifecycle.platforms import AMD64, ARM64
from mcc_runtime.local import free_port
from tests.support.docker import docker, remove_repository
from tests.support.projects import mcc_new

pytestmark = pytest.mark.slow

BROKEN_SERVER = """
import os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode = os.environ.get("BROKEN", "")
if mode == "exit":
    print("boom: cannot load the model", file=sys.stderr, flush=True)
    sys.exit(3)
if mode == "oom":
    print("loading a model too big for this instance", file=sys.stderr, flush=True)
    hoard = [b"x" * (256 * 1024 * 1024) for _ in range(64)]


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if mode == "slow-ping":
            time.sleep(3)
        self.answer(503 if mode == "ping-503" else 200, b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "slow-invoke":
            time.sleep(5)
        self.answer(200, b"[" + b"1," * (3_700_000 if mode == "big-answer" else 1) + b"1]")


ThreadingHTTPServer(("", 9000 if mode == "wrong-port" else 8080), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def project(wine_model_file, wine_payload_file):
    parent = Path(tempfile.mkdtemp(prefix="mcc-local-host-"))
    project = mcc_new(
        parent / "host", "local-host", *("--model-file", str(wine_model_file)),
        *("--sample-payload", str(wine_payload_file), "--no-include-tests"),
    )  # fmt: skip
    yield project
    remove_repository("local-host")
    subprocess.run(["rm", "-rf", str(parent)], check=False)


@pytest.fixture(scope="module")
def broken_image(base_image, tmp_path_factory):
    context = tmp_path_factory.mktemp("broken")
    (context / "server.py").write_text(BROKEN_SERVER)
    (context / "Dockerfile").write_text(
        f'FROM {base_image}\nCOPY server.py /server.py\nENTRYPOINT ["python3", "/server.py"]\n'
    )
    docker("build", "--tag", "mcc-broken:latest", str(context))
    yield "mcc-broken"
    docker("image", "rm", "--force", "mcc-broken:latest", check=False)


def local_host(project: Path, image: str, *options: str, **settings: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER": "docker", "IMAGE_NAME": image, "LOCAL_PORT": str(free_port()), **settings}
    return subprocess.run(
        [str(project / "do" / "run"), "--sagemaker", *options], env=env, capture_output=True, text=True, timeout=300
    )


def verdict(result: subprocess.CompletedProcess) -> str:
    return " ".join(result.stderr.split())


def test_the_projects_own_image_passes_with_the_model_from_a_model_tar_gz(project, base_image):
    build = subprocess.run([str(project / "do" / "build")], env={**os.environ, "DOCKER": "docker"}, capture_output=True)
    assert build.returncode == 0, build.stderr[-2000:]
    result = local_host(project, "local-host")
    assert result.returncode == 0, result.stderr
    assert "PASS: local-host:latest passed SageMaker's checks as a realtime container on ml.m5.large" in verdict(result)
    assert "POST /invocations with payload.csv: HTTP 200" in verdict(result)


@pytest.mark.parametrize(
    ("broken", "settings", "options", "diagnosis"),
    [
        ("exit", {}, (), "FAIL: the container exited with code 3 before /ping answered 200"),
        ("wrong-port", {}, (), "FAIL: nothing listens on port 8080 in the container (it listens on 9000)"),
        ("slow-ping", {}, (), "FAIL: GET /ping took more than 2 s, SageMaker's limit per ping"),
        ("ping-503", {}, (), "FAIL: GET /ping did not answer 200 within the start-up budget of 6 s (last: HTTP 503"),
        ("oom", {"INSTANCE_TYPE": "ml.t2.medium", "STARTUP_TIMEOUT_S": "90"}, (),
         "FAIL: the container was killed for memory on ml.t2.medium (limit 4096m)"),
        ("slow-invoke", {}, ("--invocation-timeout", "2"), "FAIL: POST /invocations took more than 2 s"),
        ("big-answer", {}, (), "FAIL: the answer is 7.1 MB; SageMaker returns at most 6 MB"),
    ],
)  # fmt: skip
def test_each_failure_is_named_with_its_evidence(project, broken_image, broken, settings, options, diagnosis):
    # 6 s for the /ping cases; filling 4 GiB up to the kill takes longer (the verdict comes when it dies)
    env = {"CONTAINER_ENV": f"BROKEN={broken}", "STARTUP_TIMEOUT_S": "6", **settings}
    result = local_host(project, broken_image, *options, **env)
    assert result.returncode == 1, result.stderr
    assert diagnosis in verdict(result), result.stderr
    if broken == "exit":
        assert "last log lines: | boom: cannot load the model" in verdict(result)
    assert docker("ps", "--all", "--quiet", "--filter", f"ancestor={broken_image}").stdout.strip() == ""


def test_a_sample_over_the_deploy_modes_payload_limit_is_refused(project, broken_image):
    sample = project / "samples" / "payload.csv"
    original = sample.read_bytes()
    sample.write_bytes(original * (5 * 1024 * 1024 // len(original) + 1))
    try:
        result = local_host(project, broken_image, DEPLOY_MODE="serverless")
    finally:
        sample.write_bytes(original)
    assert result.returncode == 1
    assert "FAIL: payload.csv is 5.0 MB; serverless payloads are at most 4 MB" in verdict(result)


def test_an_image_for_another_platform_is_refused_before_it_starts(project, tmp_path, engine):
    (tmp_path / "f").write_text("arm\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY f /f\n")
    docker("build", "--platform", "linux/arm64", "--tag", "mcc-arm64:latest", str(tmp_path))
    try:
        result = local_host(project, "mcc-arm64")
    finally:
        docker("image", "rm", "--force", "mcc-arm64:latest", check=False)
    assert result.returncode == 1
    assert "FAIL: the image is linux/arm64; the endpoint runs linux/amd64 images" in verdict(result)


def test_an_image_over_10_gb_is_refused_for_serverless_only():
    big = 11 * 10**9
    assert "serverless endpoints take images up to 10 GB" in image_problem("amd64", "linux", big, "serverless", AMD64)
    assert image_problem("amd64", "linux", big, "realtime", AMD64) is None


def test_a_graviton_endpoint_takes_arm64_images_only():
    assert image_problem("arm64", "linux", 10**9, "realtime", ARM64) is None
    assert "the endpoint runs linux/arm64 images" in image_problem("amd64", "linux", 10**9, "realtime", ARM64)
