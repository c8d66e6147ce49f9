"""Framework handlers in-process: objectives and estimator types beyond the wine classifiers of the e2e tests."""

from __future__ import annotations

import numpy as np
import pytest

from mcc_runtime.defaults import DefaultHooks
from mcc_runtime.errors import BadRequest
from mcc_runtime.handlers import labels_from_proba, load_handler, two_class
from mcc_runtime.schema import Column, InputSchema
from mcc_runtime.settings import Settings
from tests.support.frameworks import CASES, train


@pytest.fixture(scope="module")
def binary(wine):
    features, target = wine
    return features, (target == 0).astype(int)


def test_xgboost_boosters_per_objective(tmp_path, wine, binary):
    import xgboost

    handler = load_handler("xgboost")
    features, target = binary
    for objective, labels in (("binary:logistic", target), ("multi:softmax", wine[1]), ("reg:squarederror", None)):
        params = {"objective": objective, "max_depth": 2, "nthread": 1}
        if objective == "multi:softmax":
            params["num_class"] = 3
        y = wine[1] if labels is None else labels
        booster = xgboost.train(params, xgboost.DMatrix(features, label=y), num_boost_round=5)
        path = tmp_path / f"{objective.replace(':', '-')}.ubj"
        booster.save_model(str(path))
        model = handler.load(path, "ubj")
        reference = booster.predict(xgboost.DMatrix(features))
        predicted = handler.predict(model, features)
        if objective == "binary:logistic":
            np.testing.assert_array_equal(predicted, (reference > 0.5).astype(int))
            np.testing.assert_array_equal(handler.predict_proba(model, features), two_class(reference))
        elif objective == "multi:softmax":
            np.testing.assert_array_equal(predicted, reference.astype(int))
            assert not handler.has_proba(model)
        else:
            np.testing.assert_array_equal(predicted, reference)
            assert not handler.has_proba(model)


def test_a_pickled_booster_is_a_booster_whatever_its_pickle_format_is_called(tmp_path, binary):
    """A pickled binary:logistic Booster (as SageMaker's XGBoost 1.x algorithm writes it) renamed .pkl: its
    objective gives probabilities, not "not a probabilistic classifier"."""
    import pickle

    import xgboost

    features, target = binary
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(features, target), 5)
    reference = booster.predict(xgboost.DMatrix(features))
    handler = load_handler("xgboost")
    for name, model_format in (("model.pkl", "pkl"), ("model.joblib", "joblib"), ("xgboost-model", "builtin")):
        (tmp_path / name).write_bytes(pickle.dumps(booster))
        model = handler.load(tmp_path / name, model_format)
        assert handler.has_proba(model), name
        np.testing.assert_array_equal(handler.predict_proba(model, features), two_class(reference))
        np.testing.assert_array_equal(handler.predict(model, features), (reference > 0.5).astype(int))


def test_lightgbm_boosters_per_objective(tmp_path, wine, binary):
    import lightgbm

    handler = load_handler("lightgbm")
    for objective, (features, target) in (("binary", binary), ("regression", wine)):
        data = lightgbm.Dataset(features, label=target, params={"verbose": -1})
        booster = lightgbm.train({"objective": objective, "verbose": -1, "num_threads": 1}, data, num_boost_round=5)
        path = tmp_path / f"{objective}.txt"
        booster.save_model(str(path))
        model = handler.load(path, "txt")
        reference = booster.predict(features)
        if objective == "binary":
            np.testing.assert_array_equal(handler.predict(model, features), (reference > 0.5).astype(int))
            np.testing.assert_array_equal(handler.predict_proba(model, features), two_class(reference))
        else:
            np.testing.assert_array_equal(handler.predict(model, features), reference)
            assert not handler.has_proba(model)
        with pytest.raises(BadRequest, match="expected 13 features"):
            handler.predict(model, features[:, :4])


def test_asking_probabilities_of_a_regressor_fails_at_load_naming_the_model(tmp_path, wine):
    import joblib
    from sklearn.linear_model import Ridge

    joblib.dump(Ridge().fit(*wine), tmp_path / "ridge.joblib")
    settings = Settings(
        code_dir=tmp_path, model_dir=tmp_path, handler="sklearn", model_filename="ridge.joblib", predict_output="proba"
    )
    with pytest.raises(ValueError, match=r"predict_output=proba needs class probabilities.*ridge\.joblib"):
        DefaultHooks(settings).model_fn(str(tmp_path))


