import json
import logging
import pickle
import sys
import textwrap

import joblib
import numpy as np
import pytest

from mcc_runtime.defaults import find_model_artifact
from mcc_runtime.handlers import load_handler
from mcc_runtime.hooks import load_hooks
from mcc_runtime.service import InferenceService, build_service

from .runtime_fixtures import make_project, settings_for


@pytest.fixture(autouse=True)
def _forget_user_module():
    yield
    sys.modules.pop("inference", None)


@pytest.fixture
def service(tmp_path, wine_model_file):
    return build_service(settings_for(make_project(tmp_path, wine_model_file)))


def csv_of(rows) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def test_predictions_equal_model_predict(service, wine, wine_model):
    rows = wine[0][:100]
    reply = service.invoke(csv_of(rows), "text/csv", None)
    assert reply.status == 200 and reply.content_type == "application/json"
    assert json.loads(reply.body)["predictions"] == wine_model.predict(rows).tolist()
    reply = service.invoke(json.dumps({"instances": rows.tolist()}).encode(), "application/json", "text/csv")
    assert reply.content_type == "text/csv"
    assert [int(x) for x in reply.body.split()] == wine_model.predict(rows).tolist()


def test_ping_is_503_until_the_model_is_loaded(tmp_path, wine_model_file, wine):
    settings = settings_for(make_project(tmp_path, wine_model_file))
    service = InferenceService(
        load_hooks(settings), settings.model_dir, settings.max_payload_bytes, settings.worker_timeout_s
    )
    assert service.ping().status == 503
    assert service.invoke(csv_of(wine[0][:1]), "text/csv", None).status == 503
    service.load()
    assert service.ping().status == 200


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"1,2,3\n", "text/csv", None, 400, "rows have 3 values, but the model takes 13"),
        (b",".join([b"nan"] * 13), "text/csv", None, 400, "the model rejected the input"),
        (b"1,2", "application/xml", None, 415, "unsupported Content-Type application/xml"),
        (b"1,2", "text/csv", "application/xml", 406, "available: application/json, text/csv"),
        (b"1," * 600_000, "text/csv", None, 413, "exceeds the limit"),
        (b"", "text/csv", None, 400, "empty"),
    ],
)
def test_bad_requests_get_4xx_json_and_the_service_keeps_serving(
    service, wine, body, content_type, accept, status, message
):
    reply = service.invoke(body, content_type, accept)
    assert reply.status == status
    assert reply.content_type == "application/json"
    assert message in json.loads(reply.body)["error"]
    assert service.invoke(csv_of(wine[0][:2]), "text/csv", None).status == 200


def test_oversize_is_rejected_from_the_declared_length(service):
    assert service.reject_oversize(None) is None
    assert service.reject_oversize(1024) is None
    assert service.reject_oversize(service.max_payload_bytes + 1).status == 413


USER_HOOKS = textwrap.dedent(
    """
    import numpy as np
    from mcc_runtime import defaults
    from mcc_runtime.errors import BadRequest

    OUTPUT_CONTENT_TYPES = ("application/json", "text/plain")

    def input_fn(request_body, content_type):
        if content_type == "text/plain":
            raise BadRequest("plain text is not rows")
        return defaults.input_fn(request_body, content_type)

    def predict_fn(data, model):
        if data[0, 0] < 0:
            raise RuntimeError("a bug in user code")
        return model.predict_proba(data)

    def output_fn(prediction, accept):
        if len(prediction) == 2:
            return {"not": "bytes"}
        if accept == "text/plain":
            return "classes: " + " ".join(str(int(np.argmax(p))) for p in prediction), "text/plain"
        return defaults.output_fn(prediction, accept)
    """
)


