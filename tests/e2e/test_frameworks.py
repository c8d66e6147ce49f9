"""Every framework and model format of the catalog, end to end: a model trained in a fixture → `mcc new` →
pinned requirements installed (one cached environment per framework) → code/serve behind real nginx →
CSV, JSON, JSON Lines and NPY requests answered with the framework's own in-process predictions;
malformed and wrong-shape input gets a 400 and the server keeps serving."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mcc.checks import check_project
from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.frameworks import CASES, assert_matches, expected_answer, jsonlines_answer, train
from tests.support.projects import own_tests
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

ROWS = slice(40, 65)  # 25 rows of every wine class


def npy(rows: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, rows)
    return buffer.getvalue()


def csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


@pytest.fixture(scope="module", params=CASES, ids=lambda case: case.id)
def generated(request, wine):
    case = request.param
    parent = Path(tempfile.mkdtemp(prefix=f"mcc-{case.framework}-"))
    parent.chmod(0o755)
    model = train(case, parent)
    payload = parent / "payload.csv"
    payload.write_bytes(csv(wine[0][:3]))
    project = parent / "project"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mcc", "new", "--yes", "--project-name", f"wine-{case.framework}"),
            *("--framework", case.framework, "--model-file", str(model), "--sample-payload", str(payload)),
            *("--predict-output", case.predict_output, "--output-dir", str(project)),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    yield case, model, project
    subprocess.run(["rm", "-rf", str(parent)], check=False)


@pytest.fixture(scope="module")
def served(generated):
    case, model, project = generated
    python = project_venv(project)
    with LocalServer(project, python=python, env={"MCC_WORKERS": "1"}) as server:
        yield case, model, project, python, server


def post(server, body: bytes, content_type: str, accept: str = "application/json"):
    return invoke(server.url, body, content_type, accept)


@pytest.mark.parametrize("content_type", ["text/csv", "application/json", "application/jsonlines", "application/x-npy"])
def test_every_content_type_gets_the_in_process_predictions(served, wine, content_type):
    case, model, _, _, server = served
    rows = wine[0][ROWS]
    body = {
        "text/csv": csv(rows),
        "application/json": json.dumps({"instances": rows.tolist()}).encode(),
        "application/jsonlines": b"".join(json.dumps(row).encode() + b"\n" for row in rows.tolist()),
        "application/x-npy": npy(rows),
    }[content_type]
    status, answer_type, answer = post(server, body, content_type)
    assert (status, answer_type) == (200, "application/json"), answer
    assert_matches(case, json.loads(answer), expected_answer(case, model, rows))


def test_one_row_and_every_answer_type(served, wine):
    case, model, _, _, server = served
    row = wine[0][130:131]
    expected = expected_answer(case, model, row)
    status, _, answer = post(server, csv(row), "text/csv")
    assert status == 200
    assert_matches(case, json.loads(answer), expected)
    status, answer_type, answer = post(server, csv(row), "text/csv", "application/jsonlines")
    assert (status, answer_type) == (200, "application/jsonlines")
    assert_matches(case, {k: np.asarray(v) for k, v in jsonlines_answer(answer).items()}, expected)
    status, answer_type, answer = post(server, csv(row), "text/csv", "text/csv")
    assert (status, answer_type) == (200, "text/csv")
    cells = np.array([line.split(",") for line in answer.decode().splitlines()], dtype=np.float64)
    assert cells.shape[0] == 1
    flat = np.concatenate([np.asarray(v, dtype=np.float64).reshape(1, -1) for v in expected.values()], axis=1)
    np.testing.assert_allclose(cells, flat, rtol=1e-5)
    status, answer_type, answer = post(server, csv(row), "text/csv", "application/x-npy")
    if len(expected) == 1:
        assert (status, answer_type) == (200, "application/x-npy")
        (values,) = expected.values()
        np.testing.assert_allclose(np.load(io.BytesIO(answer)), values, rtol=1e-5)
    else:
        assert status == 406 and "error" in json.loads(answer)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"1,2,3\n", "text/csv"),  # wrong shape
        (b"\xff\xfe\x00garbage", "text/csv"),
        (b'{"instances": [[1, 2], [3', "application/json"),
        (b"[1, 2, 3]\n[4, 5", "application/jsonlines"),
        (b"\x93NUMPY garbage", "application/x-npy"),
        (None, "application/x-npy"),  # a valid array of the wrong width
    ],
)
def test_malformed_and_wrong_shape_input_gets_400_and_the_server_keeps_serving(served, wine, body, content_type):
    case, model, _, _, server = served
    body = npy(np.ones((2, 5))) if body is None else body
    status, answer_type, answer = post(server, body, content_type)
    assert status == 400, answer
    assert answer_type.startswith("application/json") and "error" in json.loads(answer)
    rows = wine[0][:3]
    status, _, answer = post(server, csv(rows), "text/csv")
    assert status == 200
    assert_matches(case, json.loads(answer), expected_answer(case, model, rows))


def test_the_projects_own_tests_pass(served):
    _, _, project, python, _ = served
    result = own_tests(project, python)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_static_checks_pass(generated):
    _, _, project = generated
    assert check_project(project, require_linters=True) == []


@pytest.fixture(scope="module")
def named_features_server(wine, tmp_path_factory):
    """An XGBoost project that declares the wine data's feature names, served behind nginx."""
    from sklearn.datasets import load_wine

    case = next(c for c in CASES if c.id == "xgboost-json-both")
    parent = tmp_path_factory.mktemp("named")
    parent.chmod(0o755)
    model = train(case, parent)
    names = [name.replace("/", "_") for name in load_wine().feature_names]
    project = parent / "project"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "wine-named", "--framework", "xgboost"),
            *("--model-file", str(model), "--predict-output", "both", "--feature-names", ",".join(names)),
            *("--no-include-tests", "--output-dir", str(project)),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    with LocalServer(project, python=project_venv(project), env={"MCC_WORKERS": "1"}) as server:
        yield case, model, names, server