def test_labels_from_probabilities():
    np.testing.assert_array_equal(labels_from_proba(np.array([0.2, 0.7])), [0, 1])
    np.testing.assert_array_equal(labels_from_proba(np.array([[0.2, 0.8], [0.6, 0.4]])), [1, 0])
    np.testing.assert_array_equal(two_class(np.array([0.25])), [[0.75, 0.25]])


def test_sklearn_rows_with_nan_take_the_checked_path_so_imputers_still_work_and_others_refuse():
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from mcc_runtime.handlers import sklearn as handler

    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.9], [1.0, 0.1]])
    y = np.array([0, 1, 0, 1])
    imputing = make_pipeline(SimpleImputer(), LogisticRegression()).fit(x, y)
    plain = LogisticRegression().fit(x, y)
    gap = np.array([[np.nan, 1.0]])
    assert handler.predict(imputing, gap).tolist() == imputing.predict(gap).tolist()
    with pytest.raises(BadRequest, match="NaN"):
        handler.predict(plain, gap)
    assert handler.predict(plain, x).tolist() == plain.predict(x).tolist()


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("model_format", ["pkl", "joblib"])
def test_pickled_scikit_learn_api_estimators_of_the_boosting_frameworks(tmp_path, wine, framework, model_format):
    import pickle

    import joblib

    module = __import__(framework)
    classifier, regressor = (
        (module.XGBClassifier, module.XGBRegressor)
        if framework == "xgboost"
        else (module.LGBMClassifier, module.LGBMRegressor)
    )
    features, target = wine
    handler = load_handler(framework)
    settings = {"n_estimators": 5, "max_depth": 2, "n_jobs": 1} | ({"verbose": -1} if framework == "lightgbm" else {})
    for estimator in (classifier(**settings).fit(features, target), regressor(**settings).fit(features, target)):
        path = tmp_path / f"{type(estimator).__name__}.{model_format}"
        if model_format == "pkl":
            path.write_bytes(pickle.dumps(estimator))
        else:
            joblib.dump(estimator, path)
        model = handler.load(path, model_format)
        np.testing.assert_array_equal(handler.predict(model, features), estimator.predict(features))
        assert handler.has_proba(model) == hasattr(estimator, "predict_proba")
        if handler.has_proba(model):
            np.testing.assert_array_equal(handler.predict_proba(model, features), estimator.predict_proba(features))
        with pytest.raises(BadRequest, match="13 features"):
            handler.predict(model, features[:, :4])


def test_a_multi_output_network_answers_a_list_per_row(tmp_path, wine):
    import torch

    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(13, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).eval()
    path = tmp_path / "two-outputs.pt"
    torch.jit.save(torch.jit.script(network), str(path))
    handler = load_handler("pytorch")
    rows = wine[0][:5]
    predicted = handler.predict(handler.load(path, "torchscript"), rows)
    with torch.no_grad():
        reference = network(torch.tensor(rows, dtype=torch.float32)).numpy()
    assert predicted.shape == (5, 2)
    np.testing.assert_allclose(predicted, reference, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_handler_tells_the_models_feature_count_where_it_records_one(tmp_path, case):
    handler = load_handler(case.framework)
    model = handler.load(train(case, tmp_path), case.model_format)
    assert handler.feature_count(model) == (None if case.framework == "pytorch" else 13)


def test_declared_feature_names_must_match_the_models_width_at_load(tmp_path, wine_model_file):
    def load(names):
        columns = tuple(Column(name) for name in names)
        (tmp_path / "schema.json").write_text(InputSchema(columns, source="declared").to_json())
        settings = Settings(
            code_dir=tmp_path, model_dir=wine_model_file.parent, handler="sklearn",
            model_filename=wine_model_file.name,
        )  # fmt: skip
        return DefaultHooks(settings).model_fn(str(wine_model_file.parent))

    with pytest.raises(
        ValueError,
        match=r"schema.json does not match the model in .*wine\.joblib: the project "
        r"declares 3 columns \(a, b, c\), but the model takes 13 features per row",
    ):
        load(("a", "b", "c"))
    assert load(tuple(f"f{i}" for i in range(13))) is not None
