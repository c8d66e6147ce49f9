"""The Open Inference Protocol (KServe v2, Triton and MLServer clients) for models of rows: one tensor of rows
for an array model, one tensor per column for a DataFrame model (as MLServer's pandas codec sends one); answered
as output tensors, inside a batch too; a user's own output_fn keeps its JSON."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from mcc_runtime import codecs
from mcc_runtime.batching import Dispatcher
from mcc_runtime.service import build_service
from tests.support.tabular import churn_pipeline

from .runtime_fixtures import make_project, settings_for


@pytest.fixture(autouse=True)
def _forget_user_module():
    yield
    sys.modules.pop("inference", None)


def v2(*tensors: tuple[str, str, np.ndarray]) -> bytes:
    inputs = [
        {"name": name, "datatype": datatype, "shape": list(np.shape(data)), "data": np.ravel(data).tolist()}
        for name, datatype, data in tensors
    ]
    return json.dumps({"inputs": inputs}).encode()


def test_an_array_model_takes_one_tensor_of_rows_and_answers_output_tensors(
    tmp_path, wine_model_file, wine_model, wine
):
    service = build_service(settings_for(make_project(tmp_path, wine_model_file), MCC_PREDICT_OUTPUT="both"))
    rows = wine[0][:3]
    reply = service.invoke(v2(("input-0", "FP64", rows)), codecs.JSON, codecs.JSON)
    assert (reply.status, reply.content_type) == (200, "application/json")
    answer = json.loads(reply.body)
    assert answer["model_name"] == "model"
    labels, probabilities = answer["outputs"]
    assert labels == {"name": "predictions", "datatype": "INT64", "shape": [3],
                      "data": wine_model.predict(rows).tolist()}  # fmt: skip
    assert (probabilities["name"], probabilities["datatype"], probabilities["shape"]) == (
        "probabilities",
        "FP64",
        [3, 3],
    )
    np.testing.assert_allclose(np.reshape(probabilities["data"], (3, 3)), wine_model.predict_proba(rows), atol=1e-12)
    one_row = json.loads(service.invoke(v2(("x", "FP32", rows[0])), codecs.JSON, codecs.JSON).body)
    assert one_row["outputs"][0]["data"] == wine_model.predict(rows[:1].astype(np.float32)).tolist()
    plain = service.invoke(json.dumps({"instances": rows.tolist()}).encode(), codecs.JSON, codecs.JSON)
    assert list(json.loads(plain.body)) == ["predictions", "probabilities", "classes"]  # other requests: as before


@pytest.fixture
def churn(tmp_path):
    model = churn_pipeline(tmp_path)
    return model, build_service(settings_for(make_project(tmp_path / "p", model.path)))


def columns_request(frame) -> bytes:
    return v2(
        ("age", "INT64", frame.age.to_numpy()),
        ("plan", "BYTES", frame.plan.to_numpy()),
        ("income", "FP64", frame.income.to_numpy()[:, None]),
        ("region", "BYTES", frame.region.to_numpy()),
    )


def test_a_dataframe_model_takes_one_tensor_per_column(churn):
    model, service = churn
    frame = model.rows.head(6)
    reply = service.invoke(columns_request(frame), codecs.JSON, codecs.JSON)
    (output,) = json.loads(reply.body)["outputs"]
    assert (reply.status, output["shape"], output["data"]) == (200, [6], model.predict(frame))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            v2(("age", "FP128", [1.0])),
            "input 'age': datatype 'FP128' is not one of FP16, FP32, FP64, INT8, INT16, "
            "INT32, INT64, UINT8, BOOL, BYTES",
        ),
        (
            json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [1, 2]}]}).encode(),
            "input 'x': data does not fill shape [2, 3] of FP32 (cannot reshape array of size 2 into shape (2,3))",
        ),
        (
            v2(("age", "INT64", [30, 40]), ("plan", "BYTES", ["pro"])),
            "the columns have different numbers of rows (age 2, plan 1)",
        ),
        (v2(("age", "INT64", [[30, 40]])), "input 'age': shape [1, 2]: a column is [rows] or [rows, 1]"),
        (
            json.dumps({"inputs": [{"name": "age", "shape": [1], "data": [30]}]}).encode(),
            "input 'age': datatype None is not one of FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, BOOL, BYTES",
        ),
    ],
)
def test_a_bad_tensor_is_a_400_naming_it(churn, body, message):
    _, service = churn
    reply = service.invoke(body, codecs.JSON, codecs.JSON)
    assert (reply.status, json.loads(reply.body)["error"]) == (400, message)


def test_requests_in_the_protocol_batch_with_others_and_each_gets_its_own_format(churn):
    model, service = churn
    dispatcher = Dispatcher(service, max_batch_size=16, max_wait_s=0.5)
    frame = model.rows.head(8)
    bodies = [
        (columns_request(frame.iloc[[i]]), codecs.JSON)
        if i % 2
        else (frame.iloc[[i]].to_csv(index=False).encode(), codecs.CSV)
        for i in range(8)
    ]
    with dispatcher.arriving():
        answers = [dispatcher.submit(body, content_type, codecs.JSON) for body, content_type in bodies]
    for i, answer in enumerate(answers):
        body = json.loads(answer.result(10).body)
        got = body["outputs"][0]["data"] if i % 2 else body["predictions"]
        assert got == model.predict(frame.iloc[[i]])
    assert dispatcher.joined_requests == 8


def test_a_users_own_output_fn_gets_plain_json_as_accept(tmp_path, wine_model_file, wine):
    own = "def output_fn(prediction, accept):\n    return accept + ' ' + str(len(prediction)), 'text/plain'\n"
    service = build_service(settings_for(make_project(tmp_path, wine_model_file, own)))
    reply = service.invoke(v2(("x", "FP64", wine[0][:2])), codecs.JSON, codecs.JSON)
    assert (reply.status, reply.body) == (200, b"application/json 2")
