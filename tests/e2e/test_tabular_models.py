"""Models as users train them — fitted on DataFrames with text, category and missing values — end to end:
`mcc new` reads their columns → pinned requirements (pandas included) → code/serve behind real nginx → every
request shape answered exactly as ``model.predict(df)`` / ``predict_proba(df)``; bad fields get a 400 that
names the row, the column, the value and what was expected; the project's own tests and do/test pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcc_runtime.local import LocalServer, free_port
from mcc_runtime.smoke import invoke
from tests.support import tabular
from tests.support.projects import mcc_new, own_tests
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

# name -> (web server, JSON answer shape): both servers and both shapes are covered across the models.
OPTIONS = {
    "churn-pipeline": ("flask", "object"),
    "numeric-by-name": ("fastapi", "array"),
    "hist-gradient-boosting": ("fastapi", "object"),
    "lightgbm-category": ("flask", "array"),
    "xgboost-categorical": ("flask", "object"),
}
ENCODINGS = {
    "csv with header": (tabular.csv_body, "text/csv"),
    "csv without header": (lambda frame: tabular.csv_body(frame, header=False), "text/csv"),
    "json records": (tabular.records_body, "application/json"),
    "json instances": (tabular.instances_body, "application/json"),
    "json split": (tabular.split_body, "application/json"),
    "json lines": (tabular.jsonlines_body, "application/jsonlines"),
}


@dataclass(frozen=True)
class Served:
    model: tabular.Tabular
    project: Path
    python: str
    server: LocalServer
    json_response: str

    def post(self, body: bytes, content_type: str) -> tuple[int, object]:
        status, _, answer = invoke(self.server.url, body, content_type, "application/json")
        return status, json.loads(answer)

    def answer(self, body: bytes, content_type: str) -> tuple[list, np.ndarray]:
        """(labels, probabilities) of a 200 answer in either JSON shape."""
        status, answer = self.post(body, content_type)
        assert status == 200, answer
        if self.json_response == "array":
            return [row["prediction"] for row in answer], np.array([row["probabilities"] for row in answer])
        return answer["predictions"], np.array(answer["probabilities"])


def generate(model: tabular.Tabular, parent: Path, *options: str) -> Path:
    payload = parent / "rows.csv"
    payload.write_bytes(tabular.csv_body(model.rows.head(12)))  # missing values as empty fields
    return mcc_new(
        parent / "project", model.name, *("--framework", model.framework, "--model-file", str(model.path)),
        *("--sample-payload", str(payload), "--predict-output", "both", *options),
    )  # fmt: skip


@pytest.fixture(scope="module", params=list(OPTIONS))
def served(request):
    web_server, json_response = OPTIONS[request.param]
    parent = Path(tempfile.mkdtemp(prefix=f"mcc-{request.param}-"))
    parent.chmod(0o755)
    model = tabular.BUILDERS[request.param](parent)
    project = generate(model, parent, "--web-server", web_server, "--json-response", json_response)
    python = project_venv(project)
    with LocalServer(project, python=python, env={"MCC_WORKERS": "2"}) as server:
        yield Served(model, project, python, server, json_response)
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def assert_same(served: Served, labels: list, probabilities: np.ndarray, frame: pd.DataFrame) -> None:
    """Labels exactly; probabilities exactly for scikit-learn, and for the boosters (float32 inside) the
    positive class exactly and its complement to float32 precision."""
    assert labels == served.model.predict(frame)
    expected = served.model.predict_proba(frame)
    if served.model.framework == "sklearn":
        assert probabilities.tolist() == expected.tolist()
    else:
        assert probabilities[:, 1].tolist() == expected[:, 1].astype(np.float64).tolist()
        np.testing.assert_allclose(probabilities[:, 0], expected[:, 0], rtol=0, atol=1e-7)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_request_shape_gets_exactly_the_in_process_answer(served, encoding):
    make, content_type = ENCODINGS[encoding]
    frame = served.model.rows
    labels, probabilities = served.answer(make(frame), content_type)
    assert_same(served, labels, probabilities, frame)


def test_an_open_inference_request_of_one_tensor_per_column_gets_the_in_process_answer(served):
    """A KServe v2 / MLServer client's DataFrame, through nginx: answered as output tensors."""
    frame = served.model.rows
    status, answer = served.post(tabular.open_inference_body(frame), "application/json")
    assert status == 200, answer
    outputs = {output["name"]: output for output in answer["outputs"]}
    assert list(outputs) == ["predictions", "probabilities"] and outputs["predictions"]["shape"] == [len(frame)]
    probabilities = np.reshape(outputs["probabilities"]["data"], outputs["probabilities"]["shape"])
    assert_same(served, outputs["predictions"]["data"], probabilities, frame)


def test_named_columns_may_come_in_any_order(served):
    frame = served.model.rows
    shuffled = frame[list(reversed(frame.columns))]
    for make, content_type in (ENCODINGS["csv with header"], ENCODINGS["json records"], ENCODINGS["json split"]):
        labels, probabilities = served.answer(make(shuffled), content_type)
        assert_same(served, labels, probabilities, frame)


def test_excels_csv_with_a_byte_order_mark_is_read(served):
    frame = served.model.rows.head(5)
    labels, probabilities = served.answer(b"\xef\xbb\xbf" + tabular.csv_body(frame), "text/csv")
    assert_same(served, labels, probabilities, frame)


def test_missing_and_unknown_columns_are_named(served):
    frame = served.model.rows.head(3)
    first = frame.columns[0]
    status, answer = served.post(tabular.csv_body(frame.drop(columns=[first])), "text/csv")
    assert status == 400 and f"missing {first}" in answer["error"], answer
    status, answer = served.post(tabular.records_body(frame.assign(colour="red")), "application/json")
    assert status == 400 and "row 1: unknown colour" in answer["error"], answer


