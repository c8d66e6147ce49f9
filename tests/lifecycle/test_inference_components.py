"""DEPLOY_MODE=inference-component. The AWS emulator has no inference-component calls (moto answers 500), so
every request do/deploy, do/test, do/benchmark and do/clean make for ICs is checked against botocore's own
SageMaker models with botocore's own parameter validation, and its content asserted; the rules and the sizing
of each copy's reservation are checked as the generated project states them."""

from __future__ import annotations

import time

import pytest

from mcc_lifecycle import inference_components as ic
from mcc_lifecycle.aws import Aws
from mcc_lifecycle.rules import settings_errors
from mcc_lifecycle.settings import Settings
from tests.support.moto import valid_request
from tests.support.projects import run_mcc_new

ROLE = "arn:aws:iam::123456789012:role/llm-sagemaker-execution"
GPU_PROJECT = {
    "PROJECT_NAME": "llm",
    "AWS_REGION": "us-east-1",
    "ROLE_ARN": ROLE,
    "DEPLOY_MODE": "inference-component",
    "INSTANCE_TYPE": "ml.g5.12xlarge",
    "INSTANCE_COUNT": "1",
    "GPU_REQUIRED": "true",
    "GPU_COUNT": "4",
    "IC_MEMORY_MB": "16384",
    "IC_COPY_COUNT": "2",
    "STARTUP_TIMEOUT_S": "899",
    "INFERENCE_AMI_VERSION": "al2023-ami-sagemaker-inference-gpu-4-1",
}


def aws_for(**overrides: str) -> Aws:
    return Aws(Settings.from_env({**GPU_PROJECT, **overrides}))


def test_the_endpoint_configuration_names_no_model_and_routes_to_the_least_busy_instance():
    request = valid_request(
        "sagemaker", "CreateEndpointConfig", ic.endpoint_config_request(aws_for(), "llm-20261130-000000")
    )
    (variant,) = request["ProductionVariants"]
    assert request["ExecutionRoleArn"] == ROLE and "ModelName" not in variant
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g5.12xlarge", 1)
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert "ManagedInstanceScaling" not in variant
    scaled = ic.endpoint_config_request(aws_for(IC_MIN_INSTANCES="0", IC_MAX_INSTANCES="3"), "llm-1")
    assert valid_request("sagemaker", "CreateEndpointConfig", scaled)["ProductionVariants"][0][
        "ManagedInstanceScaling"
    ] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 3,
    }


def test_the_inference_component_reserves_the_gpus_memory_and_copies_the_project_says():
    request = valid_request(
        "sagemaker", "CreateInferenceComponent", ic.create_request(aws_for(), "llm-20261130-000000")
    )
    assert (request["InferenceComponentName"], request["EndpointName"], request["VariantName"]) == (
        "llm",
        "llm",
        "AllTraffic",
    )
    spec = request["Specification"]
    assert spec["ModelName"] == "llm-20261130-000000"
    assert spec["ComputeResourceRequirements"] == {
        "MinMemoryRequiredInMb": 16384,
        "NumberOfAcceleratorDevicesRequired": 4.0,
    }
    assert spec["StartupParameters"] == {"ModelDataDownloadTimeoutInSeconds": 899,
                                         "ContainerStartupHealthCheckTimeoutInSeconds": 899}  # fmt: skip
    assert request["RuntimeConfig"] == {"CopyCount": 2}
    cpu = ic.create_request(aws_for(GPU_REQUIRED="false", GPU_COUNT="0", IC_CPU_CORES="2", STARTUP_TIMEOUT_S="0"), "m")
    assert valid_request("sagemaker", "CreateInferenceComponent", cpu)["Specification"] == {
        "ModelName": "m",
        "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 16384, "NumberOfCpuCoresRequired": 2.0},
    }


def test_a_new_model_updates_the_same_component_in_place():
    request = valid_request(
        "sagemaker", "UpdateInferenceComponent", ic.update_request(aws_for(), "llm-20261201-000000")
    )
    assert request["InferenceComponentName"] == "llm" and request["Specification"]["ModelName"] == "llm-20261201-000000"


def test_invocations_name_the_component_and_other_calls_are_well_formed():
    settings = aws_for().settings
    assert settings.invocation_target == {"EndpointName": "llm", "InferenceComponentName": "llm"}
    body = {"Body": b"{}", "ContentType": "application/json"}
    valid_request("sagemaker-runtime", "InvokeEndpoint", {**settings.invocation_target, **body})
    valid_request("sagemaker-runtime", "InvokeEndpointWithResponseStream", {**settings.invocation_target, **body})
    valid_request("sagemaker", "DescribeInferenceComponent", {"InferenceComponentName": "llm"})
    valid_request("sagemaker", "DeleteInferenceComponent", {"InferenceComponentName": "llm"})
    valid_request("sagemaker", "ListInferenceComponents", {"EndpointNameEquals": "llm"})
    assert "InferenceComponentName" not in aws_for(DEPLOY_MODE="realtime").settings.invocation_target


