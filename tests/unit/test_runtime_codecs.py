import io
import json

import numpy as np
import pytest

from mcc_runtime import codecs
from mcc_runtime.errors import BadRequest, NotAcceptable, UnsupportedMediaType
from mcc_runtime.schema import Column, InputSchema
from tests.support import recordio as recordio_support


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ""),
        ("text/csv", "text/csv"),
        ("Text/CSV; charset=utf-8", "text/csv"),
        ("  application/json ;x=1", "application/json"),
    ],
)
def test_media_type_drops_parameters_and_case(header, expected):
    assert codecs.media_type(header) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("application/*", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("text/csv;q=0.2, application/json;q=0.9", "application/json"),
        ("image/png, text/csv", "text/csv"),
        ("TEXT/CSV", "text/csv"),
        ("text/csv; header=present", "text/csv;header=present"),
        ("text/csv;charset=utf-8;header=Present", "text/csv;header=present"),
        ("text/csv;header=absent", "text/csv"),
    ],
)
def test_negotiate_picks_the_preferred_supported_type(accept, expected):
    assert codecs.negotiate(accept) == expected


@pytest.mark.parametrize("accept", ["image/png", "text/csv;q=0", "application/xml, text/html"])
def test_negotiate_refuses_what_it_cannot_produce(accept):
    with pytest.raises(NotAcceptable) as raised:
        codecs.negotiate(accept)
    assert raised.value.status == 406
    assert "application/json" in raised.value.message


def test_csv_rows_decode_to_a_float_matrix():
    data = codecs.decode(b"1,2,3\r\n4.5, 5e-3 ,-6\n\n", "text/csv")
    np.testing.assert_array_equal(data, [[1, 2, 3], [4.5, 0.005, -6]])
    assert data.dtype == np.float64


def test_many_numeric_rows_take_numpys_reader_and_decode_as_cell_by_cell_does(rng, monkeypatch):
    rows = rng.normal(size=(50, 13)) * 10.0 ** rng.integers(-5, 6, size=(50, 13))
    lines = [",".join(repr(float(v)) for v in row) for row in rows]
    lines[7] = lines[7].replace(",", ", ")  # spaces around values, as spreadsheets write them
    body = ("\r\n".join(lines) + "\n\n").encode()
    fast = codecs.decode(body, "text/csv")
    assert codecs._numeric_csv(body.decode(), lines, InputSchema()) is not None  # the one-pass reader took it
    monkeypatch.setattr(codecs, "NUMERIC_CSV_MIN_ROWS", 10**9)
    np.testing.assert_array_equal(fast, codecs.decode(body, "text/csv"))
    np.testing.assert_array_equal(fast, rows)
    assert fast.dtype == np.float64 and fast.shape == (50, 13)


@pytest.mark.parametrize(
    ("body", "width", "message"),
    [
        (b"1,2,3\n4,5,6\n7,8\n9,1,2\n", None, "row 3 has 2 values, but row 1 has 3"),
        (b"1,2\n3,4\n5,abc\n6,7\n", None, "row 3, column 2: 'abc' is not a number"),
        (b"1,2\n3,4\n5,#6\n6,7\n", None, "row 3, column 2: '#6' is not a number"),  # no comment character
        (b"1,2\n3,4\n5,6\n7,8\n", 3, "rows have 2 values, but the model takes 3"),
        (b"a,b,c\n3,4,5\n5,6,7\n7,8,9\n", None, "this model declares no column names"),
    ],
)
def test_many_rows_that_numpy_cannot_read_are_explained_as_one_row_is(body, width, message):
    with pytest.raises(BadRequest) as raised:
        codecs.decode(body, "text/csv", InputSchema(width=width))
    assert message in raised.value.message


def test_many_rows_with_a_missing_value_keep_the_models_rule():
    refused = InputSchema((Column("a", missing=False), Column("b")))
    with pytest.raises(BadRequest, match="row 3, column 'a'"):
        codecs.decode(b"1,2\n3,4\nnan,6\n7,8\n", "text/csv", refused)
    allowed = codecs.decode(b"1,2\n3,4\n5,\n7,8\n", "text/csv", InputSchema((Column("a"), Column("b"))))
    assert np.isnan(allowed[2, 1]) and allowed[3, 0] == 7


def named(*names: str) -> InputSchema:
    return InputSchema(tuple(Column(name) for name in names))


def test_csv_with_quoted_numbers_decodes():
    np.testing.assert_array_equal(codecs.decode(b'"1","2"\n', "text/csv"), [[1, 2]])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"1,2,3\n4,5\n", "row 2 has 2 values, but row 1 has 3"),
        (b"1,2\n3,abc\n", "row 2, column 2: 'abc' is not a number"),
        (b"\n \n", "the request body is empty"),
        (b"\xff\xfe1,2", "not UTF-8"),
    ],
)
def test_bad_csv_is_a_400_that_says_why(body, message):
    with pytest.raises(BadRequest) as raised:
        codecs.decode(body, "text/csv")
    assert message in raised.value.message