def test_declared_feature_names_let_csv_headers_and_json_objects_name_columns_in_any_order(named_features_server, wine):
    case, model, names, server = named_features_server
    rows = wine[0][ROWS]
    expected = expected_answer(case, model, rows)
    order = list(reversed(range(len(names))))
    header = ",".join(names[i] for i in order) + "\n"
    records = [{names[i]: float(row[i]) for i in order} for row in rows]
    bodies = {
        "text/csv": header.encode() + csv(rows[:, order]),  # header row, columns reversed
        "application/json": json.dumps({"instances": records}).encode(),
        "application/jsonlines": b"".join(json.dumps(record).encode() + b"\n" for record in records),
    }
    for content_type, body in bodies.items():
        status, _, answer = post(server, body, content_type)
        assert status == 200, (content_type, answer)
        assert_matches(case, json.loads(answer), expected)
    status, _, answer = post(server, csv(rows), "text/csv")  # the header stays optional
    assert status == 200
    assert_matches(case, json.loads(answer), expected)
    missing = json.dumps({"instances": [{k: v for k, v in records[0].items() if k != names[0]}]}).encode()
    unknown = ("nonsense," + header).encode() + b"1," + csv(rows[:1])
    for body, content_type, message in ((missing, "application/json", names[0]), (unknown, "text/csv", "nonsense")):
        status, _, answer = post(server, body, content_type)
        assert status == 400 and message in json.loads(answer)["error"], answer


def test_xgboost_takes_libsvm_and_sparse_npz_rows_with_left_out_features_missing(named_features_server, wine):
    case, model, _, server = named_features_server
    rows = wine[0][ROWS].copy()
    rows[::3, 4] = np.nan  # left out of the sparse rows: missing, as in XGBoost's own sparse input
    rows[1::4, 0] = np.nan
    lines = [" ".join(["0", *(f"{i}:{v!r}" for i, v in enumerate(row.tolist()) if v == v)]) for row in rows]
    status, answer_type, answer = post(server, "\n".join(lines).encode(), "text/libsvm")
    assert (status, answer_type) == (200, "application/json"), answer
    assert_matches(case, json.loads(answer), expected_answer(case, model, rows))
    status, _, answer = post(server, b"0 3:1.5 99:2.0\n", "text/libsvm")
    assert status == 400 and "feature index 99, but the model takes 13" in json.loads(answer)["error"]
    import scipy.sparse  # the same rows as a SciPy sparse matrix (.npz): XGBoost reads left-out entries as missing

    assert (wine[0] != 0).all()
    sparse = scipy.sparse.csr_matrix(np.nan_to_num(rows, nan=0.0))
    sparse.eliminate_zeros()
    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, sparse)
    status, _, answer = post(server, buffer.getvalue(), "application/x-npz")
    assert status == 200, answer
    assert_matches(case, json.loads(answer), expected_answer(case, model, rows))
