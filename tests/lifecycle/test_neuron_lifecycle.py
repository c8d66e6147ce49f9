"""A vLLM Neuron project's do/ scripts against moto's server: built from AWS's public Neuron image with no registry
login, deployed on an Inferentia2 instance with its NeuronCores and SageMaker's longest start-up budget, and
refused on an instance type without Neuron before anything is created."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mcc_lifecycle import deploy
from mcc_lifecycle.aws import Aws
from mcc_lifecycle.settings import Settings
from tests.lifecycle.conftest import REGION, ROLE_ARN, docker_calls, run_do
from tests.support.moto import valid_request
from tests.support.projects import mcc_new
from tests.support.venvs import project_venv

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    flags = ("--region", REGION, "--framework", "transformers", "--model-id", "meta-llama/Llama-3.1-8B-Instruct",
             "--max-model-len", "8192", "--instance-type", "ml.inf2.xlarge",
             "--hf-token-secret-arn", SECRET)  # fmt: skip
    return mcc_new(tmp_path_factory.mktemp("lifecycle-neuron") / "llm-neuron", "llm-neuron", *flags)


@pytest.fixture(scope="module")
def project_python(project) -> str:
    return project_venv(project)


def test_build_pulls_the_public_neuron_image_without_a_registry_login(project, aws_env):
    run_do(project, aws_env, "build")
    calls = docker_calls(aws_env)
    assert [call["argv"][0] for call in calls] == ["build"]
    assert calls[0]["argv"][:3] == ["build", "--platform", "linux/amd64"]


def exported_settings(project: Path) -> Settings:
    """The settings the do/ scripts read: do/config sourced as they source it."""
    shell = "set -a; . do/config >/dev/null; env -0"
    environ = {"PATH": "/usr/bin:/bin", "ROLE_ARN": ROLE_ARN}
    exported = subprocess.run(["bash", "-c", shell], cwd=project, env=environ, capture_output=True, check=True)
    return Settings.from_env(dict(item.split("=", 1) for item in exported.stdout.decode().split("\0") if "=" in item))


def test_deploy_gives_the_engine_the_neuroncores_and_the_longest_start_up_budget(project):
    """moto's CreateEndpointConfig knows no ml.inf2 type: the requests are checked against botocore's model."""
    aws = Aws(exported_settings(project))
    model = valid_request(
        "sagemaker", "CreateModel", deploy.model_request(aws, "llm-neuron-1", "123456789012.dkr.ecr/llm-neuron:1")
    )
    assert model["PrimaryContainer"]["Environment"] == {"MCC_NEURON_CORES": "2", "HF_TOKEN_SECRET_ARN": SECRET}
    config = valid_request(
        "sagemaker", "CreateEndpointConfig", deploy.endpoint_config_request(aws, "llm-neuron-1", "llm-neuron-1")
    )
    (variant,) = config["ProductionVariants"]
    assert variant["InstanceType"] == "ml.inf2.xlarge"
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 3600  # the model is compiled at start
    assert "InferenceAmiVersion" not in variant  # SageMaker's own host for Inferentia2 (its Neuron driver)


def test_deploy_refuses_the_neuron_image_on_an_instance_type_without_neuron(project, aws_env, aws):
    result = run_do(project, {**aws_env, "INSTANCE_TYPE": "ml.g5.xlarge", "IMAGE_TAG": "v1"}, "deploy", check=False)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "the image runs on AWS Neuron (Neuron SDK 2.31.1); INSTANCE_TYPE=ml.g5.xlarge has no Neuron" in message
    assert aws("sagemaker").list_models()["Models"] == []
