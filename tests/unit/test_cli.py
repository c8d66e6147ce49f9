import json

import pytest
import yaml
from click.testing import CliRunner

from mcc.cli import main


def new_wine(model_file, *extra):
    """`mcc new` arguments for a project named wine serving ``model_file``."""
    return ("new", "-y", "--project-name", "wine", "--model-file", str(model_file), *extra)


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def invoke(*args, env=None):
        return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)

    return invoke


def test_yes_lists_every_missing_required_answer_and_writes_nothing(run, tmp_path):
    result = run("new", "--yes")
    assert result.exit_code == 2
    assert "missing required answers" in result.output
    assert "project_name" in result.output and "model_file" in result.output
    assert list(tmp_path.iterdir()) == []


def test_invalid_answers_exit_2_with_no_partial_output(run, tmp_path, wine_model_file):
    result = run(
        "new", "-y", "--project-name", "my_model", "--model-file", str(wine_model_file), "--region", "us-east-7"
    )
    assert result.exit_code == 2
    assert "project_name = 'my_model' (from flag --project-name)" in result.output
    assert "region = 'us-east-7'" in result.output
    assert "Nothing was written." in result.output
    assert list(tmp_path.iterdir()) == []


def test_generates_from_flags(run, tmp_path, wine_model_file):
    result = run(
        *new_wine(wine_model_file, "--web-server", "fastapi", "--instance-type", "ml.c7i.large", "--no-include-tests")
    )
    assert result.exit_code == 0, result.output
    project = tmp_path / "wine"
    record = yaml.safe_load((project / "mcc.yaml").read_text())
    assert record["serving"]["web_server"] == "fastapi"
    assert record["deployment"]["instance_type"] == "ml.c7i.large"
    assert not (project / "tests").exists()
    assert "INSTANCE_TYPE=${INSTANCE_TYPE:-ml.c7i.large}" in (project / "do" / "config").read_text()


def test_flag_beats_env_beats_config_beats_pyproject(run, tmp_path, wine_model_file):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mcc]\nproject_name = "from-pyproject"\nregion = "eu-west-3"\n'
        'web_server = "fastapi"\ninstance_type = "ml.r5.large"\n'
    )
    (tmp_path / "answers.yaml").write_text(
        f"model:\n  file: {wine_model_file}\ndeployment:\n  region: eu-west-2\n  instance_type: ml.c5.large\n"
    )
    env = {"MCC_REGION": "eu-west-1", "MCC_CONFIG": "answers.yaml", "MCC_INSTANCE_TYPE": "ml.m6i.large"}
    result = run("new", "-y", "--instance-type", "ml.m7i.large", env=env)
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "from-pyproject" / "mcc.yaml").read_text())
    assert record["deployment"] == {
        "mode": "realtime",
        "instance_type": "ml.m7i.large",
        "instance_count": 1,
        "region": "eu-west-1",
        "role_arn": "",
        "accelerator": "cpu",
    }
    assert record["serving"]["web_server"] == "fastapi"


def test_sample_model_project(run, tmp_path):
    result = run("new", "-y", "--project-name", "demo", "--sample-model", "--model-format", "pkl")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "model" / "model.pkl").stat().st_size > 1000
    rows = (tmp_path / "demo" / "samples" / "payload.csv").read_text().splitlines()
    assert len(rows) == 3 and all(len(r.split(",")) == 13 for r in rows)
    assert len(json.loads((tmp_path / "demo" / "samples" / "payload.json").read_text())["instances"]) == 3


def test_existing_project_needs_force(run, tmp_path, wine_model_file):
    args = new_wine(wine_model_file)
    assert run(*args).exit_code == 0
    (tmp_path / "wine" / "code" / "inference.py").write_text("# my edits\n")
    result = run(*args)
    assert result.exit_code == 2 and "pass --force" in result.output
    assert (tmp_path / "wine" / "code" / "inference.py").read_text() == "# my edits\n"
    (tmp_path / "wine" / "Dockerfile").write_text("broken")
    result = run(*args, "--force")
    assert result.exit_code == 0
    assert "kept your code/inference.py" in result.output
    assert (tmp_path / "wine" / "code" / "inference.py").read_text() == "# my edits\n"
    assert (tmp_path / "wine" / "Dockerfile").read_text().startswith("# wine: scikit-learn model")


def test_bad_env_value_names_its_variable(run, wine_model_file):
    result = run(*new_wine(wine_model_file), env={"MCC_INCLUDE_TESTS": "perhaps"})
    assert result.exit_code == 2
    assert "include_tests = 'perhaps' (from env MCC_INCLUDE_TESTS)" in result.output


def test_schema_catalog_and_version(run):
    schema = json.loads(run("schema").output)
    assert {"project_name", "model", "serving", "deployment"} <= set(schema["properties"])
    listing = run("catalog", "instances").output
    assert "ml.m5.large" in listing and "ml.c7i.48xlarge" in listing
    assert "eu-central-1" in run("catalog", "regions").output
    assert "0.1.0" in run("--version").output
    assert {"generation"} <= set(schema["properties"])
    engines = run("catalog", "engines").output
    assert all(name in engines for name in ("vllm", "sglang", "trtllm", "djl-lmi", "djl", "llamacpp", "transformers"))
    assert "0.32.0* (13.0)" in engines and "0.19.1 (12.9)" in engines and "0.3.36* (CPU; GPU" in engines
    assert "meta-llama/Llama-3.1-8B-Instruct" in run("catalog", "models").output


