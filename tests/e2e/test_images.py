"""Real images: each CPU predictive project is built with its own do/build by a real Docker engine and run as
SageMaker runs it (``docker run IMAGE serve``, the model read-only at /opt/ml/model) → /ping → answers equal to
in-process predictions → workers unprivileged → ``docker stop`` exits 0 within the grace period → no secret
in any layer. Base images that cannot be pulled here are made as stand-ins (tests/support/docker.py).

PyTorch and mcc's CPU Transformers engine install the CPU-only torch wheel from PyTorch's own index; where that
index cannot be reached (these machines), do/build is given a stand-in serving the pinned wheel through
BUILD_EXTRA_INDEX_URL, as a user gives a mirror (the ``torch_index`` fixture).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from mcc.checks.secrets import PATTERNS
from mcc_lifecycle.container import run_arguments
from mcc_lifecycle.settings import Settings
from mcc_runtime.local import free_port
from mcc_runtime.smoke import invoke, wait_until_ready
from tests.support.docker import IMAGES, docker, image_megabytes, remove_repository, secrets_in_layers
from tests.support.images import ImageProject, image_project

pytestmark = pytest.mark.slow

LEAN_MB = {  # measured + ~10% on the stand-in base (188 MB; python:3.11-slim is lighter): a guard against growth
    "sklearn-flask": 500, "sklearn-fastapi": 530, "xgboost-flask": 480, "lightgbm-flask": 470, "onnx-flask": 370,
    "tensorflow-flask": 1900, "pytorch-flask": 1200, "transformers-chat": 1700,
}  # fmt: skip
STOP_GRACE_S = 30  # SageMaker sends SIGKILL 30 s after SIGTERM
PLANTED = {  # in the environment of every build: none may reach a layer
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "HF_TOKEN": "hf_" + "planted" * 5,
}


def do_build(project: Path, *options: str, **settings: str) -> str:
    """do/build's output (with the secrets of PLANTED in its environment, and do/config ``settings``)."""
    env = {**os.environ, **PLANTED, "DOCKER": "docker", **settings}
    command = [str(project / "do" / "build"), *options]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module", params=list(IMAGES))
def built(request, base_image, torch_index):
    parent = Path(tempfile.mkdtemp(prefix=f"mcc-image-{request.param}-"))
    built = image_project(parent, request.param)
    index = {"BUILD_EXTRA_INDEX_URL": torch_index} if built.needs_torch_index and torch_index else {}
    do_build(built.project, **index)
    yield built
    remove_repository(f"img-{request.param}")
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def start_container(built: ImageProject, **environ: str) -> tuple[str, str]:
    """``docker run`` as do/run builds it (model/ read-only at /opt/ml/model), detached; (id, url)."""
    port = free_port()
    settings = Settings(project_name=f"img-{built.name}", aws_region="us-east-1")
    arguments = [a for a in run_arguments(settings, built.project, environ, port) if a != "--rm"]  # keep its state
    container = docker(arguments[0], "--detach", *arguments[1:]).stdout.strip()
    return container, f"http://127.0.0.1:{port}"


@pytest.fixture
def container(built):
    container, url = start_container(built)
    try:
        wait_until_ready(url, 120)
    except TimeoutError:
        raise AssertionError(docker("logs", container, check=False).stderr[-3000:]) from None
    yield container, url
    docker("rm", "--force", container, check=False)


def test_the_image_serves_the_in_process_predictions_behind_its_own_nginx(built, container):
    _, url = container
    status, answer_type, answer = invoke(url, built.body, built.content_type, "application/json")
    assert (status, answer_type) == (200, "application/json"), answer
    built.check(json.loads(answer))
    status, _, answer = invoke(url, built.malformed, built.content_type, "application/json")
    assert status == 400 and "error" in json.loads(answer)