def test_inference_py_overrides_hooks_and_keeps_the_defaults_it_does_not_define(
    tmp_path, wine_model_file, wine, wine_model, caplog
):
    service = build_service(settings_for(make_project(tmp_path, wine_model_file, USER_HOOKS)))
    rows = wine[0][:3]
    reply = service.invoke(csv_of(rows), "text/csv", None)
    assert np.array_equal(np.array(json.loads(reply.body)["predictions"]), wine_model.predict_proba(rows))
    reply = service.invoke(csv_of(rows), "text/csv", "text/plain")
    assert (reply.status, reply.content_type) == (200, "text/plain")
    assert reply.body.decode() == "classes: " + " ".join(str(c) for c in wine_model.predict(rows))
    assert service.invoke(b"x", "text/plain", None).status == 400
    with caplog.at_level(logging.ERROR, logger="mcc_runtime"):
        reply = service.invoke(b"-1" + b",1" * 12, "text/csv", None)
    assert reply.status == 500
    assert json.loads(reply.body) == {"error": "internal server error; see the container logs"}
    assert "a bug in user code" in caplog.text
    assert service.invoke(csv_of(rows[:2]), "text/csv", None).status == 500
    assert "output_fn returned dict" in caplog.text
    assert service.invoke(csv_of(rows), "text/csv", None).status == 200


def test_find_model_artifact(tmp_path):
    (tmp_path / "a.joblib").write_bytes(b"")
    assert find_model_artifact(tmp_path, "a.joblib", (".joblib",)) == tmp_path / "a.joblib"
    assert find_model_artifact(tmp_path, "renamed.joblib", (".joblib",)) == tmp_path / "a.joblib"
    (tmp_path / "b.pkl").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="several model artifacts"):
        find_model_artifact(tmp_path, None, (".joblib", ".pkl"))
    with pytest.raises(FileNotFoundError, match="no model artifact"):
        find_model_artifact(tmp_path, None, (".onnx",))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_model_artifact(tmp_path / "missing", None, (".pkl",))


def test_the_artifact_is_found_one_folder_down_or_by_a_whole_name_and_the_error_lists_what_is_there(tmp_path):
    """A model.tar.gz packed from a folder (model/model.joblib) or by SageMaker's XGBoost (xgboost-model)."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.joblib").write_bytes(b"")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "helper.joblib").write_bytes(b"")  # an SDK archive's code/ is not the model
    assert find_model_artifact(tmp_path, "model.joblib", (".joblib",)) == tmp_path / "model" / "model.joblib"
    (tmp_path / "xgboost-model").write_bytes(b"")
    assert find_model_artifact(tmp_path, None, ("xgboost-model", ".ubj")) == tmp_path / "xgboost-model"
    with pytest.raises(FileNotFoundError, match=r"no model artifact \*\.onnx in .* \(found: model/model.joblib, "
                                                r"xgboost-model\)"):  # fmt: skip
        find_model_artifact(tmp_path, None, (".onnx",))


def test_sklearn_handler_loads_pickle_and_joblib_files(tmp_path, wine_model, wine_model_file, wine):
    handler = load_handler("sklearn")
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(wine_model))
    for path in (pickled, wine_model_file):
        model = handler.load(path)
        assert handler.predict(model, wine[0][:5]).tolist() == wine_model.predict(wine[0][:5]).tolist()
    not_a_model = tmp_path / "dict.pkl"
    not_a_model.write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(TypeError, match="has no predict"):
        handler.load(not_a_model)


def test_unknown_handler_is_refused():
    with pytest.raises(ValueError, match="no handler named 'nope'"):
        load_handler("nope")
    with pytest.raises(ValueError, match="invalid handler name"):
        load_handler("../etc")


@pytest.fixture(scope="module")
def multi_output_models(wine):
    """Two targets per row: the wine class and whether it is not class 0 (3 and 2 classes: ragged); and two
    yes/no labels (multilabel: 2 classes each)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = wine
    fit = lambda targets: MultiOutputClassifier(  # noqa: E731
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    ).fit(features, np.column_stack(targets))
    return {"ragged": fit([target, target > 0]), "multilabel": fit([target == 0, target == 2])}


