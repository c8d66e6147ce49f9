"""A generated project, its virtualenv, a recording docker and a moto server for the do/ scripts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.support.moto import CREDENTIALS, MotoServer
from tests.support.venvs import project_venv

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/wine-life-sagemaker-execution"
CODEBUILD_ROLE_ARN = "arn:aws:iam::123456789012:role/wine-life-codebuild"

RECORDING_DOCKER = """#!/usr/bin/env bash
# Stands in for docker: records each call (and what login reads on stdin) as a JSON line.
set -euo pipefail
stdin=""
if [[ "${1:-}" == login ]]; then stdin="$(cat)"; fi
"$RECORDING_PYTHON" -c 'import json, sys; print(json.dumps({"argv": sys.argv[2:], "stdin": sys.argv[1]}))' \\
    "$stdin" "$@" >>"$DOCKER_LOG"
"""


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory, wine_model_file, wine_payload_file) -> Path:
    target = tmp_path_factory.mktemp("lifecycle") / "wine-life"
    subprocess.run(
        [
            sys.executable,
            *("-m", "mcc", "new", "--yes", "--project-name", "wine-life", "--region", REGION),
            *("--model-file", str(wine_model_file), "--sample-payload", str(wine_payload_file)),
            *("--output-dir", str(target)),
        ],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture(scope="module")
def project_python(project) -> str:
    """The project's own requirements-dev.txt (boto3 pinned there) runs its do/ scripts."""
    return project_venv(project)


@pytest.fixture
def aws_env(moto, project, project_python, tmp_path) -> dict[str, str]:
    """A fresh emulated account, and the environment the do/ scripts run with."""
    moto.reset()
    shutil.rmtree(project / ".mcc", ignore_errors=True)
    docker = tmp_path / "docker"
    docker.write_text(RECORDING_DOCKER)
    docker.chmod(0o755)
    return {
        **moto.env(REGION),
        "PYTHON": project_python,
        "DOCKER": str(docker),
        "DOCKER_LOG": str(tmp_path / "docker.log"),
        "RECORDING_PYTHON": sys.executable,
        "ROLE_ARN": ROLE_ARN,
        "CODEBUILD_ROLE_ARN": CODEBUILD_ROLE_ARN,
    }


@pytest.fixture
def aws(moto, aws_env):
    """boto3 clients on the emulator, to look at what the scripts created."""

    def client(service: str):
        return boto3.client(service, region_name=REGION, endpoint_url=moto.url, **_lower(CREDENTIALS))

    return client


def _lower(credentials: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in credentials.items()}


def run_do(project: Path, env: dict[str, str], script: str, *args: str, check: bool = True):
    result = subprocess.run([str(project / "do" / script), *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, f"do/{script} {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def docker_calls(env: dict[str, str]) -> list[dict]:
    log = Path(env["DOCKER_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def publish_image(aws, repository: str, tag: str) -> None:
    """What a real docker push leaves in ECR (the recording docker pushes nothing)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7,
            "digest": "sha256:" + "0" * 64,
        },
        "layers": [],
    }
    aws("ecr").put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def moto_post(env: dict[str, str], path: str, document: dict) -> None:
    """Configure moto through its own API (e.g. the answers its SageMaker runtime gives)."""
    request = urllib.request.Request(env["AWS_ENDPOINT_URL"] + path, data=json.dumps(document).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
