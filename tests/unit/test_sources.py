import json
from pathlib import Path

import pytest

from mcc.defaults import missing_required, with_defaults
from mcc.errors import InvalidAnswers
from mcc.sources import Given, from_env, from_file, from_flags, from_pyproject, merge


def test_flags_ignore_absent_options():
    answers = from_flags({"region": "eu-west-1", "framework": None, "include_tests": False})
    assert answers == {
        "region": Given("eu-west-1", "flag --region"),
        "include_tests": Given(False, "flag --include-tests"),
    }


def test_env_reads_mcc_variables_only():
    answers = from_env(
        {
            "MCC_REGION": "eu-west-1",
            "MCC_WEB_SERVER": "fastapi",
            "MCC_OTHER": "x",
            "REGION": "no",
            "MCC_FRAMEWORK": "  ",
        }
    )
    assert answers == {
        "region": Given("eu-west-1", "env MCC_REGION"),
        "web_server": Given("fastapi", "env MCC_WEB_SERVER"),
    }


CONFIGS = {
    "c.yaml": "project_name: from-file\nmodel:\n  framework: sklearn\n  file: models/m.joblib\n"
    "serving:\n  web_server: fastapi\n",
    "c.toml": 'project_name = "from-file"\n[model]\nframework = "sklearn"\nfile = "models/m.joblib"\n'
    '[serving]\nweb_server = "fastapi"\n',
    "c.json": json.dumps(
        {
            "project_name": "from-file",
            "model": {"framework": "sklearn", "file": "models/m.joblib"},
            "serving": {"web_server": "fastapi"},
        }
    ),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_config_files_in_every_format(tmp_path, name):
    path = tmp_path / name
    path.write_text(CONFIGS[name])
    answers = from_file(path)
    assert {k: g.value for k, g in answers.items()} == {
        "project_name": "from-file",
        "framework": "sklearn",
        "model_file": str(tmp_path / "models" / "m.joblib"),  # relative to the config file
        "web_server": "fastapi",
    }
    assert answers["framework"].source == f"config file {path}"


def test_config_files_accept_flat_keys_and_ignore_the_recorded_version(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("mcc_version: 0.1.0\nweb_server: flask\ninstance_type: ml.c5.xlarge\n")
    assert {k: g.value for k, g in from_file(path).items()} == {"web_server": "flask", "instance_type": "ml.c5.xlarge"}


def test_a_value_left_empty_in_a_config_file_is_no_answer(tmp_path):
    """mcc.yaml records every answer, empty ones as '' or null: those must not count as given."""
    path = tmp_path / "mcc.yaml"
    path.write_text("model:\n  file: null\n  model_package_arn: ''\n  requirements: []\n  framework: sklearn\n")
    assert {k: g.value for k, g in from_file(path).items()} == {"framework": "sklearn"}


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("model:\n  framwork: sklearn\n", ".yaml", "model.framwork"),
        ("colour: blue\n", ".yaml", "colour"),
        ("- a\n- b\n", ".yaml", "must hold a mapping"),
        ("a = [", ".toml", "cannot parse"),
        ("{}", ".ini", "use a .yaml"),
    ],
)
def test_bad_config_files_are_reported(tmp_path, text, suffix, message):
    path = tmp_path / f"c{suffix}"
    path.write_text(text)
    with pytest.raises(InvalidAnswers) as raised:
        from_file(path)
    assert message in str(raised.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(InvalidAnswers, match="file not found"):
        from_file(tmp_path / "nope.yaml")


def test_pyproject_tool_mcc_table(tmp_path):
    assert from_pyproject(tmp_path) == {}
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.mcc]\nregion = "eu-central-1"\n[tool.mcc.serving]\nmax_payload_mb = 10\n'
    )
    answers = from_pyproject(tmp_path)
    assert answers["region"].value == "eu-central-1"
    assert answers["max_payload_mb"].value == 10
    assert "[tool.mcc]" in answers["region"].source


def test_precedence_flags_env_file_pyproject_defaults(tmp_path, catalog):
    """Each layer wins over every layer below it, key by key."""
    config = tmp_path / "c.yaml"
    config.write_text(
        "deployment:\n  region: eu-west-2\n  instance_type: ml.c5.large\nserving:\n"
        "  web_server: fastapi\n  max_payload_mb: 7\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mcc]\nregion = "eu-west-3"\ninstance_type = "ml.c5.xlarge"\nweb_server = "flask"\n'
        "max_payload_mb = 8\ninclude_tests = false\n"
    )
    flags = from_flags({"region": "eu-north-1"})
    env = from_env({"MCC_REGION": "eu-west-1", "MCC_INSTANCE_TYPE": "ml.m5.xlarge"})
    merged = merge(flags, env, from_file(config), from_pyproject(tmp_path))
    filled = with_defaults(merged, catalog, {})
    got = {k: (g.value, g.source.split()[0]) for k, g in filled.items()}
    assert got["region"] == ("eu-north-1", "flag")
    assert got["instance_type"] == ("ml.m5.xlarge", "env")
    assert got["web_server"] == ("fastapi", "config")
    assert got["max_payload_mb"] == (7, "config")
    assert got["include_tests"] == (False, str(tmp_path / "pyproject.toml"))
    assert got["framework"] == ("sklearn", "default")


def test_defaults_derive_from_other_answers(catalog):
    answers = {"project_name": Given("churn", "flag"), "model_file": Given("/m/model.pkl", "flag")}
    filled = with_defaults(answers, catalog, {"AWS_REGION": "ap-south-1"})
    assert filled["output_dir"].value == "churn"
    assert filled["model_format"].value == "pkl"
    assert filled["framework_version"].value == catalog.frameworks["sklearn"].default_version
    assert filled["region"] == Given("ap-south-1", "default")
    assert with_defaults({}, catalog, {"AWS_REGION": "mars-1"})["region"].value == "us-east-1"
    assert with_defaults({}, catalog, {})["model_format"].value == "joblib"


def test_missing_required_lists_every_missing_answer(catalog):
    missing = missing_required({}, catalog)
    assert [e.field for e in missing] == ["project_name", "model_file"]
    assert missing_required({"project_name": Given("x", "flag"), "sample_model": Given("true", "env")}, catalog) == []
    assert [
        e.field for e in missing_required({"project_name": Given("x", "f"), "sample_model": Given(False, "f")}, catalog)
    ] == ["model_file"]


def test_a_generative_project_needs_a_model_id_or_s3_prefix_not_a_file(catalog):
    generative = {"project_name": Given("x", "f"), "framework": Given("transformers", "f")}
    assert [e.field for e in missing_required(generative, catalog)] == ["model_id"]
    assert missing_required({**generative, "model_id": Given("org/name", "f")}, catalog) == []
    assert missing_required({**generative, "model_s3_uri": Given("s3://b/p/", "f")}, catalog) == []


def test_path_answers_relative_to_the_config_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "c.yaml").write_text("output_dir: ../out\nmodel:\n  sample_payload: rows.csv\n")
    answers = from_file(sub / "c.yaml")
    assert Path(answers["output_dir"].value) == (tmp_path / "out").resolve()
    assert Path(answers["sample_payload"].value) == (sub / "rows.csv").resolve()
