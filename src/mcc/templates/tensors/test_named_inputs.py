"""A model of named inputs (several, or text; its signature in code/schema.json), served as the container serves
it: the sample request answered as the hooks answer it in-process and as mcc new recorded it; requests naming an
unknown input or missing one, and malformed JSON, refused, and the server still serving."""

import json

import numpy as np
from mcc_runtime.handlers import load_handler, model_schema
from mcc_runtime.schema import SCHEMA_FILE, InputSchema
from mcc_runtime.smoke import answer_columns, invoke, same_answer


def test_schema_json_records_the_models_own_signature(settings, model):
    recorded = InputSchema.read(settings.code_dir / SCHEMA_FILE).signature
    assert recorded is not None and recorded.inputs
    assert recorded == model_schema(load_handler(settings.handler), model).signature


def test_the_sample_is_answered_as_the_hooks_answer_it_in_process(server, hooks, model, payload):
    body, content_type = payload
    status, _, answer = invoke(server.url, body, content_type, "application/json")
    assert status == 200, answer
    data = hooks.input_fn(hooks.request_body(body, content_type), content_type)
    expected = hooks.output_fn(hooks.predict_fn(data, model), "application/json")
    same_answer(answer_columns(json.loads(answer)), answer_columns(json.loads(expected)))


def test_the_sample_gets_the_answer_recorded_when_the_project_was_generated(server, payload, expected_answer):
    body, content_type = payload
    status, _, answer = invoke(server.url, body, content_type, "application/json")
    assert status == 200, answer
    same_answer(answer_columns(json.loads(answer)), answer_columns(json.loads(expected_answer)))


def test_bad_requests_are_refused_and_the_server_keeps_serving(server, settings, payload):
    first, *others = InputSchema.read(settings.code_dir / SCHEMA_FILE).signature.inputs
    one_row = np.zeros([1 if size is None else size for size in first.shape]).tolist()
    unknown = json.dumps({"inputs": {first.name: one_row, "not_an_input": [0]}}).encode()
    status, _, answer = invoke(server.url, unknown, "application/json", "application/json")
    assert status == 400 and "unknown not_an_input" in json.loads(answer)["error"]
    if others:
        only_first = json.dumps({"inputs": {first.name: one_row}}).encode()
        status, _, answer = invoke(server.url, only_first, "application/json", "application/json")
        assert status == 400 and f"missing {', '.join(spec.name for spec in others)}" in json.loads(answer)["error"]
        assert invoke(server.url, b"1,2,3\n", "text/csv", "application/json")[0] == 415  # CSV cannot name inputs
    assert invoke(server.url, b"{not json", "application/json", "application/json")[0] == 400
    body, content_type = payload
    assert invoke(server.url, body, content_type, "application/json")[0] == 200
