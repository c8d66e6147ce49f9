"""A generative project's do/ scripts against moto's server: the LMI base image's registry login, and a
deployment that carries the engine's needs (GPU count, token secret, S3 model prefix, start-up budget)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lifecycle.conftest import REGION, ROLE_ARN, docker_calls, moto_post, publish_image, run_do
from tests.support.moto import ACCOUNT
from tests.support.venvs import project_venv

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
MODEL_PREFIX = "s3://acme-models/llama-3.1-8b/"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("lifecycle-llm") / "llm-life"
    subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "llm-life", "--region", REGION,
         "--framework", "transformers", "--engine", "djl-lmi", "--model-s3-uri", MODEL_PREFIX,
         "--model-params", "8B", "--instance-type", "ml.g4dn.12xlarge", "--hf-token-secret-arn", SECRET,
         "--output-dir", str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def project_python(project) -> str:
    return project_venv(project)


def test_build_logs_in_to_the_base_images_registry_before_building(project, aws_env):
    run_do(project, aws_env, "build")
    calls = docker_calls(aws_env)
    assert calls[0]["argv"] == ["login", "--username", "AWS", "--password-stdin",
                                "763104351884.dkr.ecr.us-east-1.amazonaws.com"]  # fmt: skip
    assert calls[0]["stdin"]  # the password, through stdin only
    assert calls[1]["argv"][:3] == ["build", "--platform", "linux/amd64"]


def test_deploy_carries_the_engines_needs(project, aws_env, aws):
    run_do(project, aws_env, "build")
    run_do(project, aws_env, "push")
    tag = (project / ".mcc" / "image-tag").read_text().strip()
    publish_image(aws, "llm-life", tag)
    run_do(project, {**aws_env, "DEPLOY_TIMEOUT_MIN": "1"}, "deploy")
    sagemaker = aws("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName="llm-life")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.g4dn.12xlarge"  # moto knows no g5
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 898  # 600 s + 20 s per GiB of 8B fp16 (14.9 GiB)
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"  # driver 580 for CUDA 13.0
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    container = model["PrimaryContainer"]
    assert container["Environment"] == {"SM_NUM_GPUS": "4", "HF_TOKEN_SECRET_ARN": SECRET}
    assert container["ModelDataSource"]["S3DataSource"] == {
        "S3Uri": MODEL_PREFIX, "S3DataType": "S3Prefix", "CompressionType": "None"
    }  # fmt: skip
    assert model["ExecutionRoleArn"] == ROLE_ARN


def test_an_async_endpoint_is_tested_through_s3_not_synchronously(project, aws_env, aws):
    run_do(project, aws_env, "build")
    run_do(project, aws_env, "push")
    publish_image(aws, "llm-life", (project / ".mcc" / "image-tag").read_text().strip())
    env = {**aws_env, "DEPLOY_MODE": "async", "ASYNC_OUTPUT_PATH": "s3://llm-results/async", "DEPLOY_TIMEOUT_MIN": "1"}
    run_do(project, env, "deploy")
    completion = {"choices": [{"message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}]}
    moto_post(
        aws_env, "/moto-api/static/sagemaker/async-endpoint-results", {"results": [{"data": json.dumps(completion)}]}
    )
    tested = run_do(project, env, "test", "--endpoint")
    assert json.loads(tested.stdout) == {"completion": "Paris.", "streamed": "not offered by async endpoints"}
    uploaded = aws("s3").list_objects_v2(Bucket=f"sagemaker-{REGION}-{ACCOUNT}", Prefix="llm-life/async-inputs/")
    assert uploaded["KeyCount"] == 1
    run_do(project, env, "clean", "all")


def test_deploy_refuses_an_ami_too_old_for_the_images_cuda(project, aws_env, aws):
    env = {**aws_env, "INFERENCE_AMI_VERSION": "al2-ami-sagemaker-inference-gpu-3-1", "IMAGE_TAG": "v1"}
    result = run_do(project, env, "deploy", check=False)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "runs CUDA 12.4 (driver 550), older than the image's CUDA 13.0" in message
    assert "Use al2023-ami-sagemaker-inference-gpu-4-1" in message
    assert aws("sagemaker").list_models()["Models"] == []  # nothing was created


def test_build_refuses_a_platform_the_instance_type_does_not_run(project, aws_env):
    result = run_do(project, {**aws_env, "PLATFORM": "linux/arm64"}, "build", check=False)
    assert result.returncode == 2
    refusal = "PLATFORM='linux/arm64': INSTANCE_TYPE=ml.g4dn.12xlarge runs linux/amd64 images"
    assert refusal in " ".join(result.stderr.split())
    assert docker_calls(aws_env) == []
    submit = run_do(project, {**aws_env, "PLATFORM": "linux/arm64"}, "submit", check=False)
    assert submit.returncode == 2 and refusal in " ".join(submit.stderr.split())
