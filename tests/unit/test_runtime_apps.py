"""Both web adapters, driven in-process (Flask's test client, Starlette's TestClient)."""

import json

import pytest
from fastapi.testclient import TestClient

from mcc_runtime.apps import fastapi_app, flask_app
from mcc_runtime.service import build_service

from .runtime_fixtures import make_project, settings_for


class FlaskClient:
    def __init__(self, app):
        self.client = app.test_client()

    def request(self, method, path, body=b"", headers=None):
        response = self.client.open(path, method=method, data=body, headers=headers or {})
        return response.status_code, response.headers.get("Content-Type"), response.get_data()


class FastAPIClient:
    def __init__(self, app):
        self.client = TestClient(app)

    def request(self, method, path, body=b"", headers=None):
        response = self.client.request(method, path, content=body, headers=headers or {})
        return response.status_code, response.headers.get("content-type"), response.content


@pytest.fixture(scope="module")
def service(tmp_path_factory, wine_model_file):
    return build_service(settings_for(make_project(tmp_path_factory.mktemp("project"), wine_model_file)))


@pytest.fixture(params=["flask", "fastapi"])
def client(request, service):
    if request.param == "flask":
        return FlaskClient(flask_app.create_app(service))
    return FastAPIClient(fastapi_app.create_app(service))


def csv_rows(rows) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def test_ping(client):
    status, _, body = client.request("GET", "/ping")
    assert (status, body) == (200, b"")


def test_invocations(client, wine, wine_model):
    rows = wine[0][:10]
    status, content_type, body = client.request("POST", "/invocations", csv_rows(rows), {"Content-Type": "text/csv"})
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body)["predictions"] == wine_model.predict(rows).tolist()
    status, content_type, body = client.request(
        "POST", "/invocations", csv_rows(rows), {"Content-Type": "text/csv", "Accept": "text/csv"}
    )
    assert content_type.startswith("text/csv")
    assert body.decode().split() == [str(c) for c in wine_model.predict(rows)]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("GET", "/nowhere", b"", {}, 404),
        ("GET", "/invocations", b"", {}, 405),
        ("POST", "/ping", b"", {}, 405),
        ("POST", "/invocations", b"1,2", {"Content-Type": "image/png"}, 415),
        ("POST", "/invocations", b"1,2", {"Content-Type": "text/csv", "Accept": "image/png"}, 406),
        ("POST", "/invocations", b"1,x", {"Content-Type": "text/csv"}, 400),
        ("POST", "/invocations", b"1," * 700_000, {"Content-Type": "text/csv"}, 413),
    ],
)
def test_errors_are_json(client, method, path, body, headers, status):
    got, content_type, answer = client.request(method, path, body, headers)
    assert got == status
    assert content_type.startswith("application/json")
    assert isinstance(json.loads(answer)["error"], str)


DICT_ROWS_PREDICT_FN = """
import numpy as np


def predict_fn(data, model):
    labels = np.asarray(["class_0", "class_1", "class_2"])[model.predict(data)]
    scores = model.predict_proba(data).max(axis=1)
    return [{"label": label, "score": score, "top": [score]} if len(data) == 3 else {"label": label, "score": score}
            for label, score in zip(labels, scores)]
"""


@pytest.fixture(params=["flask", "fastapi"])
def dict_rows_client(request, tmp_path, wine_model_file):
    """A user's predict_fn answering one dict of numpy scalars per row (a list in each, for 3-row requests)."""
    service = build_service(settings_for(make_project(tmp_path, wine_model_file, DICT_ROWS_PREDICT_FN)))
    app = flask_app.create_app(service) if request.param == "flask" else fastapi_app.create_app(service)
    return FlaskClient(app) if request.param == "flask" else FastAPIClient(app)


def test_dict_rows_from_a_users_predict_fn_encode_as_json_jsonlines_and_csv_never_a_repr(
    dict_rows_client, wine, wine_model
):
    rows = wine[0][:2]
    labels = [f"class_{c}" for c in wine_model.predict(rows)]
    scores = wine_model.predict_proba(rows).max(axis=1).tolist()
    records = [{"label": label, "score": score} for label, score in zip(labels, scores, strict=True)]
    answers, body = {}, csv_rows(rows)
    for accept in ("application/json", "application/jsonlines", "text/csv"):
        headers = {"Content-Type": "text/csv", "Accept": accept}
        status, content_type, answers[accept] = dict_rows_client.request("POST", "/invocations", body, headers)
        assert (status, content_type.split(";")[0]) == (200, accept)
    assert json.loads(answers["application/json"]) == {"predictions": records}
    assert [json.loads(line) for line in answers["application/jsonlines"].splitlines()] == records
    assert answers["text/csv"].decode().splitlines() == [f"{r['label']},{r['score']!r}" for r in records]


def test_dict_rows_holding_lists_are_a_406_for_csv_naming_the_json_types(dict_rows_client, wine):
    three = csv_rows(wine[0][:3])
    status, content_type, body = dict_rows_client.request(
        "POST", "/invocations", three, {"Content-Type": "text/csv", "Accept": "text/csv"}
    )
    assert status == 406 and content_type.startswith("application/json")
    assert json.loads(body)["error"] == (
        "text/csv answers hold one number or text per cell; this answer has list values; "
        "ask for application/json or application/jsonlines"
    )
    status, _, body = dict_rows_client.request("POST", "/invocations", three, {"Content-Type": "text/csv"})
    assert status == 200 and len(json.loads(body)["predictions"]) == 3