def test_the_model_directory_is_mounted_read_only_and_workers_run_unprivileged(built, container):
    identifier, _ = container
    mounts = json.loads(docker("inspect", "--format", "{{json .Mounts}}", identifier).stdout)
    assert [(m["Destination"], m["RW"]) for m in mounts] == [("/opt/ml/model", False)]
    # A worker just forked (a slow start under load) is root for the instant before it drops its privileges,
    # before it serves anything: look again for a few seconds rather than at one instant.
    deadline = time.monotonic() + 10
    while True:
        processes = _processes(identifier)
        as_root = sorted(command.split()[0] for user, command in processes if user == "root")
        nginx_workers = {user for user, command in processes if "nginx: worker process" in command}
        app_workers = [user for user, command in processes if "gunicorn" in command and user != "root"]
        settled = len(as_root) == 3 and nginx_workers == {"10001"} and app_workers and set(app_workers) == {"10001"}
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(as_root) == 3, processes  # only code/serve, the nginx master and the gunicorn master
    assert nginx_workers == {"10001"} and app_workers and set(app_workers) == {"10001"}, processes


def _processes(identifier: str) -> list[tuple[str, str]]:
    """(user, command line) of every process in the container."""
    listing = docker("top", identifier, "-eo", "user,pid,args").stdout.splitlines()[1:]
    return [(user, command) for user, _, command in (line.split(None, 2) for line in listing)]


def test_docker_stop_ends_the_container_with_exit_0_within_the_grace_period(built, container):
    identifier, _ = container
    started = time.monotonic()
    docker("stop", "--time", str(STOP_GRACE_S), identifier)
    elapsed = time.monotonic() - started
    exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", identifier, check=False).stdout.strip()
    assert elapsed < STOP_GRACE_S and exit_code in ("0", ""), (elapsed, exit_code)


def secret_patterns() -> dict[str, re.Pattern[bytes]]:
    """The project scanner's patterns, as bytes."""
    return {what: re.compile(p.pattern.encode(), p.flags & re.IGNORECASE) for what, p in PATTERNS.items()}


def planted_patterns() -> dict[str, re.Pattern[bytes]]:
    return {name: re.compile(re.escape(value.encode())) for name, value in PLANTED.items()}


def test_no_secret_from_the_build_environment_reaches_any_layer(built, base_image):
    assert secrets_in_layers(built.image, base_image, secret_patterns(), planted_patterns()) == []


def test_the_layer_scan_finds_secrets_written_into_a_layer(base_image):
    key = "-----BEGIN PRIVATE KEY-----\\n" + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" * 3
    leak = f"echo {PLANTED['AWS_ACCESS_KEY_ID']} > /leaked && printf '%b' '{key}' > /key"
    packaged = "/usr/lib/python3/dist-packages/sample/tokens.py"  # a package's own sample token (not in history)
    sample = f"mkdir -p {Path(packaged).parent} && python3 -c \"print('hf_' + 'A' * 34)\" > {packaged}"
    dockerfile = f"FROM {base_image}\nRUN {leak} && {sample}\n"
    docker("build", "--tag", "mcc-leaky:test", "-", input=dockerfile)
    try:
        found = secrets_in_layers("mcc-leaky:test", base_image, secret_patterns(), planted_patterns())
        assert found == ["AWS access key id", "AWS_ACCESS_KEY_ID", "private key"]  # not the packaged sample token
    finally:
        docker("image", "rm", "--force", "mcc-leaky:test", check=False)


def test_the_image_is_lean(built):
    size = image_megabytes(built.image)
    assert size < LEAN_MB[built.name], size


def dependency_layer(image: str) -> str:
    history = docker("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}", image).stdout.splitlines()
    return next(line.split("|")[0] for line in history if "pip install" in line)


@pytest.mark.parametrize("built", ["sklearn-flask"], indirect=True)
def test_editing_inference_py_rebuilds_only_the_code_layer(built):
    before = dependency_layer(built.image)
    inference = built.project / "code" / "inference.py"
    inference.write_text(inference.read_text() + f"\n# edited at {time.time_ns()}\n")  # never seen by the cache
    output = do_build(built.project)
    assert dependency_layer(built.image) == before
    steps = re.split(r"^Step \d+/\d+ : ", output, flags=re.M)[1:]
    cached = [step.splitlines()[0] for step in steps if "Using cache" in step]
    assert any("pip install" in step for step in cached) and any("COPY model/" in step for step in cached)
    assert not any("COPY code/" in step for step in cached)  # only the code layer (and what follows) is new
