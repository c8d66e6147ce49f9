import pytest

from mcc.defaults import with_defaults
from mcc.errors import InvalidAnswers
from mcc.predictive_rules import sample_install_command
from mcc.sources import Given
from mcc.spec import ProjectSpec
from mcc.spec_check import build_spec
from mcc.validation import project_name_error


def answers(**values):
    return {key: Given(value, f"flag --{key.replace('_', '-')}") for key, value in values.items()}


def spec(catalog, force=False, **values):
    return build_spec(with_defaults(answers(**values), catalog, {}), catalog, force=force)


def errors_of(catalog, **values):
    with pytest.raises(InvalidAnswers) as raised:
        spec(catalog, **values)
    return {e.field: str(e) for e in raised.value.errors}


@pytest.fixture
def base(tmp_path, wine_model_file):
    return {"project_name": "wine", "model_file": str(wine_model_file), "output_dir": str(tmp_path / "out")}


def test_valid_answers_make_a_spec(catalog, base):
    built = spec(catalog, **base, web_server="fastapi", region="eu-west-1", instance_type="ml.c6i.xlarge")
    assert isinstance(built, ProjectSpec)
    assert (built.model.framework, built.model.format, built.serving.web_server) == ("sklearn", "joblib", "fastapi")
    assert (built.deployment.region, built.deployment.instance_type) == ("eu-west-1", "ml.c6i.xlarge")
    assert built.serving.max_payload_mb == 6 and built.include_tests is True


@pytest.mark.parametrize("name", ["a", "my-model", "Model-2", "a--b", "x" * 47, "1abc"])
def test_sagemaker_names_accepted(name):
    assert project_name_error(name) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("-lead", "SageMaker's name rule"),
        ("trail-", "SageMaker's name rule"),
        ("under_score", "SageMaker's name rule"),
        ("dot.name", "SageMaker's name rule"),
        ("space name", "SageMaker's name rule"),
        ("x" * 48, "at most 47, so that versioned model names"),
        ("x" * 64, "at most 47"),
        ("nãme", "SageMaker's name rule"),
        ("a;rm -rf", "SageMaker's name rule"),
    ],
)
def test_sagemaker_names_refused(catalog, base, name, message):
    found = errors_of(catalog, **{**base, "project_name": name})
    assert message in found["project_name"]
    assert repr(name) in found["project_name"]  # the bad value is named


def test_typos_get_the_closest_suggestion(catalog, base):
    found = errors_of(
        catalog, **base, region="us-est-1", instance_type="ml.m5.larg", web_server="flsk", framework="sklarn"
    )
    assert "did you mean" in found["region"] and "'us-east-1'" in found["region"]
    assert "did you mean 'ml.m5.large'" in found["instance_type"]
    assert "did you mean 'flask'" in found["web_server"] and "allowed: fastapi, flask" in found["web_server"]
    assert "did you mean 'sklearn'" in found["framework"]
    assert "(from flag --region)" in found["region"]


def test_every_invalid_answer_is_reported_at_once(catalog, base):
    found = errors_of(catalog, **{**base, "project_name": "bad_name"}, region="nowhere", max_payload_mb="lots")
    assert set(found) == {"project_name", "region", "max_payload_mb"}
    assert "valid integer" in found["max_payload_mb"]


@pytest.mark.parametrize("size", [0, 1025])
def test_payload_limit_range(catalog, base, size):
    assert "max_payload_mb" in errors_of(catalog, **base, max_payload_mb=size)


def test_model_file_must_exist_and_match_its_format(catalog, base, tmp_path):
    assert "file not found" in errors_of(catalog, **{**base, "model_file": str(tmp_path / "nope.joblib")})["model_file"]
    folder = {**base, "model_file": str(tmp_path)}
    assert "is not a scikit-learn format" in errors_of(catalog, **folder, framework="sklearn")["model_file"]
    assert "without saved_model.pb, so not a SavedModel" in errors_of(catalog, **folder)["model_file"]  # inferred
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"x")
    found = errors_of(catalog, **{**base, "model_file": str(onnx)}, framework="sklearn")
    assert (
        "is not a scikit-learn format (joblib: .joblib; pkl: .pkl .pickle; sagemaker: sklearn-model)"
        in found["model_file"]
    )
    found = errors_of(catalog, **{**base, "model_file": str(onnx)}, framework="sklearn", model_format="joblib")
    assert "does not match model_format 'joblib', which expects .joblib" in found["model_file"]
    found = errors_of(catalog, **base, model_format="pkl")
    assert "expects .pkl or .pickle" in found["model_file"]
    found = errors_of(catalog, **base, model_format="onnx")
    assert "is not a scikit-learn format (allowed: joblib, pkl, sagemaker)" in found["model_format"]


