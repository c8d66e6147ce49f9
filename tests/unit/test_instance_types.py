"""Instance types: botocore's SageMaker model is the list of what exists; the catalog holds the data mcc sizes
with; a CPU type the catalog lacks (x86_64 or Graviton) is taken with vCPUs and memory estimated from its name and
a warning, and accelerated types mcc cannot size are refused with the reason. Graviton types get linux/arm64
images where the framework's pins have aarch64 wheels."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import botocore.session
import pytest

from mcc.catalog import hosting_instance_types, unlisted_instance
from mcc.validation import instance_type_error
from tests.support.projects import run_mcc_new, stderr_text


def botocore_hosting_types() -> set[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return set(model.shape_for("ProductionVariantInstanceType").enum)


def test_the_recorded_list_is_the_pinned_botocores_and_holds_every_catalog_type(catalog):
    assert hosting_instance_types() == botocore_hosting_types()
    assert set(catalog.instance_types) <= hosting_instance_types()


@pytest.mark.parametrize(
    ("name", "vcpus", "memory"),
    [
        ("ml.m5d.2xlarge", 8, 32),
        ("ml.c5d.large", 2, 4),
        ("ml.r5d.24xlarge", 96, 768),
        ("ml.c6in.xlarge", 4, 8),
        ("ml.c6gd.2xlarge", 8, 16),
        ("ml.r7gd.medium", 1, 8),
    ],
)
def test_a_cpu_type_the_catalog_lacks_gets_vcpus_and_memory_from_its_name(catalog, name, vcpus, memory):
    instance = catalog.instance(name)
    assert (instance.vcpus, instance.memory_gib, instance.gpus, instance.listed) == (vcpus, memory, 0, False)
    assert instance_type_error(name, catalog) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ml.m5.huge", "is not a SageMaker hosting instance type; did you mean 'ml.m5.large'"),
        ("ml.p6-b300.48xlarge", "no data yet for ml.p6-b300's accelerators"),
        ("ml.inf1.xlarge", "is an AWS Inferentia1 type (ml.inf1): it runs only models compiled with torch-neuron"),
    ],
)
def test_types_mcc_cannot_size_or_build_for_are_refused_with_the_reason(catalog, name, message):
    assert unlisted_instance(name) is None
    assert message in instance_type_error(name, catalog)


def test_a_project_on_an_unlisted_type_says_so_and_do_run_knows_its_limits(tmp_path):
    result = run_mcc_new(tmp_path / "m5d", "--sample-model", "--instance-type", "ml.m5d.2xlarge")
    assert result.returncode == 0, result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "ml.m5d.2xlarge is a SageMaker instance type mcc has no data for: taken as 8 vCPUs" in said
    table = json.loads((tmp_path / "m5d" / "do" / "lib" / "instance-types.json").read_text())
    assert table["ml.m5d.2xlarge"] == {"vcpus": 8, "memory_gib": 32, "gpus": 0}
    assert "INSTANCE_TYPE=${INSTANCE_TYPE:-ml.m5d.2xlarge}" in (tmp_path / "m5d" / "do" / "config").read_text()


@pytest.mark.parametrize(
    ("name", "gpus", "gpu_memory", "compute_capability"),
    [("ml.p5e.48xlarge", 8, 141, 9.0), ("ml.p6-b200.48xlarge", 8, 179, 10.0), ("ml.g7e.12xlarge", 2, 96, 12.0)],
)
def test_the_newest_gpu_families_are_sized_from_catalog_data(catalog, name, gpus, gpu_memory, compute_capability):
    instance = catalog.instance(name)
    assert (instance.gpus, instance.gpu_memory_gib, instance.gpu_compute_capability) == (
        gpus,
        gpu_memory,
        compute_capability,
    )
    assert instance.listed and instance_type_error(name, catalog) is None


@pytest.mark.parametrize(
    ("name", "platform"),
    [("ml.c7g.xlarge", "linux/arm64"), ("ml.m6gd.large", "linux/arm64"), ("ml.c7i.xlarge", "linux/amd64"),
     ("ml.g5.xlarge", "linux/amd64")],
)  # fmt: skip
def test_graviton_families_run_arm64_images(catalog, name, platform):
    assert catalog.instance(name).platform == platform


def test_a_graviton_project_builds_arm64_images_everywhere_it_says_so(tmp_path):
    result = run_mcc_new(
        tmp_path / "arm", "--sample-model", "--framework", "xgboost", "--instance-type", "ml.c7g.xlarge"
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "arm"
    assert "for linux/arm64, the platform ml.c7g.xlarge runs" in (project / "Dockerfile").read_text()
    assert "docker build --platform linux/arm64" in (project / "README.md").read_text()
    config = (project / "do" / "config").read_text()
    assert "PLATFORM=${PLATFORM:-}" in config and "INSTANCE_TYPE=${INSTANCE_TYPE:-ml.c7g.xlarge}" in config
    check = subprocess.run(
        [sys.executable, "-m", "mcc_lifecycle.platforms"],
        env={**os.environ, "PYTHONPATH": str(project / "do" / "lib"), "INSTANCE_TYPE": "ml.c7g.xlarge"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "linux/arm64"
    assert json.loads((project / "do" / "lib" / "image-platforms.json").read_text()) == ["linux/amd64", "linux/arm64"]


def test_a_project_whose_pins_have_no_arm64_wheels_refuses_a_graviton_instance_type_set_later(tmp_path):
    result = run_mcc_new(tmp_path / "pt", "--sample-model", "--framework", "pytorch")
    assert result.returncode == 0, result.stderr
    lib = tmp_path / "pt" / "do" / "lib"
    assert json.loads((lib / "image-platforms.json").read_text()) == ["linux/amd64"]

    def build_platform(instance_type: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(lib), "INSTANCE_TYPE": instance_type}
        command = [sys.executable, "-m", "mcc_lifecycle.platforms"]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    assert build_platform("ml.c7i.xlarge").stdout.strip() == "linux/amd64"
    refused = build_platform("ml.c7g.xlarge")
    assert refused.returncode == 2 and "checked its pinned packages' wheels for linux/amd64 only" in refused.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--sample-model", "--framework", "pytorch"), "PyTorch 2.13.0's pinned packages have no aarch64 wheels"),
        (("--framework", "transformers", "--model-id", "sentence-transformers/all-MiniLM-L6-v2", "--engine", "djl"),
         "djl's image is built for linux/amd64 only"),
    ],
)  # fmt: skip
def test_graviton_is_refused_where_the_image_cannot_be_built_for_arm64(tmp_path, flags, message):
    result = run_mcc_new(tmp_path / "arm", *flags, "--instance-type", "ml.c7g.xlarge")
    assert result.returncode == 2, result.stderr
    assert message in stderr_text(result)
    assert not (tmp_path / "arm").exists()


def test_a_project_with_its_own_requirements_records_only_the_platform_they_were_checked_for(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("tabulate==0.9.0\n")
    result = run_mcc_new(tmp_path / "sk", "--sample-model", "--requirements", str(extra))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "sk" / "do" / "lib" / "image-platforms.json").read_text()) == ["linux/amd64"]