def test_check_command(run, tmp_path, wine_model_file):
    run(*new_wine(wine_model_file))
    result = run("check", "wine", "--strict")
    assert result.exit_code == 0, result.output
    dockerfile = tmp_path / "wine" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 8080", "EXPOSE 9000"))
    result = run("check", "wine")
    assert result.exit_code == 1
    assert "port 8080 is not exposed" in result.output


def test_an_unwritable_destination_is_a_clear_error(run, tmp_path, wine_model_file):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "blocker").write_text("")
    result = run(*new_wine(wine_model_file, "--output-dir", str(locked / "blocker" / "wine")))
    assert result.exit_code == 2
    assert "output_dir" in result.output and "Nothing was written." in result.output


def test_check_outside_a_project_says_so(run, tmp_path):
    result = run("check", str(tmp_path))
    assert result.exit_code == 2
    assert "has no mcc.yaml: it was not generated by mcc" in " ".join(result.output.split())


def test_optimize_onnx_without_the_converters_beside_mcc_names_the_extra(run, wine_model_file, monkeypatch):
    from mcc import onnx_export

    monkeypatch.setitem(onnx_export.CONVERSION_MODULES, "sklearn", ("numpy", "skl2onnx_not_installed"))
    result = run(*new_wine(wine_model_file, "--optimize", "onnx"))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "skl2onnx_not_installed cannot be imported" in text and "ml-container-creator[onnx]" in text
    assert "numpy" not in text.split("cannot be imported")[0].split("where")[-1]  # only what is missing


def test_every_answer_error_is_reported_at_once_with_the_path_tried(run, tmp_path):
    (tmp_path / "answers.yaml").write_text(
        "project_name: Bad_Name\nserving:\n  webserver: flask\ndeployment:\n  region: mars-1\n"
    )
    result = run("new", "-y", "--config", "answers.yaml", "--model-file", "churn.joblib")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "serving.webserver = 'flask' (from config file answers.yaml): unknown setting; did you mean " \
           "'serving.web_server'?" in text  # fmt: skip
    assert "project_name = 'Bad_Name'" in text and "region = 'mars-1'" in text
    assert (
        f"model_file = 'churn.joblib' (from flag --model-file): file not found (looked for {tmp_path / 'churn.joblib'})"
        in text
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "answers.yaml"]


def test_missing_answers_are_reported_with_the_invalid_ones(run, tmp_path):
    result = run("new", "-y", "--region", "mars-1", "--sample-payload", "rows.csv")
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "missing required answers" in text and "and invalid answers" in text
    assert "project_name: required" in text and "model_file: required" in text
    assert "region = 'mars-1'" in text and "sample_payload = 'rows.csv'" in text


def test_check_names_the_linters_that_did_not_run(run, wine_model_file, monkeypatch):
    from mcc.checks import linters

    run(*new_wine(wine_model_file))
    monkeypatch.setattr(linters, "find_tool", lambda name: None if name == "hadolint" else linters.shutil.which(name)
                        or str(linters.Path(linters.sys.executable).parent / name))  # fmt: skip
    result = run("check", "wine")
    assert result.exit_code == 0, result.output
    assert "all checks passed" not in result.output
    assert "the checks that ran passed; not run: hadolint" in " ".join(result.output.split())
    assert run("check", "wine", "--strict").exit_code == 1


def test_new_help_groups_the_answers_by_the_three_decisions_with_choices_defaults_and_examples(run):
    text = run("new", "--help").output
    headings = ["Options:", "Project:", "1. Model selection:", "2. Model serving:", "3. Model deployment:",
                "LLM options (generative frameworks only):", "Examples:"]  # fmt: skip
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)

    def section(heading: str) -> str:
        start = text.index(heading)
        return text[start : min([i for h in headings if (i := text.find(h, start + 1)) > start] or [len(text)])]

    flat = " ".join(section("3. Model deployment:").split())
    assert "serverless | batch | inference-component | hyperpod] [default: realtime]" in flat
    assert "--instance-type TEXT SageMaker instance type (see mcc catalog instances) [default: ml.m5.large" in flat
    assert "[fastapi | flask] [default: fastapi]" in " ".join(section("2. Model serving:").split())
    assert "--model-id" in section("LLM options") and "--model-id" not in section("1. Model selection:")
    assert "--hf-token-secret-arn" in section("LLM options") and "--engine-arg" in section("LLM options")
    assert "--model-file" in section("1. Model selection:") and "--sample-payload" in section("1. Model selection:")
    assert "mcc new --config mcc.yaml --force --yes" in section("Examples:")
    upgrade = run("upgrade", "--help").output
    assert "1. Model selection:" in upgrade and "Examples:" not in upgrade


def test_schema_describes_every_setting_with_its_allowed_values_and_default(run):
    from mcc.answer_docs import schema_property
    from mcc.answers import ANSWERS

    schema = json.loads(run("schema").output)
    for answer in ANSWERS:
        node = schema_property(schema, answer.path)
        assert node is not None and f"flag {answer.flag}, env {answer.env}" in node["description"], answer.key
    mode = schema_property(schema, ("deployment", "mode"))
    assert mode["enum"] == ["realtime", "async", "serverless", "batch", "inference-component", "hyperpod"]
    assert "default: realtime" in mode["description"]
    assert "fastapi" in schema_property(schema, ("serving", "web_server"))["enum"]
    assert schema_property(schema, ("generation", "engine"))["x-mcc-projects"] == "generative"
    assert schema_property(schema, ("deployment", "instance_type"))["examples"] == ["ml.m5.large"]
