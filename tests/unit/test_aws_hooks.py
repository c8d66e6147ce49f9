"""inference.py files written for AWS's SageMaker framework containers run unchanged: the types input_fn gets,
transform_fn, what output_fn may return, the default Accept, the request context and the status codes
(sagemaker-inference-toolkit's transformer.py and the scikit-learn container's handler_service.py)."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import textwrap

import numpy as np
import pytest

from mcc_runtime.hooks import HookError, load_hooks
from mcc_runtime.service import build_service
from tests.support.aws_hooks import AWS_STYLE, TRANSFORM_STYLE

from .runtime_fixtures import make_project, settings_for


@pytest.fixture(autouse=True)
def _forget_user_module():
    yield
    sys.modules.pop("inference", None)


def in_process(code):
    """The user's module imported on its own, to call its hooks as AWS's containers would."""
    spec = importlib.util.spec_from_file_location("aws_inference", code / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def csv_text(rows) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)


def test_an_aws_style_input_fn_gets_str_for_csv_and_json_and_bytes_for_npy(tmp_path, wine_model_file, wine):
    code = make_project(tmp_path, wine_model_file, AWS_STYLE)
    service, aws = build_service(settings_for(code)), in_process(code)
    model = aws.model_fn(str(code.parent / "model"))
    rows = wine[0][:20]
    reply = service.invoke(csv_text(rows).encode(), "text/csv", "application/json")
    assert reply.status == 200 and reply.content_type == "application/json"
    expected = aws.output_fn(aws.predict_fn(aws.input_fn(csv_text(rows), "text/csv"), model), "application/json")
    assert reply.body == expected.encode()
    body = json.dumps({"instances": rows.tolist()})
    reply = service.invoke(body.encode(), "application/json; charset=utf-8", "text/csv")
    assert (reply.status, reply.content_type) == (200, "text/csv")
    answer, answer_type = aws.output_fn(aws.predict_fn(aws.input_fn(body, "application/json"), model), "text/csv")
    assert reply.body == answer.encode() and answer_type == "text/csv"
    buffer = io.BytesIO()
    np.save(buffer, rows)
    reply = service.invoke(buffer.getvalue(), "application/x-npy", None)
    assert reply.status == 200 and json.loads(reply.body)["scores"] == model.predict_proba(rows).tolist()


def test_a_missing_or_any_accept_gets_the_default_accept(tmp_path, wine_model_file, wine):
    code = make_project(tmp_path, wine_model_file, AWS_STYLE)
    body = csv_text(wine[0][:3]).encode()
    for accept in (None, "*/*"):
        reply = build_service(settings_for(code)).invoke(body, "text/csv", accept)
        assert reply.content_type == "application/json" and "scores" in json.loads(reply.body)
        sys.modules.pop("inference", None)
    service = build_service(settings_for(code, SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT="text/csv"))
    reply = service.invoke(body, "text/csv", None)
    assert reply.content_type == "text/csv" and len(reply.body.decode().splitlines()) == 3


def test_a_users_output_fn_gets_the_accept_type_as_sent(tmp_path, wine_model_file, wine):
    code = make_project(tmp_path, wine_model_file, AWS_STYLE)
    reply = build_service(settings_for(code)).invoke(csv_text(wine[0][:2]).encode(), "text/csv", "text/x-scores")
    assert reply.status == 200 and reply.content_type == "text/x-scores"  # AWS: not a tuple -> the accept type


def test_transform_fn_replaces_the_three_hooks_and_gets_the_context(tmp_path, wine_model_file, wine, wine_model):
    code = make_project(tmp_path, wine_model_file, TRANSFORM_STYLE)
    rows = wine[0][:7]
    reply = build_service(settings_for(code)).invoke(csv_text(rows).encode(), "text/csv", None)
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert answer == {
        "labels": wine_model.predict(rows).tolist(),
        "model_dir": str(code.parent / "model"),
        "accept": "application/json",
    }


def test_transform_fn_with_input_fn_is_refused_at_start(tmp_path, wine_model_file):
    source = TRANSFORM_STYLE + "\n\ndef input_fn(body, content_type):\n    return body\n"
    code = make_project(tmp_path, wine_model_file, source)
    with pytest.raises(HookError, match="defines transform_fn and input_fn"):
        load_hooks(settings_for(code))


def test_a_hook_with_the_wrong_number_of_arguments_is_refused_at_start(tmp_path, wine_model_file):
    code = make_project(tmp_path, wine_model_file, "def predict_fn(data):\n    return data\n")
    with pytest.raises(HookError, match="predict_fn takes 1 arguments; it must take 2"):
        load_hooks(settings_for(code))


def test_errors_carrying_a_status_code_answer_with_it(tmp_path, wine_model_file, wine):
    source = textwrap.dedent("""
        class UnsupportedFormatError(Exception):  # as sagemaker_inference.errors defines it
            def __init__(self, content_type):
                self.status_code, self.message = 415, f"Content type {content_type} is not supported"
                super().__init__(self.message)


        def input_fn(input_data, content_type):
            raise UnsupportedFormatError(content_type)
    """)
    code = make_project(tmp_path, wine_model_file, source)
    service = build_service(settings_for(code))
    reply = service.invoke(b"1,2\n", "text/csv", None)
    assert reply.status == 415 and json.loads(reply.body) == {"error": "Content type text/csv is not supported"}
    assert service.invoke(b"\xff\xfe1,2\n", "text/csv", None).status == 400  # not UTF-8: before input_fn