def test_a_value_of_the_wrong_kind_is_a_400_naming_row_column_value_and_expectation(served):
    body = tabular.csv_body(served.model.rows.head(3)).decode().splitlines()
    header = body[0].split(",")
    cells = body[2].split(",")
    cells[header.index("income")] = "lots"
    status, answer = served.post("\n".join([*body[:2], ",".join(cells)]).encode(), "text/csv")
    assert status == 400
    assert answer["error"] == "row 2, column 'income': 'lots' is not a number"
    assert served.post(tabular.csv_body(served.model.rows.head(3)), "text/csv")[0] == 200  # still serving


def test_the_projects_own_tests_pass(served):
    result = own_tests(served.project, served.python)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_do_test_passes_against_the_running_server(served):
    env = {**os.environ, "PYTHON": served.python}
    result = subprocess.run(
        [str(served.project / "do" / "test"), "--url", served.server.url], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "OK: 12 row(s)" in result.stderr


def test_the_readme_shows_the_models_columns(served):
    readme = (served.project / "README.md").read_text()
    for column in served.model.rows.columns:
        assert f"| `{column}` |" in readme
    schema = json.loads((served.project / "code" / "schema.json").read_text())
    assert [c["name"] for c in schema["columns"]] == list(served.model.rows.columns)
    assert schema["source"] == "model"


# --- one model at a time -------------------------------------------------------------------------------------


def only(name: str):
    """Run a test with the served project of one model (the module fixture is parametrized by model)."""
    return pytest.mark.parametrize("served", [name], indirect=True)


@only("churn-pipeline")
def test_a_text_value_the_encoder_never_saw_is_answered_as_the_model_answers_it(served):
    frame = served.model.rows.head(4).assign(plan=["platinum", "basic", "pro", "enterprise"])
    labels, probabilities = served.answer(tabular.records_body(frame), "application/json")
    assert_same(served, labels, probabilities, frame)


@only("churn-pipeline")
def test_a_missing_value_the_model_cannot_take_is_a_400_naming_row_and_column(served):
    body = b"age,plan,income,region\n41,pro,55.5,eu\n,basic,60.0,us\n"
    status, answer = served.post(body, "text/csv")
    assert status == 400
    assert answer["error"] == (
        "row 2, column 'age': the value is missing, and this model cannot take missing values there (expected a number)"
    )


@only("hist-gradient-boosting")
def test_missing_values_in_every_spelling_reach_a_model_that_takes_them(served):
    frame = pd.DataFrame({"age": [30.0, 50.0, 70.0, 44.0], "income": [np.nan] * 4})
    body = b"age,income\n30,\n50,NA\n70,nan\n44,null\n"
    labels, probabilities = served.answer(body, "text/csv")
    assert_same(served, labels, probabilities, frame)
    labels, probabilities = served.answer(tabular.records_body(frame), "application/json")  # JSON null
    assert_same(served, labels, probabilities, frame)


@pytest.mark.parametrize(
    ("served", "column", "encoding", "unknown", "known"),
    [
        ("lightgbm-category", "plan", "json split", "platinum", "basic, pro, enterprise"),
        ("xgboost-categorical", "region", "json lines", "mars", "eu, us, apac"),
    ],
    indirect=["served"],
)
def test_a_category_is_sent_as_its_text_and_an_unknown_one_is_refused(served, column, encoding, unknown, known):
    frame = served.model.rows.head(6)
    assert frame[column].dtype == "category"  # LightGBM's pandas_categorical, XGBoost's enable_categorical
    make, content_type = ENCODINGS[encoding]
    labels, probabilities = served.answer(make(frame), content_type)
    assert_same(served, labels, probabilities, frame)
    status, answer = served.post(tabular.csv_body(frame.head(1).astype(object).assign(**{column: unknown})), "text/csv")
    assert status == 400
    assert answer["error"] == f"row 1, column '{column}': '{unknown}' is not one of {known}"


# --- names that are not the model's own ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_named():
    parent = Path(tempfile.mkdtemp(prefix="mcc-plain-named-"))
    parent.chmod(0o755)
    yield tabular.plain_named(parent), parent
    subprocess.run(["rm", "-rf", str(parent)], check=False)


@pytest.mark.parametrize("declared", ["tenure,age,income", "a,b,c"])
def test_mcc_new_refuses_names_that_are_not_the_models_own(plain_named, declared):
    model, parent = plain_named
    target = parent / f"refused-{declared.replace(',', '-')}"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "plain", "--model-file", str(model.path)),
            *("--feature-names", declared, "--output-dir", str(target)),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    error = " ".join(result.stderr.split())
    assert f"({declared.replace(',', ', ')}) are not the model's own (age, tenure, income)" in error, error
    assert not target.exists()


def test_a_server_whose_schema_is_not_the_models_refuses_to_start_naming_both_lists(plain_named):
    model, parent = plain_named
    project = generate(model, parent, "--feature-names", "age,tenure,income")
    schema_file = project / "code" / "schema.json"
    schema = json.loads(schema_file.read_text())
    schema["columns"] = [schema["columns"][i] for i in (1, 0, 2)]  # edited by hand: tenure, age, income
    schema_file.write_text(json.dumps(schema))
    env = {**os.environ, "MCC_MODEL_DIR": str(project / "model"), "SAGEMAKER_BIND_TO_PORT": str(free_port())}
    result = subprocess.run(
        [project_venv(project), str(project / "code" / "serve")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    line = next(line for line in result.stderr.splitlines() if "cannot load the model" in line)
    assert "the project's columns (tenure, age, income) are not the model's own (age, tenure, income)" in line
