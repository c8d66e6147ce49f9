"""Batch transform done right: a 100,000-row CSV or JSON Lines object split into MultiRecord mini-batches as
SageMaker splits it, sent to the real server (code/serve, nginx, gunicorn) in batch mode, and assembled with
AssembleWith=Line: one output line per input record, each equal to the model's own prediction, for each output
type a job may ask."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.batch import mini_batches, transform
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

ROWS = 100_000
MAX_PAYLOAD_MB = 8  # BATCH_MAX_PAYLOAD_MB, over the server's own 6 MB: SageMaker hands it to the container


@pytest.fixture(scope="module")
def project(wine_model_file):
    parent = Path(tempfile.mkdtemp(prefix="mcc-batch-"))
    target = parent / "wine-batch"
    command = [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "wine-batch", "--model-file",
               str(wine_model_file), "--deploy-mode", "batch", "--output-dir", str(target)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    yield target
    subprocess.run(["rm", "-rf", str(parent)], check=False)


@pytest.fixture(scope="module", params=["text/csv", "application/jsonlines"])
def rows(request, wine):
    """100,000 rows around the wine data (each a little different), and their object: CSV or JSON Lines."""
    features = wine[0]
    generator = np.random.default_rng(7)
    picked = features[generator.integers(0, len(features), ROWS)]
    rows = picked * generator.uniform(0.97, 1.03, picked.shape)
    if request.param == "text/csv":
        body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    else:
        body = "".join(json.dumps(row) + "\n" for row in rows.tolist()).encode()
    return rows, body, request.param


@pytest.fixture(scope="module")
def server(project):
    env = {"SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(MAX_PAYLOAD_MB), "MCC_WORKERS": "2"}
    with LocalServer(project, python=project_venv(project), env=env) as running:
        yield running


def test_the_object_needs_several_mini_batches(rows):
    _, body, _ = rows
    assert len(body) > MAX_PAYLOAD_MB * 1024 * 1024 and len(list(mini_batches(body, MAX_PAYLOAD_MB))) >= 2


def test_execution_parameters_give_the_payload_limit_and_strategy(server):
    with urllib.request.urlopen(f"{server.url}/execution-parameters", timeout=5) as answer:
        assert answer.headers["Content-Type"] == "application/json"
        assert json.load(answer) == {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 8}


@pytest.mark.parametrize("accept", ["text/csv", "application/jsonlines", "application/json"])
def test_the_assembled_output_has_one_line_per_record_equal_to_predict(server, rows, wine_model, accept):
    features, body, content_type = rows

    def post(batch: bytes) -> tuple[int, bytes]:
        status, _, answer = invoke(server.url, batch, content_type, accept)
        return status, answer

    lines = transform(body, MAX_PAYLOAD_MB, post).decode().splitlines()
    expected = wine_model.predict(features).tolist()
    assert len(lines) == ROWS
    read = int if accept == "text/csv" else json.loads  # JSON answers are JSON Lines in a transform job
    assert [read(line) for line in lines] == expected