def test_reservations_beyond_the_instances_are_warned_about():
    instance = {"vcpus": 48, "memory_gib": 192, "gpus": 4}
    assert ic.reservation_warnings({"memory": 32768, "accelerators": 4}, instance, 1, "ml.g5.12xlarge") == []
    warnings = ic.reservation_warnings({"memory": 300_000, "accelerators": 6}, instance, 1, "ml.g5.12xlarge")
    assert len(warnings) == 2 and "reserve 6 accelerators" in warnings[1] and "have 4" in warnings[1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"IC_COPY_COUNT": "0"}, "IC_COPY_COUNT must be at least 1"),
        ({"IC_MEMORY_MB": "64"}, "IC_MEMORY_MB"),
        ({"IC_MIN_INSTANCES": "3", "IC_MAX_INSTANCES": "2"}, "IC_MIN_INSTANCES <= IC_MAX_INSTANCES"),
        ({"AUTOSCALING_MAX": "4", "AUTOSCALING_MIN": "1"}, "IC_MIN_INSTANCES/IC_MAX_INSTANCES"),
        ({"INFERENCE_COMPONENT_NAME": "llm_v2"}, "INFERENCE_COMPONENT_NAME"),
        ({"DATA_CAPTURE_PERCENT": "10"}, "DATA_CAPTURE_PERCENT"),
    ],
)
def test_bad_inference_component_settings_are_refused(overrides, message):
    errors = settings_errors(aws_for(**overrides).settings, "deploy")
    assert any(message in error for error in errors), errors


def test_a_generated_llm_project_reserves_memory_for_its_weights(tmp_path):
    model = ("--framework", "transformers", "--model-id", "meta-llama/Llama-3.1-8B-Instruct")
    deployment = ("--instance-type", "ml.g5.12xlarge", "--deploy-mode", "inference-component")
    result = run_mcc_new(tmp_path / "llm", *model, *deployment)
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "llm" / "do" / "config").read_text()
    weights_mb = 8.03e9 * 2 / 2**20  # 16-bit weights of an 8B model
    reserved = int(config.split("IC_MEMORY_MB=${IC_MEMORY_MB:-", 1)[1].split("}", 1)[0])
    assert weights_mb <= reserved < weights_mb + 1024
    assert "DEPLOY_MODE=${DEPLOY_MODE:-inference-component}" in config


def test_the_deployer_may_manage_this_projects_component_and_every_policy_has_unique_statement_ids():
    from mcc_lifecycle.policies import Scope, documents

    scope = Scope("aws", "us-east-1", "123456789012", aws_for(DATA_CAPTURE_PERCENT="0").settings)
    policies = {name: doc for name, doc in documents(scope).items() if name.endswith("-policy.json")}
    for name, document in policies.items():
        sids = [s["Sid"] for s in document["Statement"] if "Sid" in s]
        assert len(sids) == len(set(sids)), name
    statements = policies["deployer-policy.json"]["Statement"]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm"
    managing = [s for s in statements if "sagemaker:UpdateInferenceComponent" in s["Action"]]
    assert len(managing) == 1 and arn in managing[0]["Resource"]
    assert any("sagemaker:ListInferenceComponents" in s["Action"] for s in statements)


def test_copies_scale_on_concurrency_and_back_from_zero_through_an_alarm():
    settings = aws_for(IC_MIN_COPIES="0", IC_MAX_COPIES="4", IC_TARGET_CONCURRENCY="8").settings
    requests = ic.scaling_requests(settings)
    target = valid_request("application-autoscaling", "RegisterScalableTarget", requests["target"])
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == ("inference-component/llm", 0, 4)
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    tracking = valid_request("application-autoscaling", "PutScalingPolicy", requests["tracking"])
    configuration = tracking["TargetTrackingScalingPolicyConfiguration"]
    assert configuration["TargetValue"] == 8.0
    metric = configuration["PredefinedMetricSpecification"]["PredefinedMetricType"]
    assert metric == "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    step = valid_request("application-autoscaling", "PutScalingPolicy", requests["from_zero"])
    assert step["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}
    ]
    policy_arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/sagemaker/x:policyName/y"
    alarm = valid_request("cloudwatch", "PutMetricAlarm", ic.scale_out_alarm_request(settings, policy_arn))
    assert (alarm["MetricName"], alarm["AlarmActions"]) == ("NoCapacityInvocationFailures", [policy_arn])
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "llm"}]
    assert "from_zero" not in ic.scaling_requests(aws_for(IC_MIN_COPIES="1", IC_MAX_COPIES="4").settings)
    errors = settings_errors(aws_for(IC_MIN_COPIES="5", IC_MAX_COPIES="4").settings, "deploy")
    assert any("IC_MIN_COPIES <= IC_MAX_COPIES" in e for e in errors)


LMI = {"engine": {"name": "djl-lmi"}, "generation": {"enable_lora": True}}


