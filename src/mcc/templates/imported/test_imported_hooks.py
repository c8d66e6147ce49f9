"""The hooks of code/inference.py (from a model.tar.gz or --code-dir), called in-process as SageMaker's framework
containers call them, against the same request served by code/serve behind nginx."""

import urllib.request

from mcc_runtime.smoke import invoke


def in_process(hooks, model, body, content_type, accept):
    """What AWS's containers answer: transform_fn, or input_fn -> predict_fn -> output_fn, on a str body for CSV
    and JSON; (body, content type) from a tuple, else the Accept type."""
    data = hooks.request_body(body, content_type)
    if hooks.transform_fn is not None:
        output = hooks.transform_fn(model, data, content_type, accept)
    else:
        output = hooks.output_fn(hooks.predict_fn(hooks.input_fn(data, content_type), model), accept)
    output, answer_type = output if isinstance(output, tuple) else (output, accept)
    return (output.encode() if isinstance(output, str) else bytes(output)), answer_type


def test_the_service_answers_the_sample_payload_as_the_hooks_do(service, hooks, model, payload):
    body, content_type = payload
    reply = service.invoke(body, content_type, "application/json")
    assert reply.status == 200, reply.body
    assert (reply.body, reply.content_type) == in_process(hooks, model, body, content_type, "application/json")


def test_the_server_answers_the_sample_payload_as_the_hooks_do(server, hooks, model, payload):
    with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as response:
        assert response.status == 200
    body, content_type = payload
    status, answer_type, answer = invoke(server.url, body, content_type, "application/json")
    assert status == 200, answer
    expected, expected_type = in_process(hooks, model, body, content_type, "application/json")
    assert answer == expected and answer_type.startswith(expected_type)


def test_a_body_that_is_not_utf8_text_gets_400_and_the_server_keeps_serving(server, payload):
    status, _, _ = invoke(server.url, b"\xff\xfenot,csv\n", "text/csv", "application/json")
    assert status == 400
    body, content_type = payload
    assert invoke(server.url, body, content_type, "application/json")[0] == 200