def test_model_source_must_be_one_file_or_the_sample(catalog, base):
    assert "not both" in errors_of(catalog, **base, sample_model=True)["sample_model"]
    no_model = {k: v for k, v in base.items() if k != "model_file"}
    assert "required" in errors_of(catalog, **no_model)["model_file"]


def test_a_framework_version_that_contradicts_the_model_file_names_both(catalog, base):
    found = errors_of(catalog, **base, framework_version="1.6.1")["framework_version"]
    assert "'1.6.1'" in found and "saved with scikit-learn 1.9.1" in found and "_sklearn_version" in found


def test_the_framework_version_defaults_to_the_one_the_model_file_records(catalog, base):
    assert spec(catalog, **base).model.framework_version == "1.9.1"


def test_a_framework_version_must_be_a_version_number(catalog, base):
    found = errors_of(catalog, **base, framework_version="latest")["framework_version"]
    assert "is not a version number (tested: 1.9.1)" in found


def test_sample_payload_must_exist_and_be_csv_or_json(catalog, base, tmp_path):
    assert "file not found" in errors_of(catalog, **base, sample_payload=str(tmp_path / "x.csv"))["sample_payload"]
    other = tmp_path / "rows.txt"
    other.write_text("1,2\n")
    assert ".csv or .json" in errors_of(catalog, **base, sample_payload=str(other))["sample_payload"]


def test_sample_model_spec(catalog, tmp_path):
    built = spec(catalog, project_name="demo", sample_model=True, output_dir=str(tmp_path / "d"), model_format="pkl")
    assert built.model.sample and built.model.file is None and built.model.format == "pkl"


def test_non_empty_target_needs_force(catalog, base, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    spec(catalog, **base)  # empty directory is fine
    (out / "keep.txt").write_text("mine")
    assert "pass --force" in errors_of(catalog, **base)["output_dir"]
    assert spec(catalog, force=True, **base).output_dir == out
    (tmp_path / "file").write_text("")
    assert "not a directory" in errors_of(catalog, **{**base, "output_dir": str(tmp_path / "file")})["output_dir"]


def test_unknown_answer_paths_are_refused_by_the_spec():
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        ProjectSpec.model_validate(
            {"project_name": "a", "output_dir": ".", "colour": "blue", "model": {}, "serving": {}, "deployment": {}}
        )


def test_a_sample_model_names_the_pinned_package_to_install_for_its_framework(catalog):
    xgboost = catalog.frameworks["xgboost"]
    assert sample_install_command(xgboost, "3.2.0") == "pip install 'xgboost-cpu==3.2.0'"
    pytorch = catalog.frameworks["pytorch"]
    assert sample_install_command(pytorch, "2.13.0") == (
        "pip install 'torch==2.13.0+cpu' --extra-index-url https://download.pytorch.org/whl/cpu"
    )
    assert sample_install_command(catalog.frameworks["sklearn"], "1.9.1") == "pip install 'scikit-learn==1.9.1'"


def test_mcc_yaml_of_schema_1_is_migrated_and_a_newer_schema_refused():
    from mcc.upgrade import SCHEMA_VERSION, UpgradeError, migrate

    migrated = migrate({"mcc_version": "0.0.9", "model": {"framework": "sklearn"}})
    assert migrated["schema_version"] == SCHEMA_VERSION == 2
    assert (migrated["model"]["model_data"], migrated["model"]["model_package_arn"]) == ("", "")
    with pytest.raises(UpgradeError, match="schema_version 3; this mcc reads up to 2"):
        migrate({"schema_version": 3})
