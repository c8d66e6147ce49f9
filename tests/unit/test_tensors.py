"""Requests for a model of several named inputs, in every protocol its clients speak, decoded into one array per
input; answers in the request's protocol; every error naming the input, what it takes and what was sent."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from mcc_runtime import codecs, tensors
from mcc_runtime.errors import BadRequest, UnsupportedMediaType
from mcc_runtime.schema import InputSchema
from mcc_runtime.signature import Signature, TensorSpec

SIGNATURE = Signature(
    (TensorSpec("features", "float32", (None, 3)), TensorSpec("category", "int64", (None,))),
    (TensorSpec("score", "float32", (None, 1)), TensorSpec("label", "int64", (None,))),
)
FEATURES = [[0.5, 1.0, -2.0], [3.0, 0.25, 4.0]]
CATEGORY = [2, 7]


def decoded(body: bytes, content_type: str = codecs.JSON) -> tensors.NamedInputs:
    return tensors.decode(body, content_type, SIGNATURE)


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


ROWS = [{"features": f, "category": c} for f, c in zip(FEATURES, CATEGORY, strict=True)]
BODIES = {
    "TF Serving rows": (json.dumps({"instances": ROWS}).encode(), codecs.JSON, tensors.ROWS),
    "bare rows": (json.dumps(ROWS).encode(), codecs.JSON, tensors.ROWS),
    "JSON Lines rows": ("".join(json.dumps(r) + "\n" for r in ROWS).encode(), codecs.JSONLINES, tensors.ROWS),
    "TF Serving columnar": (
        json.dumps({"inputs": {"features": FEATURES, "category": CATEGORY}}).encode(),
        codecs.JSON,
        tensors.COLUMNAR,
    ),
    "Open Inference Protocol": (
        json.dumps(
            {
                "inputs": [
                    {
                        "name": "features",
                        "shape": [2, 3],
                        "datatype": "FP32",
                        "data": [v for row in FEATURES for v in row],
                    },
                    {"name": "category", "shape": [2], "datatype": "INT64", "data": CATEGORY},
                ]
            }
        ).encode(),
        codecs.JSON,
        tensors.OPEN_INFERENCE,
    ),
    "NPZ": (npz(features=np.array(FEATURES), category=np.array(CATEGORY)), codecs.NPZ, tensors.ROWS),
}


@pytest.mark.parametrize("protocol", list(BODIES))
def test_every_protocol_decodes_to_one_array_per_input_in_its_dtype(protocol):
    body, content_type, spoken = BODIES[protocol]
    inputs = decoded(body, content_type)
    assert list(inputs) == ["features", "category"] and inputs.protocol == spoken
    assert inputs["features"].dtype == np.float32 and inputs["features"].tolist() == FEATURES
    assert inputs["category"].dtype == np.int64 and inputs["category"].tolist() == CATEGORY


def answer(protocol: str, accept: str = codecs.JSON):
    outputs = tensors.NamedOutputs(
        {"score": np.array([[1.5], [-0.5]], np.float32), "label": np.array([1, 0])}, protocol
    )
    return tensors.encode(outputs, accept)


def test_answers_speak_the_requests_protocol():
    assert json.loads(answer(tensors.ROWS)) == {
        "predictions": [{"score": [1.5], "label": 1}, {"score": [-0.5], "label": 0}]
    }
    assert json.loads(answer(tensors.COLUMNAR)) == {"outputs": {"score": [[1.5], [-0.5]], "label": [1, 0]}}
    assert json.loads(answer(tensors.OPEN_INFERENCE)) == {
        "model_name": "model",
        "outputs": [
            {"name": "score", "datatype": "FP32", "shape": [2, 1], "data": [1.5, -0.5]},
            {"name": "label", "datatype": "INT64", "shape": [2], "data": [1, 0]},
        ],
    }
    assert answer(tensors.ROWS, codecs.CSV) == b"1.5,1\n-0.5,0\n"
    assert answer(tensors.ROWS, codecs.JSONLINES).splitlines() == [
        b'{"score":[1.5],"label":1}',
        b'{"score":[-0.5],"label":0}',
    ]
    one = tensors.NamedOutputs({"score": np.array([2.0, 3.0])}, tensors.COLUMNAR)
    assert json.loads(tensors.encode(one, codecs.JSON)) == {"outputs": [2.0, 3.0]}


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'{"instances": [{"features": [1, 2, 3]}]}', codecs.JSON,
         "row 1: missing category (the model's inputs: features, category)"),
        (b'{"inputs": {"features": [[1, 2, 3]], "category": [1], "colour": [2]}}', codecs.JSON,
         "inputs: unknown colour (the model's inputs: features, category)"),
        (b'{"inputs": {"features": [[1, 2]], "category": [1]}}', codecs.JSON,
         "input features: float32[?, 3]: dimension 1 is 2, it must be 3; sent int64[1, 2]"),
        (b'{"inputs": {"features": [1, 2, 3], "category": [1]}}', codecs.JSON,
         "input features: float32[?, 3]: 1 dimensions sent (int64[3]), it takes 2"),
        (b'{"inputs": {"features": [["a", "b", "c"]], "category": [1]}}', codecs.JSON,
         "input features: float32[?, 3]: the values are text; sent text[1, 3]"),
        (b'{"inputs": {"features": [[1, 2, 3]], "category": [1.5]}}', codecs.JSON,
         "input category: int64[?]: the values are decimals; sent float64[1]"),
        (b'{"inputs": {"features": [[1, 2, 3], [4, 5, 6]], "category": [1]}}', codecs.JSON,
         "the inputs have different numbers of rows (features 2, category 1); each row needs every input"),
        (b'{"inputs": [{"name": "features", "shape": [1, 3], "datatype": "FP32", "data": [1, 2]}]}', codecs.JSON,
         "input 'features': data does not fill shape [1, 3] of FP32"),
        (b'{"inputs": [{"name": "features", "shape": [1, 3], "datatype": "COMPLEX", "data": []}]}', codecs.JSON,
         "input 'features': datatype 'COMPLEX' is not one of FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, "
         "BOOL, BYTES"),
        (b'{"rows": []}', codecs.JSON, 'send {"instances": [{input: value, ...}, ...]}'),
        (b"PK garbage", codecs.NPZ, "the body is not an NPZ archive of arrays (numpy.savez)"),
    ],
)  # fmt: skip
def test_bad_requests_are_a_400_naming_the_input_what_it_takes_and_what_was_sent(body, content_type, message):
    with pytest.raises(BadRequest) as raised:
        decoded(body, content_type)
    assert raised.value.message.startswith(message), raised.value.message


def test_csv_and_npy_are_refused_with_the_types_that_name_inputs():
    with pytest.raises(UnsupportedMediaType) as raised:
        decoded(b"1,2,3,4\n", codecs.CSV)
    assert raised.value.message == (
        "this model takes 2 named inputs (features, category): send application/json, application/jsonlines, "
        "application/x-npz naming them, not text/csv"
    )


def test_the_signature_travels_in_schema_json_and_marks_named_inputs():
    schema = InputSchema(signature=SIGNATURE, source="model")
    assert schema.tensors and not InputSchema(signature=Signature(SIGNATURE.inputs[:1])).tensors
    again = InputSchema.from_dict(json.loads(schema.to_json()))
    assert again == schema and again.signature.inputs[0].shown == "features: float32[?, 3]"


def test_an_onnx_graph_of_one_text_input_takes_one_text_per_row(tmp_path):
    """A graph whose one input is tensor(string) loads (it used to be refused) and takes texts in CSV, JSON and
    JSON Lines; a number where a text belongs is named."""
    from mcc_runtime.service import build_service
    from tests.support.graphs import VOCABULARY, text_lookup_onnx

    from .runtime_fixtures import ONNX_SERVING, make_project, settings_for

    graph = tmp_path / "lookup.onnx"
    text_lookup_onnx(graph)
    service = build_service(settings_for(make_project(tmp_path / "p", graph, **ONNX_SERVING)))
    expected = [VOCABULARY.index("blue"), -1, VOCABULARY.index("red")]
    for body, content_type in [
        (b'blue\n"navy, dark"\nred\n', codecs.CSV),
        (json.dumps({"instances": ["blue", "navy, dark", "red"]}).encode(), codecs.JSON),
        (b'"blue"\n"navy, dark"\n"red"\n', codecs.JSONLINES),
    ]:
        reply = service.invoke(body, content_type, codecs.JSON)
        assert (reply.status, json.loads(reply.body)) == (200, {"predictions": expected})
    refused = service.invoke(json.dumps({"instances": ["blue", 3]}).encode(), codecs.JSON, codecs.JSON)
    assert refused.status == 400
    assert json.loads(refused.body)["error"] == "input colour: string[?]: not every value is text; sent text[2]"


def test_a_csv_header_names_the_models_outputs():
    outputs = tensors.NamedOutputs({"score": np.array([[0.5], [1.5]], np.float32), "label": np.array([1, 0])})
    assert tensors.encode(outputs, codecs.CSV_HEADER) == b"score,label\n0.5,1\n1.5,0\n"
    only = tensors.NamedOutputs({"index": np.array([2, -1])})
    assert tensors.encode(only, codecs.CSV_HEADER) == b"index\n2\n-1\n"
    assert tensors.encode(only, codecs.CSV) == b"2\n-1\n"
