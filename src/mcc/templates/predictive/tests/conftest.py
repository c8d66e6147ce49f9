"""Fixtures for this project's tests: its settings and hooks, and a local server run like the container."""

import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "code"))

from mcc_runtime.hooks import load_hooks  # noqa: E402
from mcc_runtime.local import LocalServer  # noqa: E402
from mcc_runtime.nginx import find_nginx  # noqa: E402
from mcc_runtime.service import InferenceService  # noqa: E402
from mcc_runtime.settings import Settings  # noqa: E402
from mcc_runtime.smoke import CONTENT_TYPES, answer_columns  # noqa: E402


@pytest.fixture(scope="session")
def settings():
    return Settings.load(PROJECT / "code", {"MCC_MODEL_DIR": str(PROJECT / "model")})


@pytest.fixture(scope="session")
def hooks(settings):
    return load_hooks(settings)


@pytest.fixture(scope="session")
def model(hooks, settings):
    return hooks.model_fn(str(settings.model_dir))


@pytest.fixture(scope="session")
def service(hooks, settings):
    service = InferenceService(hooks, settings.model_dir, settings.max_payload_bytes, settings.worker_timeout_s)
    service.load()
    return service


@pytest.fixture(scope="session")
def payload():
    """(body, content type) of the project's sample request."""
    found = sorted((PROJECT / "samples").glob("payload.*"))
    if not found:
        pytest.skip("no sample payload: generate the project with --sample-payload FILE")
    return found[0].read_bytes(), CONTENT_TYPES[found[0].suffix.lower()]


@pytest.fixture(scope="session")
def expected_answer():
    """The answer mcc new's model check got for the sample payload in the image's environment (decoded JSON)."""
    path = PROJECT / "samples" / "expected.json"
    if not path.is_file():
        pytest.skip("no recorded answer: the project was generated without a sample, or with --no-model-check")
    return path.read_bytes()


@pytest.fixture(scope="session")
def server():
    """code/serve on a free port: real nginx in front of the real model server."""
    try:
        find_nginx()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with LocalServer(PROJECT, python=sys.executable, env={"MCC_WORKERS": "2"}) as running:
        yield running


@pytest.fixture(scope="session")
def assert_same_answer():
    """Check a JSON answer against predict_fn's result: every column, one entry per row (floats to 1e-6)."""

    def check(answer, prediction, rows):
        columns = prediction if isinstance(prediction, dict) else {"predictions": prediction}
        answer = answer_columns(answer, single=next(iter(columns)))  # either JSON answer shape (json_response)
        for name, values in columns.items():
            values = np.asarray(values)
            assert len(values) == len(answer[name]) == rows > 0
            if values.dtype.kind in "biuf":
                np.testing.assert_allclose(answer[name], values.astype(np.float64), rtol=1e-6)
            else:
                assert answer[name] == values.tolist()

    return check
