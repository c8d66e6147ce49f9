"""`mcc new` for every framework and format: validation before writing, and static checks of every generated
variant, CPU and GPU (the e2e tests serve them)."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from mcc.checks import check_project
from mcc.checks.dockerfile import parse
from mcc.cli import main
from mcc_runtime.settings import Settings
from tests.support import crd
from tests.support.frameworks import CASES, train


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Every fixture model, trained once: case id -> path."""
    directory = tmp_path_factory.mktemp("framework-models")
    return {case.id: train(case, directory) for case in CASES}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def new(name, framework, model, *extra):
    return ("new", "-y", "--project-name", name, "--framework", framework, "--model-file", str(model), *extra)


HYPERPOD = ("--deploy-mode", "hyperpod", "--hyperpod-cluster", "ml-cluster", "--instance-type", "ml.c5.2xlarge")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_cpu_variant_passes_the_static_checks_and_writes_a_hyperpod_manifest_the_schema_takes(
    run, tmp_path, models, case
):
    result = run(*new("cpu", case.framework, models[case.id], *HYPERPOD))  # the endpoint modes: tests/e2e
    assert result.exit_code == 0, result.output
    project = tmp_path / "cpu"
    assert check_project(project, require_linters=True) == []
    document = yaml.safe_load((project / "k8s" / "inference-endpoint-config.yaml").read_text())
    assert crd.errors(document) == []
    spec = document["spec"]
    assert spec["instanceType"] == "ml.c5.2xlarge" and spec["metrics"] == {"enabled": False}
    assert spec["modelSourceConfig"]["modelSourceType"] == "s3"  # do/package --upload puts model/ there
    assert spec["modelSourceConfig"]["modelLocation"] == "cpu/model"
    assert spec["worker"]["resources"]["requests"]["cpu"] == "7400m"  # 8 vCPUs less kube-reserved and daemon sets
    assert "nvidia.com/gpu" not in spec["worker"]["resources"]["limits"]
    serving = json.loads((project / "code" / "serving.json").read_text())
    assert Settings.load(project / "code", {}).handler == case.framework  # the runtime's typed reading
    assert serving["model_format"] == case.model_format
    assert serving["model_is_directory"] == (case.model_format == "savedmodel")
    assert (project / "model" / case.filename).exists()
    base = next(i.arguments for i in parse((project / "Dockerfile").read_text()) if i.keyword == "FROM")
    assert base.startswith("python:3.11")


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch"])
def test_gpu_instances_get_the_cuda_image_without_the_cpu_wheels(run, tmp_path, models, catalog, framework):
    case = next(c for c in CASES if c.framework == framework)
    result = run(*new("gpu", framework, models[case.id], "--instance-type", "ml.g5.2xlarge"))
    assert result.exit_code == 0, result.output
    project = tmp_path / "gpu"
    assert check_project(project, require_linters=True) == []
    version = catalog.frameworks[framework].default_version
    gpu = catalog.frameworks[framework].versions[version].gpu
    dockerfile = (project / "Dockerfile").read_text()
    assert f"FROM {gpu.base_image}\n" in dockerfile
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in dockerfile and "ARG PIP_EXTRA_INDEX_URL=\n" in dockerfile
    requirements = (project / "requirements.txt").read_text()
    assert not any(f"{p}==" in requirements for p in gpu.provided)
    assert yaml.safe_load((project / "mcc.yaml").read_text())["deployment"]["accelerator"] == "gpu"
    assert "GPU image" in result.output
    config = (project / "do" / "config").read_text()  # the inference AMI whose driver runs the image's CUDA
    ami = catalog.inference_ami_for(gpu.cuda)
    assert f"IMAGE_CUDA=${{IMAGE_CUDA:-{gpu.cuda}}}" in config
    assert f"INFERENCE_AMI_VERSION=${{INFERENCE_AMI_VERSION:-{ami.name}}}" in config


def test_pytorch_cpu_images_install_the_cpu_only_wheel(run, tmp_path, models):
    case = next(c for c in CASES if c.framework == "pytorch")
    assert run(*new("cpu", "pytorch", models[case.id])).exit_code == 0
    dockerfile = (tmp_path / "cpu" / "Dockerfile").read_text()
    assert "ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu\n" in dockerfile
    assert "torch==2.13.0+cpu" in (tmp_path / "cpu" / "requirements.txt").read_text().split()


def test_frameworks_needing_openmp_install_it(run, tmp_path, models):
    case = next(c for c in CASES if c.framework == "lightgbm")
    assert run(*new("lgbm", "lightgbm", models[case.id])).exit_code == 0
    assert "libgomp1=12.*" in (tmp_path / "lgbm" / "Dockerfile").read_text()


