"""Production endpoint settings in do/config: the variant's name, storage volume, least-outstanding-requests
routing and data capture for Model Monitor reach the endpoint configuration on the AWS emulator (and pass
botocore's own validation of the request), autoscaling follows the variant's name, the execution role may write
the capture destination, and bad values are refused before any call."""

from __future__ import annotations

from tests.lifecycle.conftest import run_do
from tests.lifecycle.test_do_scripts import build_and_push

PRODUCTION = {
    "VARIANT_NAME": "blue",
    "VOLUME_SIZE_GB": "64",
    "ROUTING_STRATEGY": "LEAST_OUTSTANDING_REQUESTS",
    "DATA_CAPTURE_PERCENT": "20",
    "DATA_CAPTURE_S3": "s3://monitoring-bucket/wine-life/capture",
    "AUTOSCALING_MAX": "3",
}


def test_variant_volume_routing_and_data_capture_reach_the_endpoint_configuration(project, aws_env, aws):
    build_and_push(project, aws_env, aws)
    run_do(project, {**aws_env, **PRODUCTION}, "deploy")
    sagemaker = aws("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName="wine-life")["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["VolumeSizeInGB"]) == ("blue", 64)
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    capture = config["DataCaptureConfig"]
    assert (capture["EnableCapture"], capture["InitialSamplingPercentage"]) == (True, 20)
    assert capture["DestinationS3Uri"] == "s3://monitoring-bucket/wine-life/capture"
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    target = aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target[0]["ResourceId"] == "endpoint/wine-life/variant/blue"
    run_do(project, aws_env, "clean", "all")


def test_the_default_capture_destination_is_the_projects_and_captures_what_was_asked(project, aws_env, aws):
    build_and_push(project, aws_env, aws)
    run_do(project, {**aws_env, "DATA_CAPTURE_PERCENT": "100", "DATA_CAPTURE_MODES": "Output"}, "deploy")
    sagemaker = aws("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName="wine-life")["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    capture = config["DataCaptureConfig"]
    assert capture["DestinationS3Uri"].endswith("/wine-life/data-capture")
    assert capture["CaptureOptions"] == [{"CaptureMode": "Output"}]
    variant = config["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic" and "VolumeSizeInGB" not in variant and "RoutingConfig" not in variant
    run_do(project, aws_env, "clean", "all")


def test_the_execution_role_may_write_a_capture_destination_of_its_own(project, aws_env, aws):
    env = {**aws_env, **PRODUCTION, "ROLE_ARN": "", "CODEBUILD_ROLE_ARN": ""}
    run_do(project, env, "bootstrap")
    role = "wine-life-sagemaker-execution"
    policy = aws("iam").get_role_policy(RoleName=role, PolicyName=f"{role}-policy")["PolicyDocument"]
    capture = [s for s in policy["Statement"] if s.get("Sid") == "DataCapture"]
    assert capture == [{"Sid": "DataCapture", "Effect": "Allow", "Action": ["s3:PutObject"],
                        "Resource": "arn:aws:s3:::monitoring-bucket/wine-life/capture/*"}]  # fmt: skip


def test_bad_endpoint_settings_are_refused_before_any_call(project, aws_env, aws):
    build_and_push(project, aws_env, aws)
    env = {**aws_env, "VARIANT_NAME": "blue_green", "VOLUME_SIZE_GB": "600", "ROUTING_STRATEGY": "ROUND_ROBIN",
           "DATA_CAPTURE_PERCENT": "20", "DATA_CAPTURE_MODES": "Input Both", "DATA_CAPTURE_S3": "bucket/x"}  # fmt: skip
    result = run_do(project, env, "deploy", check=False)
    assert result.returncode == 2
    for name in ("VARIANT_NAME", "VOLUME_SIZE_GB", "ROUTING_STRATEGY", "DATA_CAPTURE_MODES", "DATA_CAPTURE_S3"):
        assert name in result.stderr, name
    assert aws("sagemaker").list_models()["Models"] == []
    serverless = run_do(project, {**aws_env, "DEPLOY_MODE": "serverless", "DATA_CAPTURE_PERCENT": "5"}, "deploy",
                        check=False)  # fmt: skip
    assert serverless.returncode == 2 and "DATA_CAPTURE_PERCENT must be 1 to 100" in serverless.stderr
