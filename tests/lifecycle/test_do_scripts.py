"""The generated do/ scripts, run for real against moto's AWS emulator (and a recording docker).

Covers the documented sequence do/build → do/push → do/deploy → do/test --endpoint → do/clean all,
do/submit instead of build/push, every deploy mode, do/logs, do/export and do/bootstrap.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from mcc_lifecycle.codebuild import project_changes
from tests.lifecycle.conftest import (
    CODEBUILD_ROLE_ARN,
    REGION,
    ROLE_ARN,
    docker_calls,
    moto_post,
    publish_image,
    run_do,
)
from tests.support.moto import ACCOUNT, valid_request

pytestmark = pytest.mark.slow
REPOSITORY = "wine-life"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"


def build_and_push(project, env, aws) -> str:
    run_do(project, env, "build")
    run_do(project, env, "push")
    tag = (project / ".mcc" / "image-tag").read_text().strip()
    publish_image(aws, REPOSITORY, tag)
    return tag


def test_build_and_push_run_docker_for_amd64_and_create_a_scanned_repository(project, aws_env, aws):
    tag = build_and_push(project, aws_env, aws)
    calls = [c["argv"] for c in docker_calls(aws_env)]
    assert calls[0] == [
        *("build", "--platform", "linux/amd64", "--tag", f"wine-life:{tag}", "--tag", "wine-life:latest"),
        str(project),
    ]
    login = docker_calls(aws_env)[1]
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", REGISTRY]
    assert login["stdin"] and login["stdin"] not in " ".join(" ".join(c) for c in calls)  # only through stdin
    assert calls[2:] == [
        ["tag", f"wine-life:{tag}", f"{REGISTRY}/{REPOSITORY}:{tag}"],
        ["push", f"{REGISTRY}/{REPOSITORY}:{tag}"],
        ["tag", f"wine-life:{tag}", f"{REGISTRY}/{REPOSITORY}:latest"],
        ["push", f"{REGISTRY}/{REPOSITORY}:latest"],
    ]
    repository = aws("ecr").describe_repositories(repositoryNames=[REPOSITORY])["repositories"][0]
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "MUTABLE"


def test_an_immutable_repository_gets_no_latest_tag(project, aws_env, aws):
    env = {**aws_env, "ECR_TAG_MUTABILITY": "IMMUTABLE", "IMAGE_TAG": "v1"}
    build_and_push(project, env, aws)
    pushes = [c["argv"] for c in docker_calls(env) if c["argv"][0] == "push"]
    assert pushes == [["push", f"{REGISTRY}/{REPOSITORY}:v1"]]
    repository = aws("ecr").describe_repositories(repositoryNames=[REPOSITORY])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE"


def test_build_passes_the_configured_package_indexes_as_build_arguments(project, aws_env):
    env = {**aws_env, "BUILD_INDEX_URL": "https://mirror.example.com/simple",
           "BUILD_EXTRA_INDEX_URL": "http://wheels.internal:8000/simple/", "IMAGE_TAG": "v1"}  # fmt: skip
    run_do(project, env, "build")
    assert docker_calls(env)[0]["argv"][:7] == [
        "build",
        *("--build-arg", "PIP_INDEX_URL=https://mirror.example.com/simple"),
        *("--build-arg", "PIP_EXTRA_INDEX_URL=http://wheels.internal:8000/simple/"),
        *("--build-arg", "PIP_TRUSTED_HOST=wheels.internal:8000"),
    ]


def test_build_refuses_an_index_url_with_credentials(project, aws_env):
    env = {**aws_env, "BUILD_INDEX_URL": "https://aws:eyJ2ZXIiOjF9@domain-123.d.codeartifact.example.com/pypi/simple/"}
    result = run_do(project, env, "build", check=False)
    assert result.returncode == 2 and "BUILD_INDEX_URL holds credentials" in result.stderr
    assert "eyJ2ZXIiOjF9" not in result.stderr + result.stdout
    assert docker_calls(env) == []


def test_push_before_build_says_what_to_do(project, aws_env):
    result = run_do(project, aws_env, "push", check=False)
    assert result.returncode != 0
    assert "run do/build" in result.stderr


def test_submit_uploads_the_context_and_runs_codebuild(project, aws_env, aws):
    result = run_do(project, {**aws_env, "IMAGE_TAG": "cb1"}, "submit")
    assert "CodeBuild project wine-life-image: created" in result.stderr
    assert "succeeded" in result.stderr
    assert (project / ".mcc" / "image-tag").read_text().strip() == "cb1"
    assert docker_calls(aws_env) == []  # nothing built locally

    codebuild_project = aws("codebuild").batch_get_projects(names=["wine-life-image"])["projects"][0]
    assert codebuild_project["serviceRole"] == CODEBUILD_ROLE_ARN
    environment = codebuild_project["environment"]
    assert environment["privilegedMode"] is True
    variables = {v["name"]: v["value"] for v in environment["environmentVariables"]}
    assert variables == {"IMAGE_REPO_URI": f"{REGISTRY}/{REPOSITORY}", "PLATFORM": "linux/amd64", "PUSH_LATEST": "true"}
    assert aws("ecr").describe_repositories(repositoryNames=[REPOSITORY])["repositories"]

    bucket = f"sagemaker-us-east-1-{ACCOUNT}"
    body = aws("s3").get_object(Bucket=bucket, Key="wine-life/codebuild/source-cb1.zip")["Body"].read()
    names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert {"Dockerfile", ".dockerignore", "buildspec.yml", "requirements.txt", "nginx.conf", "code/serve"} <= names
    assert "model/wine.joblib" in names
    assert not {n for n in names if n.startswith(("do/", "tests/", ".mcc/", ".venv/", "iam/"))}  # not in the image

    again = run_do(project, {**aws_env, "IMAGE_TAG": "cb2"}, "submit")
    assert "CodeBuild project wine-life-image: unchanged" in again.stderr


def test_a_graviton_instance_type_gets_arm64_images_built_locally_and_on_an_arm_codebuild_host(project, aws_env, aws):
    env = {**aws_env, "INSTANCE_TYPE": "ml.c7g.xlarge", "IMAGE_TAG": "arm1"}
    build = run_do(project, env, "build")
    assert docker_calls(env)[0]["argv"][:3] == ["build", "--platform", "linux/arm64"]
    assert "building linux/arm64 images on this x86_64 machine runs every build step under QEMU" in " ".join(
        build.stderr.split()
    )
    run_do(project, env, "submit")
    found = aws("codebuild").batch_get_projects(names=["wine-life-image"])["projects"][0]
    environment = found["environment"]
    host = (environment["type"], environment["image"], environment["computeType"])
    assert host == ("ARM_CONTAINER", "aws/codebuild/amazonlinux2-aarch64-standard:3.0", "BUILD_GENERAL1_LARGE")
    assert {v["name"]: v["value"] for v in environment["environmentVariables"]}["PLATFORM"] == "linux/arm64"
    # back on an x86_64 type, the project must move host (moto has no UpdateProject: the comparison is checked)
    amd64 = {**environment, "type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0"}
    assert project_changes(found, {**found, "environment": amd64}) == ["environment.type", "environment.image"]


def test_submit_without_a_codebuild_role_calls_nothing(project, aws_env, aws):
    result = run_do(project, {**aws_env, "CODEBUILD_ROLE_ARN": ""}, "submit", check=False)
    assert result.returncode == 2
    assert "CODEBUILD_ROLE_ARN must be set" in result.stderr
    assert aws("codebuild").list_projects()["projects"] == []
    assert aws("ecr").describe_repositories()["repositories"] == []


def test_realtime_deploy_with_autoscaling_then_test_then_clean_all_twice(
    project, aws_env, aws, wine_model, wine, tmp_path
):
    tag = build_and_push(project, aws_env, aws)
    env = {**aws_env, "INSTANCE_TYPE": "ml.c5.xlarge", "INSTANCE_COUNT": "2", "AUTOSCALING_MAX": "4"}
    env["CONTAINER_ENV"] = "MCC_WORKERS=2 MCC_LOG_LEVEL=debug"
    result = run_do(project, env, "deploy")
    assert "endpoint wine-life: InService" in result.stderr

    sagemaker = aws("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName="wine-life")
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.c5.xlarge",
        2,
    )
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["Image"] == f"{REGISTRY}/{REPOSITORY}:{tag}"
    assert model["PrimaryContainer"]["Environment"] == {"MCC_WORKERS": "2", "MCC_LOG_LEVEL": "debug"}
    assert model["ExecutionRoleArn"] == ROLE_ARN

    autoscaling = aws("application-autoscaling")
    target = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][0]
    assert target["ResourceId"] == "endpoint/wine-life/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    policy = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert tracking["TargetValue"] == 100.0

    # do/test --endpoint: the emulator answers what the model really predicts for the sample payload.
    expected = wine_model.predict(wine[0][:5]).tolist()
    seed_endpoint_answer(aws_env, {"predictions": expected})
    tested = run_do(project, aws_env, "test", "--endpoint")
    assert json.loads(tested.stdout) == {"predictions": expected}
    three_rows = tmp_path / "three.csv"
    three_rows.write_text("\n".join(",".join(map(str, row)) for row in wine[0][:3]) + "\n")
    seed_endpoint_answer(aws_env, {"predictions": expected[:2]})  # one short: the endpoint answered wrongly
    wrong = run_do(project, aws_env, "test", "--endpoint", "--payload", str(three_rows), check=False)
    assert wrong.returncode == 1 and "expected 3 predictions" in wrong.stderr

    first = run_do(project, aws_env, "clean", "all")
    assert "deleted endpoint wine-life" in first.stderr
    assert_nothing_left(aws)
    second = run_do(project, aws_env, "clean", "all")
    assert "nothing to delete" in second.stderr
    assert_nothing_left(aws)


def test_async_deploy_and_async_test_through_s3(project, aws_env, aws, wine_model, wine):
    build_and_push(project, aws_env, aws)
    env = {
        **aws_env,
        "DEPLOY_MODE": "async",
        "ASYNC_OUTPUT_PATH": "s3://wine-results/async",
        "ASYNC_MAX_CONCURRENCY": "8",
    }
    env["ASYNC_ERROR_TOPIC"] = "arn:aws:sns:us-east-1:123456789012:wine-errors"
    run_do(project, env, "deploy")
    sagemaker = aws("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName="wine-life")["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    assert config["AsyncInferenceConfig"] == {
        "OutputConfig": {
            "S3OutputPath": "s3://wine-results/async",
            "NotificationConfig": {"ErrorTopic": "arn:aws:sns:us-east-1:123456789012:wine-errors"},
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 8},
    }
    expected = wine_model.predict(wine[0][:5]).tolist()
    moto_post(
        aws_env,
        "/moto-api/static/sagemaker/async-endpoint-results",
        {"results": [{"data": json.dumps({"predictions": expected})}]},
    )
    tested = run_do(project, env, "test", "--endpoint")
    assert json.loads(tested.stdout) == {"predictions": expected}
    uploaded = aws("s3").list_objects_v2(Bucket=f"sagemaker-us-east-1-{ACCOUNT}", Prefix="wine-life/async-inputs/")
    assert uploaded["KeyCount"] == 1
    run_do(project, env, "clean", "all")
    assert_nothing_left(aws)


def test_serverless_deploy_has_memory_and_concurrency_but_no_instances(project, aws_env, aws):
    build_and_push(project, aws_env, aws)
    env = {**aws_env, "SERVERLESS_MEMORY_MB": "3072", "SERVERLESS_MAX_CONCURRENCY": "7"}
    run_do(project, env, "deploy", "--mode", "serverless")
    sagemaker = aws("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName="wine-life")["EndpointConfigName"]
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 7}
    assert "InstanceType" not in variant


def test_serverless_refuses_a_gpu_image_and_bad_memory_before_any_call(project, aws_env, aws):
    build_and_push(project, aws_env, aws)
    env = {**aws_env, "DEPLOY_MODE": "serverless", "GPU_REQUIRED": "true", "SERVERLESS_MEMORY_MB": "1500"}
    result = run_do(project, env, "deploy", check=False)
    assert result.returncode == 2
    assert "needs a GPU" in result.stderr and "SERVERLESS_MEMORY_MB=1500" in result.stderr
    assert aws("sagemaker").list_models()["Models"] == []


def test_batch_deploy_runs_a_transform_job_and_waits(project, aws_env, aws):
    build_and_push(project, aws_env, aws)
    env = {**aws_env, "DEPLOY_MODE": "batch", "BATCH_INPUT": "s3://wine-in/rows/", "BATCH_OUTPUT": "s3://wine-out/"}
    env["BATCH_INSTANCE_COUNT"] = "3"
    result = run_do(project, env, "deploy")
    assert "Completed" in result.stderr
    sagemaker = aws("sagemaker")
    [summary] = sagemaker.list_transform_jobs()["TransformJobSummaries"]
    job = sagemaker.describe_transform_job(TransformJobName=summary["TransformJobName"])
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://wine-in/rows/"
    assert (job["TransformInput"]["ContentType"], job["TransformInput"]["SplitType"]) == ("text/csv", "Line")
    assert job["TransformOutput"]["S3OutputPath"] == "s3://wine-out/"
    assert job["TransformResources"] == {"InstanceType": "ml.m5.large", "InstanceCount": 3}
    assert sagemaker.list_endpoints()["Endpoints"] == []
    no_endpoint = run_do(project, env, "test", "--endpoint", check=False)
    assert no_endpoint.returncode == 2 and "has no endpoint" in no_endpoint.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ROLE_ARN": "my-role"}, "is not an IAM role ARN"),
        ({"ROLE_ARN": ""}, "ROLE_ARN must be set"),
        ({"INSTANCE_TYPE": "m5.large"}, "is not a SageMaker instance type"),
        ({"AWS_REGION": "moon-1"}, "is not an AWS Region"),
        ({"DEPLOY_MODE": "streaming"}, "is not a deploy mode"),
        ({"DEPLOY_MODE": "async"}, "ASYNC_OUTPUT_PATH must be set"),
        ({"ENDPOINT_NAME": "bad_name"}, "SageMaker's name rule"),
        ({"AUTOSCALING_MAX": "2", "AUTOSCALING_MIN": "3"}, "AUTOSCALING_MIN <= AUTOSCALING_MAX"),
        ({"INSTANCE_COUNT": "two"}, "must be a whole number"),
    ],
)
def test_invalid_settings_create_nothing(project, aws_env, aws, overrides, message):
    build_and_push(project, aws_env, aws)
    result = run_do(project, {**aws_env, **overrides}, "deploy", check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert aws("sagemaker").list_models()["Models"] == []
    assert aws("sagemaker").list_endpoint_configs()["EndpointConfigs"] == []


def test_deploy_without_a_pushed_image_says_so(project, aws_env, aws):
    run_do(project, aws_env, "build")
    result = run_do(project, aws_env, "deploy", check=False)
    assert result.returncode == 2 and "run do/push" in result.stderr
    assert aws("sagemaker").list_models()["Models"] == []


def test_logs_prints_the_endpoint_log_lines(project, aws_env, aws):
    logs = aws("logs")
    group = "/aws/sagemaker/Endpoints/wine-life"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-0abc")
    now_ms = int(__import__("time").time() * 1000)
    events = [
        {"timestamp": now_ms - 2000, "message": "booting worker"},
        {"timestamp": now_ms - 1000, "message": "ready"},
    ]
    logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-0abc", logEvents=events)
    result = run_do(project, aws_env, "logs", "--no-follow", "--since", "5")
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["booting worker", "ready"]
    assert all("AllTraffic/i-0abc" in line for line in lines)


def test_export_prints_the_resolved_settings(project, aws_env):
    result = run_do(project, {**aws_env, "INSTANCE_COUNT": "3", "ENDPOINT_NAME": "wine-prod"}, "export")
    settings = json.loads(result.stdout)
    assert settings["project_name"] == "wine-life" and settings["aws_region"] == "us-east-1"
    assert settings["instance_count"] == 3 and settings["derived"]["endpoint"] == "wine-prod"
    assert settings["deploy_mode"] == "realtime" and settings["role_arn"] == ROLE_ARN


def test_bootstrap_creates_roles_with_the_project_policies(project, aws_env, aws):
    result = run_do(project, {**aws_env, "ROLE_ARN": "", "CODEBUILD_ROLE_ARN": ""}, "bootstrap")
    assert f"ROLE_ARN=arn:aws:iam::{ACCOUNT}:role/wine-life-sagemaker-execution" in result.stdout
    iam = aws("iam")
    for role, document in (
        ("wine-life-sagemaker-execution", "sagemaker-execution"),
        ("wine-life-codebuild", "codebuild"),
    ):
        policy = iam.get_role_policy(RoleName=role, PolicyName=f"{role}-policy")["PolicyDocument"]
        expected = (project / "iam" / f"{document}-policy.json").read_text().replace("ACCOUNT_ID", ACCOUNT)
        assert policy == json.loads(expected)
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert trust == json.loads((project / "iam" / f"{document}-trust.json").read_text())
    run_do(project, {**aws_env, "ROLE_ARN": "", "CODEBUILD_ROLE_ARN": ""}, "bootstrap")  # again: updates, no error


def test_every_script_has_help(project, aws_env):
    for script in (
        "build",
        "push",
        "submit",
        "deploy",
        "run",
        "test",
        "benchmark",
        "adapter",
        "status",
        "logs",
        "clean",
        "export",
        "bootstrap",
    ):
        result = run_do(project, aws_env, script, "--help")
        assert "Usage: do/" + script in result.stdout


def seed_endpoint_answer(env: dict[str, str], answer: dict) -> None:
    body = json.dumps(answer)
    moto_post(
        env,
        "/moto-api/static/sagemaker/endpoint-results",
        {"results": [{"Body": body, "ContentType": "application/json"}]},
    )


def assert_nothing_left(aws) -> None:
    sagemaker = aws("sagemaker")
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
    assert aws("ecr").describe_repositories()["repositories"] == []
    assert aws("codebuild").list_projects()["projects"] == []
    assert (
        aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    )


def test_do_run_starts_the_image_as_sagemaker_does_with_the_model_mounted_read_only(project, aws_env):
    env = {
        **aws_env,
        "CONTAINER_ENV": "MCC_LOG_LEVEL=debug NOTE='two words'",
        "HF_TOKEN": "hf_not_a_real_token_value",
        "MCC_WORKERS": "3",
        "LOCAL_PORT": "9091",
    }
    run_do(project, env, "run")
    (call,) = [c["argv"] for c in docker_calls(env) if c["argv"][0] == "run"]
    assert call == [
        *("run", "--rm", "--platform", "linux/amd64", "--publish", "127.0.0.1:9091:8080"),
        *("--volume", f"{project / 'model'}:/opt/ml/model:ro"),
        *("--env", "MCC_LOG_LEVEL=debug", "--env", "NOTE=two words"),
        *("--env", "HF_TOKEN", "--env", "MCC_WORKERS"),  # by name: the token's value is never on the command line
        *("wine-life:latest", "serve"),
    ]


def test_do_run_gives_a_cuda_image_the_gpus(project, aws_env):
    env = {**aws_env, "IMAGE_CUDA": "12.8", "GPU_COUNT": "4", "IMAGE_NAME": "other-name"}
    run_do(project, env, "run")
    call = next(c["argv"] for c in docker_calls(env) if c["argv"][0] == "run")
    assert call[call.index("--gpus") + 1] == "all" and "SM_NUM_GPUS=4" in call
    assert call[-2:] == ["other-name:latest", "serve"]


def dry_run_requests(stdout: str) -> list[tuple[str, str, dict]]:
    """do/deploy --dry-run's requests: ``# N. SERVICE Operation`` headings, each followed by its JSON."""
    parts = re.split(r"^# \d+\. (\S+) (\S+)\n", stdout, flags=re.M)[1:]
    return [(parts[i], parts[i + 1], json.loads(parts[i + 2])) for i in range(0, len(parts), 3)]


