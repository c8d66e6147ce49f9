"""The inference hooks in code/inference.py, called in-process on the sample payload."""

import json

import pytest
from mcc_runtime.errors import BadRequest


def test_hooks_answer_one_row_per_input_row(hooks, model, payload, assert_same_answer):
    body, content_type = payload
    data = hooks.input_fn(hooks.request_body(body, content_type), content_type)
    prediction = hooks.predict_fn(data, model)
    assert_same_answer(json.loads(hooks.output_fn(prediction, "application/json")), prediction, len(data))


def test_rows_with_a_missing_feature_are_rejected(hooks, model, payload):
    body, content_type = payload
    data = hooks.input_fn(hooks.request_body(body, content_type), content_type)
    narrower = data.iloc[:, :-1] if hasattr(data, "iloc") else data[:, :-1]  # a DataFrame, or an array
    with pytest.raises(BadRequest):
        hooks.predict_fn(narrower, model)


def test_malformed_bodies_are_client_errors(service):
    assert service.invoke(b"1,2,not-a-number\n", "text/csv", None).status == 400
    assert service.invoke(b"{not json", "application/json", None).status == 400
    assert service.invoke(b"1,2", "image/png", None).status == 415
    assert service.invoke(b"1,2", "text/csv", "image/png").status == 406