@pytest.mark.parametrize("kind", ["ragged", "multilabel"])
def test_a_multi_output_classifier_answers_one_probability_entry_per_row_aligned_with_its_labels(
    tmp_path, multi_output_models, wine, kind
):
    model = multi_output_models[kind]
    path = tmp_path / "multi.joblib"
    joblib.dump(model, path)
    service = build_service(settings_for(make_project(tmp_path / "project", path), MCC_PREDICT_OUTPUT="both"))
    rows = wine[0][55:62]  # rows of classes 0 and 1
    reply = service.invoke(csv_of(rows), "text/csv", "application/json")
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert answer["predictions"] == model.predict(rows).tolist()
    per_output = model.predict_proba(rows)
    assert answer["probabilities"] == [[p[row].tolist() for p in per_output] for row in range(len(rows))]
    reply = service.invoke(csv_of(rows), "text/csv", "text/csv")
    if kind == "multilabel":  # labels, then each label's class probabilities, side by side
        labels, flat = model.predict(rows).tolist(), [np.concatenate([p[row] for p in per_output]) for row in range(7)]
        expected = [",".join(map(str, [*labels[row], *flat[row].tolist()])) for row in range(len(rows))]
        assert reply.body.decode().splitlines() == expected
    else:  # the outputs have different class counts: no one scalar per cell
        assert reply.status == 406 and "ask for application/json" in json.loads(reply.body)["error"]


def test_json_probabilities_name_their_classes_and_the_bare_array_stays_as_aws_answers(tmp_path, wine):
    from sklearn.linear_model import LogisticRegression

    features, target = wine
    names = np.array(["barolo", "grignolino", "barbera"])[target]
    model = LogisticRegression(max_iter=5000).fit(features, names)
    path = tmp_path / "named.joblib"
    joblib.dump(model, path)
    rows = features[:4]
    both = build_service(settings_for(make_project(tmp_path / "both", path), MCC_PREDICT_OUTPUT="both"))
    answer = json.loads(both.invoke(csv_of(rows), "text/csv", "application/json").body)
    assert answer["classes"] == model.classes_.tolist() == ["barbera", "barolo", "grignolino"]
    assert answer["predictions"] == model.predict(rows).tolist()
    np.testing.assert_allclose(answer["probabilities"], model.predict_proba(rows))  # columns in classes' order
    proba = build_service(settings_for(make_project(tmp_path / "proba", path), MCC_PREDICT_OUTPUT="proba"))
    assert list(json.loads(proba.invoke(csv_of(rows), "text/csv", "application/json").body)) == [
        "probabilities",
        "classes",
    ]
    bare = build_service(
        settings_for(make_project(tmp_path / "bare", path), MCC_PREDICT_OUTPUT="both", MCC_JSON_RESPONSE="array")
    )
    rows_answer = json.loads(bare.invoke(csv_of(rows), "text/csv", "application/json").body)
    assert [sorted(row) for row in rows_answer] == [["prediction", "probabilities"]] * 4  # unchanged
    csv = both.invoke(csv_of(rows), "text/csv", "text/csv").body.decode().splitlines()
    assert len(csv) == 4 and "barbera" not in ",".join(c.split(",", 1)[1] for c in csv)  # no classes column


def test_a_model_without_class_names_answers_the_column_indices(tmp_path, wine):
    import xgboost

    features, target = wine
    booster = xgboost.train({"objective": "multi:softprob", "num_class": 3}, xgboost.DMatrix(features, target), 5)
    path = tmp_path / "model.json"
    booster.save_model(path)
    code = make_project(tmp_path / "p", path, handler="xgboost", model_filename="model.json",
                        model_extensions=[".json"], model_format="json")  # fmt: skip
    service = build_service(settings_for(code, MCC_PREDICT_OUTPUT="both"))
    answer = json.loads(service.invoke(csv_of(features[:3]), "text/csv", "application/json").body)
    assert answer["classes"] == [0, 1, 2]
    assert answer["predictions"] == np.argmax(answer["probabilities"], axis=1).tolist()