@pytest.mark.parametrize(
    ("framework", "case_id", "extra", "message"),
    [
        ("lightgbm", "xgboost-ubj-label", (), "not a LightGBM format"),
        ("xgboost", "xgboost-ubj-label", ("--model-format", "json"), "does not match model_format 'json'"),
        ("onnx", "xgboost-ubj-label", ("--model-format", "onnx"), "does not match model_format 'onnx'"),
        ("pytorch", "tensorflow-savedmodel-label", (), "not a PyTorch format"),
        ("tensorflow", "tensorflow-keras-both", ("--model-format", "savedmodel"), "must be a directory"),
        ("pytorch", "pytorch-torchscript-label", ("--accelerator", "gpu"), "ml.m5.large has no GPU"),
        ("xgboost", "xgboost-json-both", ("--accelerator", "gpu", "--instance-type", "ml.g5.xlarge"), "no GPU image"),
        ("xgboost", "xgboost-json-both", ("--predict-output", "logits"), "predict_output"),
        ("xgboost", "xgboost-json-both", ("--feature-names", "a,b,a"), "feature names repeat: a"),
        ("xgboost", "xgboost-json-both", ("--feature-names", "a,1.5"), "looks like a number"),
    ],
)
def test_wrong_combinations_are_refused_before_anything_is_written(
    run, tmp_path, models, framework, case_id, extra, message
):
    result = run(*new("bad", framework, models[case_id], *extra))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Nothing was written." in result.output
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    ("filename", "content", "framework", "message"),
    [
        ("model.json", b'{"not": "xgboost"}', "xgboost", "not an XGBoost model"),
        ("model.json", b"{truncated", "xgboost", "is not valid JSON"),
        ("model.ubj", b"\x00\x01", "xgboost", "is not a UBJSON model"),
        ("model.txt", b"hello", "lightgbm", "is not a LightGBM text model"),
        ("model.joblib", b"text, not a pickle", "sklearn", "is not a pickle or joblib file"),
        ("model.keras", b"PK-but-not-a-zip", "tensorflow", "is not a Keras 3 .keras file"),
        ("model.pt", b"\x00" * 16, "pytorch", "is not a zip archive"),
        ("model.onnx", b"garbage", "onnx", "is not an ONNX model"),
    ],
)
def test_corrupt_artifacts_are_refused_naming_the_problem(run, tmp_path, filename, content, framework, message):
    model = tmp_path / filename
    model.write_bytes(content)
    result = run(*new("bad", framework, model))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "bad").exists()


def test_a_directory_without_saved_model_pb_is_refused(run, tmp_path):
    (tmp_path / "export").mkdir()
    result = run(*new("bad", "tensorflow", tmp_path / "export"))
    assert result.exit_code == 2 and "without saved_model.pb" in result.output


def test_a_gpu_instance_for_a_cpu_only_framework_is_a_warning(run, tmp_path, models):
    result = run(*new("idle", "xgboost", models["xgboost-json-both"], "--instance-type", "ml.g5.xlarge"))
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "XGBoost has no GPU image" in result.output


def test_feature_names_reach_the_runtime_and_the_record(run, tmp_path, models):
    names = [f"f{i}" for i in range(13)]
    result = run(*new("named", "xgboost", models["xgboost-json-both"], "--feature-names", " , ".join(names)))
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "named" / "code" / "schema.json").read_text())
    assert [column["name"] for column in schema["columns"]] == names
    assert schema["source"] == "declared"
    record = yaml.safe_load((tmp_path / "named" / "mcc.yaml").read_text())
    assert record["model"]["feature_names"] == names


@pytest.mark.parametrize("case_id", ["xgboost-json-both", "lightgbm-txt-both"])
def test_feature_names_unlike_the_models_recorded_width_are_refused(run, tmp_path, models, case_id):
    framework = case_id.split("-")[0]
    result = run(*new("bad", framework, models[case_id], "--feature-names", "a,b,c"))
    assert result.exit_code == 2, result.output
    assert "declares 3 columns (a, b, c), but the model takes 13 features per row" in " ".join(result.output.split())
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("case", [c for c in CASES if c.model_format not in ("pkl", "joblib")], ids=lambda c: c.id)
def test_the_framework_is_read_from_the_model_files_name_when_not_given(run, tmp_path, models, case):
    result = run("new", "-y", "--project-name", "inferred", "--model-file", str(models[case.id]))
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "inferred" / "mcc.yaml").read_text())
    assert (answers["model"]["framework"], answers["model"]["format"]) == (case.framework, case.model_format)


def test_a_pickle_without_a_framework_is_taken_as_scikit_learn(catalog, tmp_path):
    assert catalog.framework_for_path(tmp_path / "model.joblib") == catalog.default_framework == "sklearn"
    assert catalog.framework_for_path(tmp_path / "model.bin") is None


def test_your_own_base_image_replaces_the_cpu_base_and_the_static_checks_still_apply(run, tmp_path, models):
    case = next(c for c in CASES if c.id == "xgboost-json-both")
    hardened = "registry.example.com/platform/python:3.11.13-bookworm-2026.11"
    result = run(*new("own-base", case.framework, models[case.id], "--base-image", hardened))
    assert result.exit_code == 0, result.output
    project = tmp_path / "own-base"
    assert f"FROM {hardened}\n" in (project / "Dockerfile").read_text()
    assert hardened in (project / "README.md").read_text()
    assert check_project(project, require_linters=True) == []
    assert yaml.safe_load((project / "mcc.yaml").read_text())["deployment"]["base_image"] == hardened


@pytest.mark.parametrize(
    ("image", "extra", "message"),
    [
        ("python:latest", (), "is not pinned to a version tag or digest"),
        ("registry.example.com/python", (), "is not pinned to a version tag or digest"),
        ("Bad Image!", (), "is not an image reference"),
        ("python:3.11.13-slim", ("--accelerator", "gpu", "--instance-type", "ml.g5.xlarge"), "GPU image keeps"),
    ],
)
def test_a_base_image_that_is_not_pinned_or_not_an_image_is_refused(run, tmp_path, models, image, extra, message):
    case = next(c for c in CASES if c.id == "xgboost-json-both")
    result = run(*new("refused", case.framework, models[case.id], "--base-image", image, *extra))
    assert result.exit_code == 2 and message in " ".join(result.output.split())
    assert not (tmp_path / "refused").exists()