@pytest.mark.parametrize(
    "body",
    [b'{"instances": [[1, 2], [3, 4]]}', b'{"inputs": [[1, 2], [3, 4]]}', b"[[1, 2], [3, 4]]"],
)
def test_json_shapes_decode_to_rows(body):
    np.testing.assert_array_equal(codecs.decode(body, "application/json"), [[1, 2], [3, 4]])


def test_a_flat_json_list_is_one_row():
    assert codecs.decode(b"[1, 2, 3]", "application/json").shape == (1, 3)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"rows": [[1]]}',
        b"[]",
        b'"text"',
        b"[[1, 2], [3]]",
        b'[["a", "b"]]',
        b"[[[1], [2]]]",
        b"[[]]",
        b"[NaN]",
        b"[1e400]",
        b"[" + b"1" * 400 + b"]",
        b'[{"a": 1}]',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_bad_json_is_a_400(body):
    with pytest.raises(BadRequest):
        codecs.decode(body, "application/json")


@pytest.mark.parametrize("content_type", ["", "application/x-www-form-urlencoded", "image/png"])
def test_unsupported_content_type_is_a_415(content_type):
    with pytest.raises(UnsupportedMediaType) as raised:
        codecs.decode(b"1,2", content_type)
    assert raised.value.status == 415


def test_empty_body_is_a_400():
    with pytest.raises(BadRequest):
        codecs.decode(b"", "text/csv")


def test_json_encoding_round_trips_floats_exactly(rng):
    values = rng.normal(size=(50, 3)) * 10.0 ** rng.integers(-30, 30, size=(50, 3))
    decoded = json.loads(codecs.encode(values, "application/json"))["predictions"]
    assert np.array_equal(np.array(decoded), values)


def test_json_encoding_of_labels_and_objects():
    assert json.loads(codecs.encode(np.array([0, 2, 1]), "application/json")) == {"predictions": [0, 2, 1]}
    labels = np.array(["cat", "dog"], dtype=object)
    assert json.loads(codecs.encode(labels, "application/json")) == {"predictions": ["cat", "dog"]}
    assert json.loads(codecs.encode({"scores": np.array([0.5])}, "application/json")) == {"scores": [0.5]}
    strided = np.arange(10.0)[::2]
    assert json.loads(codecs.encode(strided, "application/json"))["predictions"] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_csv_encoding_one_line_per_prediction(rng):
    values = rng.normal(size=7)
    lines = codecs.encode(values, "text/csv").decode().splitlines()
    assert [float(v) for v in lines] == values.tolist()
    assert codecs.encode(np.array([[1, 2], [3, 4]]), "text/csv") == b"1,2\n3,4\n"
    assert codecs.encode(np.array(["a,b", "c"], dtype=object), "text/csv") == b'"a,b"\nc\n'


def test_encoding_an_unsupported_type_is_a_406():
    with pytest.raises(NotAcceptable):
        codecs.encode([1], "image/png")
    with pytest.raises(NotAcceptable):
        codecs.encode({"a": 1}, "text/csv")


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def test_json_lines_rows_decode_and_objects_need_feature_names():
    np.testing.assert_array_equal(codecs.decode(b"[1, 2]\n\n[3, 4]\n", "application/jsonlines"), [[1, 2], [3, 4]])
    body = b'{"b": 2, "a": 1}\n{"a": 3, "b": 4}\n'
    np.testing.assert_array_equal(codecs.decode(body, "application/jsonlines", named("a", "b")), [[1, 2], [3, 4]])
    with pytest.raises(BadRequest, match="declares no column names"):
        codecs.decode(body, "application/jsonlines")
    with pytest.raises(BadRequest, match="row 1: missing c"):
        codecs.decode(body, "application/jsonlines", named("a", "b", "c"))
    with pytest.raises(BadRequest, match="line 2 is not valid JSON"):
        codecs.decode(b"[1, 2]\n[3,", "application/jsonl")


def test_npy_arrays_decode_and_pickles_are_refused():
    np.testing.assert_array_equal(codecs.decode(npy_bytes([[1, 2], [3, 4]]), "application/x-npy"), [[1, 2], [3, 4]])
    assert codecs.decode(npy_bytes(np.arange(3, dtype=np.int32)), "application/x-npy").shape == (1, 3)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for body in (buffer.getvalue(), b"\x93NUMPY\x01\x00garbage", npy_bytes(np.ones((2, 2, 2))), npy_bytes(["a"])):
        with pytest.raises(BadRequest):
            codecs.decode(body, "application/x-npy")


def test_csv_header_orders_columns_by_the_declared_feature_names():
    body = b"b,a\n2,1\n4,3\n"
    np.testing.assert_array_equal(codecs.decode(body, "text/csv", named("a", "b")), [[1, 2], [3, 4]])
    with pytest.raises(BadRequest, match="declares no column names"):
        codecs.decode(body, "text/csv")
    with pytest.raises(BadRequest, match="columns: missing b; unknown c"):
        codecs.decode(b"a,c\n1,2\n", "text/csv", named("a", "b"))
    with pytest.raises(BadRequest, match="header but no rows"):
        codecs.decode(b"a,b\n", "text/csv", named("a", "b"))
    np.testing.assert_array_equal(codecs.decode(b"1,2\n", "text/csv", named("a", "b")), [[1, 2]])  # header optional


