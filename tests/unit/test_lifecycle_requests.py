"""mcc_lifecycle's pure parts: settings rules, the AWS requests it builds, names, the CodeBuild source.

The paths moto cannot run (UpdateEndpoint, UpdateProject, failed builds and endpoints) are checked here
through the requests and outcomes they are built from.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import zipfile

import pytest
import yaml

from mcc.checks.linters import find_tool
from mcc_lifecycle import codebuild, deploy, names, rules, waiting
from mcc_lifecycle.aws import Aws
from mcc_lifecycle.settings import Settings, SettingsError

ROLE = "arn:aws:iam::123456789012:role/wine-sagemaker-execution"


def settings(**overrides) -> Settings:
    return Settings(**{"project_name": "wine", "aws_region": "eu-west-1", "role_arn": ROLE, **overrides})


def test_settings_come_from_upper_case_variables_and_empty_means_default():
    read = Settings.from_env(
        {
            "PROJECT_NAME": "wine",
            "AWS_REGION": "eu-west-1",
            "INSTANCE_COUNT": "3",
            "GPU_REQUIRED": "true",
            "ROLE_ARN": "",
        }
    )
    assert (read.instance_count, read.gpu_required, read.role_arn, read.deploy_mode) == (3, True, "", "realtime")
    assert (read.endpoint, read.repository, read.codebuild_name) == ("wine", "wine", "wine-image")
    with pytest.raises(SettingsError, match="INSTANCE_COUNT must be a whole number"):
        Settings.from_env({"PROJECT_NAME": "wine", "AWS_REGION": "eu-west-1", "INSTANCE_COUNT": "x"})
    with pytest.raises(SettingsError, match="PROJECT_NAME, AWS_REGION must be set"):
        Settings.from_env({})
    with pytest.raises(SettingsError, match="GPU_REQUIRED='ture' must be one of 1/0, true/false"):
        Settings.from_env({"PROJECT_NAME": "wine", "AWS_REGION": "eu-west-1", "GPU_REQUIRED": "ture"})


BATCH = {"deploy_mode": "batch", "batch_input": "s3://in-bucket/rows/", "batch_output": "s3://out-bucket/"}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({}, None),
        ({"deploy_mode": "serverless", "instance_type": ""}, None),  # serverless needs no instance type
        ({"deploy_mode": "realtime", "instance_type": ""}, "realtime deployments need one"),
        ({"deploy_mode": "async", "instance_type": "t2"}, "async deployments need one"),
        (
            {"deploy_mode": "serverless", "serverless_max_concurrency": 201},
            "SERVERLESS_MAX_CONCURRENCY must be 1 to 200",
        ),
        ({"deploy_mode": "batch", "batch_input": "s3://in/x"}, "BATCH_OUTPUT must be set"),
        (
            {"deploy_mode": "batch", "batch_input": "in/x", "batch_output": "s3://o/"},
            "is not an s3://bucket/prefix URI",
        ),
        (
            {"deploy_mode": "batch", "batch_input": "s3://i/", "batch_output": "s3://o/", "batch_split_type": "Row"},
            "Line",
        ),
        (
            {**BATCH, "batch_max_payload_mb": 50, "container_env": "MCC_MAX_PAYLOAD_MB=6"},
            "BATCH_MAX_PAYLOAD_MB=50 is larger than the container's body limit, MCC_MAX_PAYLOAD_MB=6",
        ),
        ({**BATCH, "batch_max_payload_mb": 50}, None),  # the server takes SageMaker's SAGEMAKER_MAX_PAYLOAD_IN_MB
        (
            {**BATCH, "batch_accept": "application/json"},
            "BATCH_ACCEPT='application/json' must be one of text/csv, application/jsonlines",
        ),
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "is not an IAM role ARN"),
        ({"project_name": "x" * 48}, "versioned model names need it at most 47"),
        ({"account_id": "12"}, "must be 12 digits"),
        ({"ecr_repository": "Wine"}, "not a valid ECR repository name"),
        ({"instance_count": 0}, "INSTANCE_COUNT must be at least 1"),
        ({"model_data_url": "https://x/model.tar.gz"}, "MODEL_DATA_URL"),
    ],
)
def test_deploy_rules(overrides, fragment):
    errors = rules.settings_errors(settings(**overrides), "deploy")
    if fragment is None:
        assert errors == []
    else:
        assert any(fragment in e for e in errors), errors


def test_only_deploy_and_submit_need_their_roles():
    assert rules.settings_errors(settings(role_arn=""), "push") == []
    assert "CODEBUILD_ROLE_ARN must be set" in rules.settings_errors(settings(), "submit")[0]


def aws_for(**overrides) -> Aws:
    return Aws(settings(**overrides))  # builds requests; makes no call


def test_model_request_carries_image_role_environment_and_model_data():
    aws = aws_for(container_env="MCC_WORKERS=2 NOTE='a b'", model_data_url="s3://b/model.tar.gz")
    request = deploy.model_request(aws, "wine-1", "repo:tag")
    assert request["PrimaryContainer"] == {
        "Image": "repo:tag",
        "Mode": "SingleModel",
        "Environment": {"MCC_WORKERS": "2", "NOTE": "a b"},
        "ModelDataUrl": "s3://b/model.tar.gz",
    }
    assert request["ExecutionRoleArn"] == ROLE
    assert request["Tags"] == [{"Key": "mcc:project", "Value": "wine"}]
    with pytest.raises(SettingsError, match="is not KEY=VALUE"):
        deploy.model_request(aws_for(container_env="oops"), "wine-1", "repo:tag")


def test_endpoint_config_per_mode():
    realtime = deploy.endpoint_config_request(aws_for(instance_count=2), "c", "m")
    assert realtime["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": "m",
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 2,
            "InitialVariantWeight": 1.0,
        }
    ]
    assert "AsyncInferenceConfig" not in realtime
    serverless = deploy.endpoint_config_request(aws_for(deploy_mode="serverless"), "c", "m")
    assert serverless["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in serverless["ProductionVariants"][0]
    asynchronous = deploy.endpoint_config_request(
        aws_for(deploy_mode="async", async_output_path="s3://o/", async_success_topic="arn:sns"), "c", "m"
    )
    assert asynchronous["AsyncInferenceConfig"]["OutputConfig"] == {
        "S3OutputPath": "s3://o/",
        "NotificationConfig": {"SuccessTopic": "arn:sns"},
    }


def test_an_existing_endpoint_is_updated_to_the_new_configuration_blue_green():
    # moto has no UpdateEndpoint: the request is checked here.
    assert deploy.update_endpoint_request("wine", "wine-20260101-000000") == {
        "EndpointName": "wine",
        "EndpointConfigName": "wine-20260101-000000",
    }


def test_scaling_requests_track_invocations_per_instance():
    target, policy = deploy.scaling_requests(aws_for(autoscaling_min=2, autoscaling_max=6, autoscaling_target=250))
    assert target["ResourceId"] == policy["ResourceId"] == "endpoint/wine/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 250.0


def test_transform_job_splits_lines_into_multi_record_batches():
    request = deploy.transform_job_request(
        aws_for(deploy_mode="batch", batch_input="s3://i/", batch_output="s3://o/"), "job", "model"
    )
    assert request["BatchStrategy"] == "MultiRecord" and request["TransformOutput"]["AssembleWith"] == "Line"
    assert request["TransformOutput"]["Accept"] == "text/csv"  # one output line per record
    lines = deploy.transform_job_request(aws_for(batch_accept="application/jsonlines"), "job", "model")
    assert lines["TransformOutput"]["Accept"] == "application/jsonlines"
    single = deploy.transform_job_request(aws_for(batch_split_type="None"), "job", "model")
    assert single["BatchStrategy"] == "SingleRecord" and single["TransformOutput"]["AssembleWith"] == "None"


def wait(states, limit_s=60):
    return waiting.wait_for_status(
        describe=lambda: next(states),
        status_key="EndpointStatus",
        done="InService",
        failed=("Failed",),
        what="endpoint wine",
        logs=names.endpoint_log_group("wine"),
        limit_s=limit_s,
        poll=0,
        out=io.StringIO(),
    )


def test_failed_endpoint_reports_the_reason_and_the_log_group():
    states = iter([{"EndpointStatus": "Creating"}, {"EndpointStatus": "Failed", "FailureReason": "ping timed out"}])
    with pytest.raises(waiting.DeployFailed) as failure:
        wait(states)
    assert "ping timed out" in str(failure.value)
    assert "/aws/sagemaker/Endpoints/wine" in str(failure.value)


def test_an_endpoint_still_creating_past_the_limit_is_reported():
    states = iter([{"EndpointStatus": "Creating"}] * 2)
    with pytest.raises(waiting.DeployFailed, match="still Creating after 0 min"):
        wait(states, limit_s=0)
    assert (
        wait(iter([{"EndpointStatus": "Creating"}, {"EndpointStatus": "InService"}]))["EndpointStatus"] == "InService"
    )


def test_versioned_names_fit_sagemaker():
    name = names.versioned_name("x" * 47, dt.datetime(2026, 11, 25, 1, 2, 3, tzinfo=dt.UTC))
    assert name.endswith("-20261125-010203") and len(name) == rules.SAGEMAKER_NAME_MAX
    assert rules.sagemaker_name_error(name) is None


def test_codebuild_project_changes_are_detected_and_immutable_repos_get_no_latest():
    aws = aws_for(codebuild_role_arn="arn:aws:iam::123456789012:role/cb", ecr_tag_mutability="IMMUTABLE")
    request = codebuild.project_request(aws, "1.dkr.ecr/wine", "bucket", "key.zip")
    variables = {v["name"]: v["value"] for v in request["environment"]["environmentVariables"]}
    assert variables["PUSH_LATEST"] == "false"
    assert codebuild.project_changes(request, request) == []
    changed = {**request, "environment": {**request["environment"], "computeType": "BUILD_GENERAL1_LARGE"}}
    assert codebuild.project_changes(changed, request) == ["environment.computeType"]


def test_a_failed_build_names_its_phase_and_reason():
    build = {
        "id": "b:1",
        "buildStatus": "FAILED",
        "phases": [
            {"phaseType": "PRE_BUILD", "phaseStatus": "SUCCEEDED"},
            {
                "phaseType": "BUILD",
                "phaseStatus": "FAILED",
                "contexts": [{"message": "COMMAND_EXECUTION_ERROR: exit 1"}],
            },
        ],
    }
    assert codebuild.outcome(build) == (False, "build b:1 ended FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: exit 1")
    assert codebuild.outcome({"id": "b:2", "buildStatus": "SUCCEEDED"})[0] is True


def test_codebuild_source_is_what_dockerignore_lets_through(tmp_path):
    (tmp_path / ".dockerignore").write_text("*\n!code/\n!model/\n**/__pycache__\n")
    for path in (
        "Dockerfile",
        "buildspec.yml",
        "code/serve",
        "code/__pycache__/x.pyc",
        "model/m.joblib",
        ".env",
        "do/deploy",
        ".venv/bin/python",
        "tests/test_x.py",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(path)
    (tmp_path / "code/serve").chmod(0o755)
    assert codebuild.source_files(tmp_path) == [
        ".dockerignore",
        "Dockerfile",
        "buildspec.yml",
        "code/serve",
        "model/m.joblib",
    ]
    archive = tmp_path / "source.zip"
    archive.write_bytes(codebuild.source_zip(tmp_path))
    info = zipfile.ZipFile(archive).getinfo("code/serve")
    assert (info.external_attr >> 16) & 0o111  # still executable after CodeBuild unzips it


def test_buildspec_commands_are_clean_bash_using_only_variables_codebuild_is_given(planned_project):
    buildspec = yaml.safe_load((planned_project / "buildspec.yml").read_text())
    assert buildspec["version"] == 0.2
    commands = [c for phase in buildspec["phases"].values() for c in phase["commands"]]
    assert any("--platform" in c for c in commands)
    given = {"IMAGE_REPO_URI", "PLATFORM", "PUSH_LATEST", "IMAGE_TAG", "AWS_DEFAULT_REGION"}
    script = "#!/usr/bin/env bash\n" + "".join(f': "${{{v}:?}}"\n' for v in sorted(given)) + "\n".join(commands) + "\n"
    shellcheck = find_tool("shellcheck")
    result = subprocess.run([shellcheck, "--shell=bash", "-"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.fixture
def planned_project(tmp_path, wine_model_file):
    from click.testing import CliRunner

    from mcc.cli import main

    target = tmp_path / "wine"
    result = CliRunner().invoke(
        main, ["new", "-y", "--project-name", "wine", "--model-file", str(wine_model_file), "--output-dir", str(target)]
    )
    assert result.exit_code == 0, result.output
    return target


@pytest.mark.parametrize("document", ["sagemaker-execution-policy", "codebuild-policy", "deployer-policy"])
def test_iam_policies_are_scoped_to_the_project(planned_project, document):
    policy = json.loads((planned_project / "iam" / f"{document}.json").read_text())
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"])  # actions are listed, never wildcards
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            if resource == "*":  # only where AWS offers no resource scope, and then said so or narrowed
                assert statement.get("Sid") or statement.get("Condition"), statement
            else:
                assert "wine" in resource or statement.get("Sid") or statement.get("Condition"), resource
                assert (resource.startswith("arn:aws:") and ":ACCOUNT_ID:" in resource) or ":::" in resource


def test_trust_policies_name_their_service(planned_project):
    for document, service in (("sagemaker-execution-trust", "sagemaker"), ("codebuild-trust", "codebuild")):
        trust = json.loads((planned_project / "iam" / f"{document}.json").read_text())
        assert trust["Statement"][0]["Principal"] == {"Service": f"{service}.amazonaws.com"}


def test_do_run_forwards_the_token_and_an_engines_settings_by_name_only(tmp_path):
    from mcc_lifecycle.container import run_arguments

    settings = Settings(project_name="llm", aws_region="us-east-1", image_cuda="12.8", gpu_count=4)
    environ = {"HF_TOKEN": "hf_secret", "MCC_ENGINE_ARGS": "enable-prefix-caching", "MCC_MAX_MODEL_LEN": "4096"}
    arguments = run_arguments(settings, tmp_path, environ, 8080)
    assert arguments[arguments.index("--gpus") + 1] == "all"
    assert arguments[arguments.index("--env") + 1] == "SM_NUM_GPUS=4"
    for name in environ:
        assert name in arguments  # by name: docker reads the value from this environment
    assert not [a for a in arguments if "hf_secret" in a or "enable-prefix-caching" in a]


def test_waiting_in_a_terminal_redraws_status_and_elapsed_time_and_says_each_change():
    import os
    import pty

    leader, follower = pty.openpty()
    terminal = os.fdopen(follower, "w")
    states = iter([{"EndpointStatus": "Creating"}, {"EndpointStatus": "Creating"}, {"EndpointStatus": "InService"}])
    waiting.wait_for_status(describe=lambda: next(states), status_key="EndpointStatus", done="InService",
                            failed=("Failed",), what="endpoint wine", logs="group", limit_s=60, poll=1.1,
                            out=terminal)  # fmt: skip
    terminal.close()
    shown = b""
    while chunk := _read(leader):
        shown += chunk
    os.close(leader)
    text = shown.decode()
    assert text.startswith("\r\x1b[Kendpoint wine: Creating (0 s)")
    assert "\r\x1b[K  Creating · 1 s (Ctrl-C stops waiting, not the deployment)" in text  # the live line
    assert "\r\x1b[Kendpoint wine: Creating -> InService after 2 s" in text


def _read(fd: int) -> bytes:
    import os
    import select

    try:
        return os.read(fd, 4096) if select.select([fd], [], [], 0.2)[0] else b""
    except OSError:  # EIO: the terminal's other side is closed and everything was read
        return b""


def test_waiting_in_a_log_says_each_change_and_reminds_every_minute(monkeypatch):
    monkeypatch.setattr(waiting, "REMINDER_S", 0.0)
    log = io.StringIO()
    states = iter([{"EndpointStatus": "Creating"}] * 2 + [{"EndpointStatus": "InService"}])
    waiting.wait_for_status(describe=lambda: next(states), status_key="EndpointStatus", done="InService",
                            failed=("Failed",), what="endpoint wine", logs="group", limit_s=60, poll=0,
                            out=log)  # fmt: skip
    assert log.getvalue().splitlines() == [
        "endpoint wine: Creating (0 s)",
        "endpoint wine: still Creating (0 s)",
        "endpoint wine: Creating -> InService after 0 s",
    ]
