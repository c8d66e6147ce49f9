"""SageMaker's built-in XGBoost algorithm's ``xgboost-model``, in both of its forms (a pickled Booster, as its
1.x containers write it, and ``Booster.save_model`` output without an extension), served as that container
serves it: the objective read from the model, ``binary:logistic`` giving probabilities and labels by its 0.5
threshold, ``multi:softprob`` class probabilities, regression values; header-less CSV, libsvm and
RecordIO-protobuf requests. The framework and format come from the file's name alone (no --framework)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import xgboost

from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.frameworks import without_classes
from tests.support.recordio import dense_records, sparse_records
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

OBJECTIVES = {"binary:logistic": "both", "multi:softprob": "both", "reg:squarederror": "label"}


def train(objective: str) -> tuple[xgboost.Booster, np.ndarray]:
    generator = np.random.default_rng(11)
    features = generator.normal(size=(300, 6))
    score = features[:, 0] + 0.5 * features[:, 1] - features[:, 2]
    if objective == "binary:logistic":
        target, extra = (score > 0).astype(int), {}
    elif objective == "multi:softprob":
        target, extra = np.digitize(score, [-0.7, 0.7]), {"num_class": 3}
    else:
        target, extra = score * 10, {}
    booster = xgboost.train({"objective": objective, "max_depth": 3, **extra}, xgboost.DMatrix(features, target), 12)
    return booster, features[:40]


def save(booster: xgboost.Booster, path: Path, form: str) -> None:
    if form == "pickled":
        path.write_bytes(pickle.dumps(booster))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Saving model in the UBJSON format as default", as the algorithm does
            booster.save_model(str(path))


@pytest.fixture(scope="module", params=[(o, f) for o in OBJECTIVES for f in ("pickled", "saved")],
                ids=lambda p: f"{p[0]}-{p[1]}")  # fmt: skip
def served(request):
    objective, form = request.param
    booster, rows = train(objective)
    parent = Path(tempfile.mkdtemp(prefix="mcc-builtin-xgb-"))
    artifact = parent / "xgboost-model"
    save(booster, artifact, form)
    project = parent / "project"
    command = [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "builtin-xgb", "--model-file",
               str(artifact), "--predict-output", OBJECTIVES[objective], "--output-dir", str(project)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with LocalServer(project, python=project_venv(project)) as server:
        yield objective, project, booster, rows, server
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def test_the_framework_and_format_come_from_the_file_name(served):
    _, project, *_ = served
    serving = json.loads((project / "code" / "serving.json").read_text())
    assert (serving["handler"], serving["model_format"], serving["model_filename"]) == (
        "xgboost",
        "builtin",
        "xgboost-model",
    )


def expected(objective: str, booster: xgboost.Booster, rows: np.ndarray) -> dict:
    raw = booster.predict(xgboost.DMatrix(rows))
    if objective == "binary:logistic":
        return {"predictions": (raw > 0.5).astype(int).tolist(), "probabilities": np.c_[1 - raw, raw]}
    if objective == "multi:softprob":
        return {"predictions": raw.argmax(axis=1).tolist(), "probabilities": raw}
    return {"predictions": raw}


def check(answer: dict, wanted: dict) -> None:
    answer = without_classes(answer, wanted)
    assert set(answer) == set(wanted)
    for name, values in wanted.items():
        if isinstance(values, list):
            assert answer[name] == values
        else:
            np.testing.assert_allclose(answer[name], values, rtol=1e-6, atol=1e-7)


def test_headerless_csv_answers_as_the_algorithm_predicts(served):
    objective, _, booster, rows, server = served
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert status == 200, answer
    check(json.loads(answer), expected(objective, booster, rows))


def test_libsvm_requests_answer_the_same(served):
    objective, _, booster, rows, server = served
    lines = [" ".join(["0", *(f"{i}:{v!r}" for i, v in enumerate(map(float, row)) if v != 0)]) for row in rows]
    status, _, answer = invoke(server.url, "\n".join(lines).encode(), "text/libsvm", "application/json")
    assert status == 200, answer
    check(json.loads(answer), expected(objective, booster, rows))


def test_recordio_protobuf_requests_answer_the_same(served):
    objective, _, booster, rows, server = served
    body = dense_records(rows.astype(np.float32))  # as the SageMaker SDK's RecordSerializer writes them
    status, _, answer = invoke(server.url, body, "application/x-recordio-protobuf", "application/json")
    assert status == 200, answer
    check(json.loads(answer), expected(objective, booster, rows.astype(np.float32)))
    sparse = rows.astype(np.float32).astype(np.float64)
    sparse[::3, 1] = np.nan  # left-out entries are missing, as XGBoost reads sparse input
    status, _, answer = invoke(
        server.url, sparse_records(sparse), "application/x-recordio-protobuf", "application/json"
    )
    assert status == 200, answer
    check(json.loads(answer), expected(objective, booster, sparse))
