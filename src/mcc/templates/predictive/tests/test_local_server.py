"""The project served as the container serves it: code/serve, nginx, the model server, real HTTP."""

import json
import urllib.request

from mcc_runtime.smoke import answer_columns, invoke, same_answer


def test_ping_answers_200(server):
    with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as response:
        assert response.status == 200


def test_sample_payload_gets_the_in_process_predictions(server, hooks, model, payload, assert_same_answer):
    body, content_type = payload
    status, answer_type, answer = invoke(server.url, body, content_type, "application/json")
    assert status == 200, answer
    assert answer_type.startswith("application/json")
    data = hooks.input_fn(hooks.request_body(body, content_type), content_type)
    assert_same_answer(json.loads(answer), hooks.predict_fn(data, model), len(data))


def test_sample_payload_gets_the_answer_recorded_when_the_project_was_generated(server, payload, expected_answer):
    body, content_type = payload
    status, _, answer = invoke(server.url, body, content_type, "application/json")
    assert status == 200, answer
    same_answer(answer_columns(json.loads(answer)), answer_columns(json.loads(expected_answer)))


def test_a_malformed_request_gets_400_and_the_server_keeps_serving(server, payload):
    status, _, answer = invoke(server.url, b"\xff\xfenot,csv\n", "text/csv", "application/json")
    assert status == 400
    assert "error" in json.loads(answer)
    body, content_type = payload
    assert invoke(server.url, body, content_type, "application/json")[0] == 200