def test_json_rows_may_be_objects_keyed_by_feature_name():
    body = json.dumps({"instances": [{"b": 2, "a": 1}]}).encode()
    np.testing.assert_array_equal(codecs.decode(body, "application/json", named("a", "b")), [[1, 2]])
    np.testing.assert_array_equal(codecs.decode(b'{"a": 1, "b": 2}', "application/json", named("a", "b")), [[1, 2]])


def test_labels_and_probabilities_encode_as_columns_in_every_type():
    answer = {"predictions": np.array([1, 0]), "probabilities": np.array([[0.25, 0.75], [0.5, 0.5]])}
    assert json.loads(codecs.encode(answer, "application/json")) == {
        "predictions": [1, 0],
        "probabilities": [[0.25, 0.75], [0.5, 0.5]],
    }
    assert codecs.encode(answer, "text/csv") == b"1,0.25,0.75\n0,0.5,0.5\n"
    assert codecs.encode(answer, "application/jsonlines").splitlines() == [
        b'{"prediction":1,"probabilities":[0.25,0.75]}',
        b'{"prediction":0,"probabilities":[0.5,0.5]}',
    ]
    assert codecs.encode(np.array([[1.5, 2.0]]), "application/jsonlines") == b"[1.5,2.0]\n"
    with pytest.raises(NotAcceptable, match="holds one array"):
        codecs.encode(answer, "application/x-npy")
    only = {"probabilities": answer["probabilities"]}
    np.testing.assert_array_equal(np.load(io.BytesIO(codecs.encode(only, "application/x-npy"))), only["probabilities"])
    with pytest.raises(NotAcceptable):
        codecs.encode(np.array(["cat"], dtype=object), "application/x-npy")


def test_a_csv_answer_names_its_columns_on_a_first_line_when_asked():
    """Accept: text/csv;header=present — labels and per-class probabilities, several outputs of a network, the
    fields of a predict_fn's row objects in their first row's order."""
    answer = {"predictions": np.array(["cat", "dog"]), "probabilities": np.array([[0.25, 0.75], [0.5, 0.5]])}
    header = codecs.negotiate("text/csv;header=present")
    assert codecs.encode(answer, header) == b"prediction,probability_0,probability_1\ncat,0.25,0.75\ndog,0.5,0.5\n"
    assert codecs.encode(np.array([[1.5, 2.0]]), header) == b"prediction_0,prediction_1\n1.5,2.0\n"
    assert codecs.encode(np.array([3, 4]), header) == b"prediction\n3\n4\n"
    rows = [{"label": "setosa", "score": np.float64(0.875)}, {"score": 0.5, "label": "virginica"}]
    assert codecs.encode(rows, header) == b"label,score\nsetosa,0.875\nvirginica,0.5\n"
    assert codecs.encode(rows, "text/csv") == b"setosa,0.875\nvirginica,0.5\n"  # no header unless asked


ACCEPTING_RECORDIO = (*codecs.INPUT_TYPES, codecs.RECORDIO)


@pytest.mark.parametrize("tensor", ["float32_tensor", "float64_tensor", "int32_tensor"])
def test_recordio_protobuf_records_are_rows(tensor):
    rows = np.array([[1.5, -2.0, 3.25], [0.0, 4.0, -7.5]]) if tensor != "int32_tensor" else np.array([[1, -2, 3]])
    body = recordio_support.dense_records(rows, tensor)
    decoded = codecs.decode(body, codecs.RECORDIO, InputSchema(width=3), ACCEPTING_RECORDIO)
    np.testing.assert_array_equal(decoded, rows.astype(np.float64))


def test_sparse_recordio_records_leave_out_missing_entries():
    rows = np.array([[1.0, np.nan, 3.0, np.nan], [np.nan, 2.0, np.nan, np.nan]])
    decoded = codecs.decode(recordio_support.sparse_records(rows), codecs.RECORDIO, InputSchema(width=4),
                            ACCEPTING_RECORDIO)  # fmt: skip
    np.testing.assert_array_equal(decoded, rows)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"1,2,3\n4,5,6\n", "no record marker at offset 0"),
        (recordio_support.frame([b"\x0a\x05\x0a\x03abc"]), "record 1 has no 'values' feature"),
        (recordio_support.dense_records(np.ones((1, 3)))[:-6], "cut short"),
        (recordio_support.frame([b"\x0a\xff"]), "record 1 is not a valid protobuf Record"),
    ],
)
def test_malformed_recordio_is_a_400_naming_the_record(body, message):
    with pytest.raises(BadRequest, match=message):
        codecs.decode(body, codecs.RECORDIO, InputSchema(width=3), ACCEPTING_RECORDIO)
