"""--optimize onnx: each framework's model converted and answering as the original; a conversion that answers
otherwise, or a model that does not convert, is refused with the reason, before anything is written."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from mcc import onnx_export
from mcc_runtime.handlers import onnx as onnx_handler
from tests.support import tabular

FEATURES = 6


def classification(classes: int = 2):
    from sklearn.datasets import make_classification

    return make_classification(240, FEATURES, n_informative=4, n_classes=classes, random_state=0)


def regression():
    from sklearn.datasets import make_regression

    return make_regression(240, FEATURES, random_state=0)


def xgboost_booster(path, data):
    import xgboost

    estimator = xgboost.XGBRegressor if data is regression else xgboost.XGBClassifier
    estimator(n_estimators=8).fit(*data()).save_model(path / "model.json")
    return "json", path / "model.json"


def lightgbm_booster(path, data):
    import lightgbm

    estimator = lightgbm.LGBMRegressor if data is regression else lightgbm.LGBMClassifier
    estimator(n_estimators=8, verbose=-1).fit(*data()).booster_.save_model(str(path / "model.txt"))
    return "txt", path / "model.txt"


def pickled(make):
    def save(path, data):
        joblib.dump(make(data).fit(*data()), path / "model.joblib")
        return "joblib", path / "model.joblib"

    return save


def sklearn_pipeline(data):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge() if data is regression else LogisticRegression(max_iter=500))


def xgboost_estimator(data):
    import xgboost

    return (xgboost.XGBRegressor if data is regression else xgboost.XGBClassifier)(n_estimators=8)


def lightgbm_estimator(data):
    import lightgbm

    return (lightgbm.LGBMRegressor if data is regression else lightgbm.LGBMClassifier)(n_estimators=8, verbose=-1)


CASES = {
    "sklearn pipeline": ("sklearn", pickled(sklearn_pipeline)),
    "xgboost booster json": ("xgboost", xgboost_booster),
    "xgboost estimator pickled": ("xgboost", pickled(xgboost_estimator)),
    "lightgbm booster txt": ("lightgbm", lightgbm_booster),
    "lightgbm estimator pickled": ("lightgbm", pickled(lightgbm_estimator)),
}
TASKS = {"binary": classification, "three classes": lambda: classification(3), "regression": regression}


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("case", list(CASES))
def test_each_framework_converts_and_the_onnx_model_answers_as_the_original(tmp_path, case, task):
    framework, save = CASES[case]
    data = regression if task == "regression" else TASKS[task]
    model_format, path = save(tmp_path, data)
    rows = data()[0][:5]
    exported = onnx_export.export(framework, framework, model_format, path, rows, tmp_path)
    assert exported.rows_checked == 5 + onnx_export.GENERATED_ROWS
    assert exported.largest_difference <= onnx_export.TOLERANCE
    served = onnx_handler.load(exported.path)
    assert onnx_handler.row_independent(served)  # any number of rows: batches of requests can share a run
    from mcc_runtime.handlers import load_handler

    handler = load_handler(framework)
    original = handler.load(path, model_format)
    check = onnx_export.check_rows(rows, FEATURES, seed=1)
    if task == "regression":
        np.testing.assert_allclose(onnx_handler.predict(served, check), handler.predict(original, check), rtol=1e-4)
    else:
        assert onnx_handler.predict_label(served, check).tolist() == handler.predict(original, check).tolist()


def test_the_rows_checked_are_the_samples_and_rows_around_them():
    rows = np.array([[1.0, 10.0, -3.0], [2.0, 20.0, -1.0]])
    checked = onnx_export.check_rows(rows, 3)
    assert checked[:2].tolist() == rows.tolist() and len(checked) == 2 + onnx_export.GENERATED_ROWS
    assert (checked[2:] != rows[0]).any() and np.isfinite(checked).all()
    assert onnx_export.check_rows(None, 3).shape == (onnx_export.GENERATED_ROWS, 3)


def test_a_conversion_that_answers_otherwise_is_refused_naming_the_rows(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    features, labels = classification()
    joblib.dump(LogisticRegression().fit(features, labels), tmp_path / "model.joblib")
    convert = onnx_export._convert
    other = LogisticRegression().fit(features, 1 - labels)  # a different model: every label flips
    monkeypatch.setattr(onnx_export, "_convert", lambda framework, model, width: convert(framework, other, width))
    with pytest.raises(onnx_export.ExportError) as refused:
        onnx_export.export("sklearn", "sklearn", "joblib", tmp_path / "model.joblib", features[:4], tmp_path)
    message = str(refused.value.errors[0])
    assert "labels differ from the original's on" in message and "e.g. row 1 [" in message


def test_a_model_taking_text_columns_is_refused_with_the_reason(tmp_path):
    model = tabular.churn_pipeline(tmp_path)
    with pytest.raises(onnx_export.ExportError) as refused:
        onnx_export.export("sklearn", "sklearn", "joblib", model.path, None, tmp_path)
    assert "takes number, text columns" in str(refused.value.errors[0])


def test_only_scikit_learn_xgboost_and_lightgbm_convert(tmp_path):
    with pytest.raises(onnx_export.ExportError, match="converts sklearn, xgboost, lightgbm models"):
        onnx_export.export("pytorch", "pytorch", "pt", tmp_path / "model.pt", None, tmp_path)
