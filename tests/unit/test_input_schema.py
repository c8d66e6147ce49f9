"""`mcc new` and the model's columns: read from the artifact, checked against --feature-names and the sample
payload before anything is written, recorded in code/schema.json, and followed by requirements and samples."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mcc.cli import main
from tests.support import tabular


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tabular-models")
    built = {name: build(directory) for name, build in tabular.BUILDERS.items()}
    built["plain-named"] = tabular.plain_named(directory)
    return built


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def new(model: tabular.Tabular, *extra: str) -> tuple[str, ...]:
    return ("new", "-y", "--project-name", "p", "--framework", model.framework, "--model-file", str(model.path), *extra)


def output(result) -> str:
    return " ".join(result.output.split())


def test_a_dataframe_model_without_a_payload_gets_its_columns_a_payload_and_pandas(run, tmp_path, models):
    result = run(*new(models["churn-pipeline"]))
    assert result.exit_code == 0, result.output
    project = tmp_path / "p"
    schema = json.loads((project / "code" / "schema.json").read_text())
    assert [c["name"] for c in schema["columns"]] == ["age", "plan", "income", "region"]
    assert schema["frame"] is True and schema["source"] == "model"
    assert (project / "samples" / "payload.csv").read_text() == "age,plan,income,region\n0,basic,0,apac\n"
    assert "pandas==" in (project / "requirements.txt").read_text()
    readme = (project / "README.md").read_text()
    assert "| 2 | `plan` | text | basic, enterprise, pro (others: the model decides) | allowed |" in readme
    assert '{"columns": ["age", "plan", "income", "region"], "data": [[0, "basic", 0, "apac"]]}' in readme


def test_a_numeric_model_fitted_on_an_array_needs_no_pandas(run, tmp_path, wine_model_file, wine_payload_file):
    result = run("new", "-y", "--project-name", "p", "--model-file", str(wine_model_file),
                 "--sample-payload", str(wine_payload_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pandas" not in (tmp_path / "p" / "requirements.txt").read_text()
    assert json.loads((tmp_path / "p" / "code" / "schema.json").read_text())["width"] == 13


def test_the_sample_payload_may_name_the_models_columns_in_any_order(run, tmp_path, models):
    payload = tmp_path / "rows.csv"
    payload.write_text("income,age,tenure\n50.5,40,3\n")
    result = run(*new(models["plain-named"], "--sample-payload", str(payload)))
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "p" / "code" / "schema.json").read_text())
    assert [(c["name"], c["kind"]) for c in schema["columns"]] == [("age", "number"), ("tenure", "number"),
                                                                    ("income", "number")]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("age,plan,income,region\n41,pro,lots,eu\n", "row 1, column 'income': 'lots' is not a number"),
        ("age,plan,income\n41,pro,5\n", "are not the model's own (age, plan, income, region): missing region"),
        ("41,pro,5,eu,9\n", "rows have 5 values, but the model takes 4"),
    ],
)
def test_a_sample_payload_that_does_not_fit_the_model_is_refused_before_writing(run, tmp_path, models, rows, message):
    payload = tmp_path / "rows.csv"
    payload.write_text(rows)
    result = run(*new(models["churn-pipeline"], "--sample-payload", str(payload)))
    assert result.exit_code == 2
    assert "sample_payload" in output(result) and message in output(result), output(result)
    assert not (tmp_path / "p").exists()


def test_declared_names_in_the_models_order_are_accepted_and_others_refused(run, tmp_path, models):
    model = models["plain-named"]
    result = run(*new(model, "--feature-names", "age,income,tenure"))
    assert result.exit_code == 2
    assert (
        "feature_names = 'age,income,tenure' (from flag --feature-names): the project's columns (age, income, tenure)"
        " are not the model's own (age, tenure, income): same names in another order" in output(result)
    )
    assert run(*new(model, "--feature-names", "age,tenure,income")).exit_code == 0


def test_declared_names_give_text_kinds_from_the_sample_where_the_model_records_none(run, tmp_path, wine_model_file):
    names = [f"f{i}" for i in range(13)]
    payload = tmp_path / "rows.json"
    payload.write_text(json.dumps([dict(zip(names, range(13), strict=True))]))
    result = run("new", "-y", "--project-name", "p", "--model-file", str(wine_model_file),
                 "--feature-names", ",".join(names), "--sample-payload", str(payload))  # fmt: skip
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "p" / "code" / "schema.json").read_text())
    assert schema["source"] == "declared" and [c["name"] for c in schema["columns"]] == names


def test_without_the_model_check_only_the_declared_names_are_recorded_and_pandas_is_added(
    run, tmp_path, wine_model_file
):
    names = [f"f{i}" for i in range(13)]
    result = run("new", "-y", "--project-name", "p", "--model-file", str(wine_model_file), "--no-model-check",
                 "--feature-names", ",".join(names))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--no-model-check: the model was not loaded in the image's environment" in output(result)
    project = tmp_path / "p"
    schema = json.loads((project / "code" / "schema.json").read_text())
    assert schema["source"] == "declared" and [c["name"] for c in schema["columns"]] == names
    assert all(c.get("certain") is False for c in schema["columns"])
    assert "pandas==" in (project / "requirements.txt").read_text()  # the server decides at start: it may need it
    assert not (project / "samples" / "expected.json").exists()