@pytest.mark.parametrize("mode", ["realtime", "batch", "inference-component"])
def test_deploy_dry_run_prints_every_request_and_the_hourly_cost_and_creates_nothing(project, aws_env, aws, mode):
    tag = build_and_push(project, aws_env, aws)
    env = {**aws_env, "DEPLOY_MODE": mode, "INSTANCE_TYPE": "ml.c5.xlarge", "INSTANCE_COUNT": "2",
           "BATCH_INPUT": "s3://wine-input/rows/", "BATCH_OUTPUT": "s3://wine-output/answers/"}  # fmt: skip
    if mode == "realtime":
        env["AUTOSCALING_MAX"] = "4"
    result = run_do(project, env, "deploy", "--dry-run")
    requests = dry_run_requests(result.stdout)
    for service, operation, request in requests:
        valid_request(service, operation, request)  # each as botocore's service model takes it
    operations = [operation for _, operation, _ in requests]
    expected = {
        "realtime": ["CreateModel", "CreateEndpointConfig", "CreateEndpoint", "RegisterScalableTarget",
                     "PutScalingPolicy"],
        "batch": ["CreateModel", "CreateTransformJob"],
        "inference-component": ["CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent"],
    }[mode]  # fmt: skip
    assert operations == expected
    assert requests[0][2]["PrimaryContainer"]["Image"] == f"{REGISTRY}/{REPOSITORY}:{tag}"
    cost = " ".join(result.stderr.split())
    if mode == "batch":
        assert "cost while the transform job runs: 1 x ml.c5.xlarge at ~$0.204/h = ~$0.204/h" in cost
    else:
        assert "cost while the endpoint exists: 2 x ml.c5.xlarge at ~$0.204/h = ~$0.408/h (~$298 a month" in cost
    if mode == "realtime":
        assert "up to ~$0.816/h at 4 instances (autoscaling)" in cost
    assert "dry run: nothing was created" in cost
    sagemaker = aws("sagemaker")
    assert sagemaker.list_models()["Models"] == [] and sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []


def test_deploy_dry_run_works_before_the_first_build_without_a_role_and_without_aws(project, aws_env):
    env = {k: v for k, v in aws_env.items() if not k.startswith("AWS_") and k != "ROLE_ARN"}
    env.update(AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")  # fmt: skip
    result = run_do(project, env, "deploy", "--dry-run")
    (model,) = [request for _, operation, request in dry_run_requests(result.stdout) if operation == "CreateModel"]
    assert model["PrimaryContainer"]["Image"] == "<ECR repository wine-life (not pushed yet)>:NOT-BUILT-YET"
    assert model["ExecutionRoleArn"] == "<ROLE_ARN: not set>" and "ROLE_ARN is not set" in result.stderr
    refused = run_do(project, {**env, "IMAGE_TAG": "v1"}, "deploy", check=False)  # the real one needs the role
    assert refused.returncode == 2 and "ROLE_ARN must be set" in refused.stderr
    assert "no AWS access here" in result.stderr and "~$0.115/h" in result.stderr  # ml.m5.large, the default