def test_an_adapter_is_a_component_on_the_base_with_its_weights():
    aws = aws_for()
    request = valid_request(
        "sagemaker", "CreateInferenceComponent", ic.adapter_request(aws, "sql", "s3://b/sql.tar.gz")
    )
    assert request["InferenceComponentName"] == "llm-sql" and request["EndpointName"] == "llm"
    assert request["Specification"] == {"BaseInferenceComponentName": "llm",
                                        "Container": {"ArtifactUrl": "s3://b/sql.tar.gz"}}  # fmt: skip
    adapter = aws.with_component(ic.adapter_component(aws.settings, "sql"))
    assert adapter.settings.invocation_target == {"EndpointName": "llm", "InferenceComponentName": "llm-sql"}
    described = [
        {"InferenceComponentName": "llm", "Specification": {"ModelName": "m"}},
        {"InferenceComponentName": "llm-sql", "InferenceComponentStatus": "InService",
         "Specification": {"BaseInferenceComponentName": "llm", "Container": {"ArtifactUrl": "s3://b/sql.tar.gz"}}},
        {"InferenceComponentName": "other-x", "Specification": {"BaseInferenceComponentName": "other"}},
    ]  # fmt: skip
    assert ic.adapters_of("llm", described) == [
        {"name": "sql", "component": "llm-sql", "status": "InService", "artifact": "s3://b/sql.tar.gz"}
    ]


@pytest.mark.parametrize(
    ("overrides", "serving", "name", "url", "message"),
    [
        ({}, LMI, "sql", "s3://b/sql.tar.gz", None),
        ({"DEPLOY_MODE": "realtime"}, LMI, "sql", "s3://b/sql.tar.gz", "DEPLOY_MODE must be inference-component"),
        ({}, {"engine": {"name": "vllm"}, "generation": {"enable_lora": True}}, "sql", None, "through AWS's LMI"),
        ({}, {"engine": {"name": "djl-lmi"}, "generation": {}}, "sql", None, "with --enable-lora"),
        ({}, LMI, "sql_v2", None, "adapter name 'sql_v2'"),
        ({}, LMI, "sql", "s3://b/sql/", "is not an s3://… .tar.gz"),
    ],
)
def test_adapters_are_checked_against_the_project_before_any_call(overrides, serving, name, url, message):
    errors = ic.adapter_errors(aws_for(**overrides).settings, serving, name, url)
    assert errors == [] if message is None else any(message in e for e in errors), errors


def test_do_adapter_refuses_a_project_that_cannot_have_adapter_components(project, aws_env):
    from tests.lifecycle.conftest import run_do

    result = run_do(project, aws_env, "adapter", "add", "sql", "s3://b/sql.tar.gz", check=False)
    assert result.returncode == 2 and "nothing was called" in result.stderr
    assert "DEPLOY_MODE must be inference-component" in result.stderr and "through AWS's LMI" in result.stderr
    missing = run_do(project, aws_env, "adapter", "remove", check=False)
    assert missing.returncode == 2 and "needs the adapter's NAME" in missing.stderr


def test_do_status_says_what_runs_and_do_logs_reads_the_components_log_group(project, aws_env, aws):
    from tests.lifecycle.conftest import run_do
    from tests.lifecycle.test_do_scripts import build_and_push

    assert run_do(project, aws_env, "status", check=False).returncode == 1  # nothing deployed yet
    build_and_push(project, aws_env, aws)
    run_do(project, {**aws_env, "INSTANCE_COUNT": "2"}, "deploy")
    said = run_do(project, aws_env, "status").stdout
    assert "endpoint wine-life: InService" in said and "variant AllTraffic: 2 instance(s) running" in said
    run_do(project, aws_env, "clean", "all")
    logs = aws("logs")
    group = "/aws/sagemaker/InferenceComponents/wine-life"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="copy-1")
    logs.put_log_events(logGroupName=group, logStreamName="copy-1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "copy 1 serving"}])  # fmt: skip
    printed = run_do(project, {**aws_env, "DEPLOY_MODE": "inference-component"}, "logs", "--no-follow").stdout
    assert "copy-1: copy 1 serving" in printed


def test_status_lines_of_a_component_with_copies_and_an_adapter():
    endpoint = {"EndpointName": "llm", "EndpointStatus": "InService", "EndpointConfigName": "llm-1",
                "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}]}  # fmt: skip
    component = {
        "InferenceComponentName": "llm",
        "InferenceComponentStatus": "InService",
        "RuntimeConfig": {"CurrentCopyCount": 1, "DesiredCopyCount": 2},
        "Specification": {"ModelName": "llm-1", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 16384,
                          "NumberOfAcceleratorDevicesRequired": 1.0}},
    }  # fmt: skip
    adapters = [{"name": "sql", "component": "llm-sql", "status": "Creating", "artifact": "s3://b/sql.tar.gz"}]
    from mcc_lifecycle.status import status_lines

    lines = status_lines(endpoint, component, adapters)
    assert lines[2] == ("inference component llm: InService, 1 of 2 copies (model llm-1; each copy: 16384 MB memory, "
                        "1 accelerator(s))")  # fmt: skip
    assert lines[3] == "  adapter sql: Creating (s3://b/sql.tar.gz)"
