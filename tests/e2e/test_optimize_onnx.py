"""`mcc new --optimize onnx` end to end: a scikit-learn pipeline and an XGBoost Booster converted at generation,
served by onnxruntime behind nginx with the original's answers; a model that does not convert is refused and
nothing is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support import tabular
from tests.support.projects import own_tests, readable_folder, run_mcc_new, stderr_text
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow


def csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def xgboost_booster(folder, wine):
    import xgboost

    booster = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(*wine)
    booster.save_model(folder / "wine.json")
    return folder / "wine.json", booster


def sklearn_pipeline(folder, wine_model):
    import joblib

    joblib.dump(wine_model, folder / "wine.joblib")
    return folder / "wine.joblib", wine_model


@pytest.fixture(scope="module", params=["sklearn", "xgboost"])
def optimized(request, wine, wine_model):
    with readable_folder("mcc-onnx-") as folder:
        if request.param == "sklearn":
            path, model = sklearn_pipeline(folder, wine_model)
        else:
            path, model = xgboost_booster(folder, wine)
        payload = folder / "rows.csv"
        payload.write_bytes(csv(wine[0][:5]))
        project = folder / "project"
        flags = ("--framework", request.param, "--model-file", str(path), "--sample-payload", str(payload))
        result = run_mcc_new(project, *flags, "--optimize", "onnx", "--predict-output", "both", name="wine-onnx")
        assert result.returncode == 0, result.stderr
        python = project_venv(project)
        with LocalServer(project, python=python, env={"MCC_WORKERS": "1"}) as server:
            yield model, project, python, server


def test_the_project_serves_the_onnx_model_with_onnxruntime_alone(optimized):
    _, project, _, _ = optimized
    assert sorted(p.name for p in (project / "model").iterdir()) == ["model.onnx"]
    pins = (project / "requirements.txt").read_text().split()
    assert "onnxruntime==1.31.1" in pins
    assert not [p for p in pins if p.startswith(("scikit-learn==", "xgboost", "scipy=="))]
    readme = (project / "README.md").read_text()
    assert "## Converted to ONNX" in readme and "261 rows" in readme
    assert json.loads((project / "code" / "serving.json").read_text())["handler"] == "onnx"


def test_the_served_answers_are_the_original_models(optimized, wine):
    model, _, _, server = optimized
    rows = wine[0]
    status, _, body = invoke(server.url, csv(rows), "text/csv", "application/json")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["predictions"] == model.predict(rows).tolist()
    np.testing.assert_allclose(answer["probabilities"], model.predict_proba(rows), rtol=0, atol=1e-4)


def test_the_projects_own_tests_pass(optimized):
    _, project, python, _ = optimized
    result = own_tests(project, python)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_model_that_does_not_convert_is_refused_and_nothing_is_written(tmp_path):
    model = tabular.churn_pipeline(tmp_path)
    target = tmp_path / "project"
    result = run_mcc_new(target, "--model-file", str(model.path), "--optimize", "onnx")
    assert result.returncode == 2
    text = stderr_text(result)
    assert "optimize = 'onnx' (from --optimize): the model takes number, text columns" in text
    assert "Nothing was written" in text and not target.exists()


def test_optimize_onnx_needs_a_model_file_of_a_framework_it_converts(tmp_path):
    result = run_mcc_new(tmp_path / "sample", "--sample-model", "--optimize", "onnx")
    assert result.returncode == 2 and "converts a model file at generation" in stderr_text(result)
    result = run_mcc_new(tmp_path / "torch", "--framework", "pytorch", "--sample-model", "--optimize", "onnx")
    assert result.returncode == 2 and "converts sklearn, xgboost, lightgbm models, not pytorch ones" in stderr_text(
        result
    )
    assert not (tmp_path / "sample").exists()
