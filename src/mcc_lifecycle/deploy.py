"""``do/deploy``: a SageMaker model, endpoint configuration and endpoint (real-time, async, serverless),
or a batch transform job. Request building is separate from the calls, so each request can be checked."""

from __future__ import annotations

import sys
from typing import Any

from . import inference_components
from .aws import Aws
from .container import container_environment
from .endpoints import POLL_SECONDS, endpoint_exists, wait_for_endpoint
from .names import TRANSFORM_LOG_GROUP, versioned_name
from .settings import Settings
from .waiting import wait_for_status

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def model_request(aws: Aws, name: str, image_uri: str) -> dict[str, Any]:
    settings = aws.settings
    container: dict[str, Any] = {
        "Image": image_uri,
        "Mode": "SingleModel",
        "Environment": container_environment(settings),
    }
    if settings.model_data_url:
        container["ModelDataUrl"] = settings.model_data_url
    elif settings.model_data_prefix:  # uncompressed files, copied as they are into /opt/ml/model
        prefix = settings.model_data_prefix.rstrip("/") + "/"
        container["ModelDataSource"] = {
            "S3DataSource": {"S3Uri": prefix, "S3DataType": "S3Prefix", "CompressionType": "None"}
        }
    return {"ModelName": name, "ExecutionRoleArn": settings.role_arn, "PrimaryContainer": container, "Tags": aws.tags}


def endpoint_config_request(aws: Aws, name: str, model_name: str) -> dict[str, Any]:
    settings = aws.settings
    variant: dict[str, Any] = {"VariantName": settings.variant_name, "ModelName": model_name}
    if settings.deploy_mode == "serverless":
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": settings.serverless_memory_mb,
            "MaxConcurrency": settings.serverless_max_concurrency,
        }
    else:
        variant |= {
            "InstanceType": settings.instance_type,
            "InitialInstanceCount": settings.instance_count,
            "InitialVariantWeight": 1.0,
        }
        if settings.inference_ami_version:  # the NVIDIA driver the image's CUDA needs
            variant["InferenceAmiVersion"] = settings.inference_ami_version
        if settings.startup_timeout_s:  # large models: time to download and load before /ping must pass
            variant["ContainerStartupHealthCheckTimeoutInSeconds"] = settings.startup_timeout_s
            variant["ModelDataDownloadTimeoutInSeconds"] = settings.startup_timeout_s
        if settings.volume_size_gb:
            variant["VolumeSizeInGB"] = settings.volume_size_gb
        if settings.routing_strategy:
            variant["RoutingConfig"] = {"RoutingStrategy": settings.routing_strategy}
    request: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": [variant], "Tags": aws.tags}
    if settings.data_capture_percent:
        request["DataCaptureConfig"] = data_capture_config(aws)
    if settings.deploy_mode == "async":
        output: dict[str, Any] = {"S3OutputPath": settings.async_output_path}
        topics = {"SuccessTopic": settings.async_success_topic, "ErrorTopic": settings.async_error_topic}
        if any(topics.values()):
            output["NotificationConfig"] = {k: v for k, v in topics.items() if v}
        request["AsyncInferenceConfig"] = {
            "OutputConfig": output,
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": settings.async_max_concurrency},
        }
    return request


def data_capture_config(aws: Aws) -> dict[str, Any]:
    """Model Monitor's input: a share of requests and/or answers written to S3, with their content types."""
    settings = aws.settings
    destination = settings.data_capture_s3 or f"s3://{aws.default_bucket()}/{settings.project_name}/data-capture"
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": settings.data_capture_percent,
        "DestinationS3Uri": destination,
        "CaptureOptions": [{"CaptureMode": mode} for mode in settings.data_capture_modes.split()],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
    }


def scaling_requests(aws: Aws) -> tuple[dict[str, Any], dict[str, Any]]:
    """register_scalable_target and put_scaling_policy: target tracking on invocations per instance."""
    settings = aws.settings
    resource = scaling_resource(settings)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": SCALABLE_DIMENSION,
        "MinCapacity": settings.autoscaling_min,
        "MaxCapacity": settings.autoscaling_max,
    }
    policy = {
        "PolicyName": f"{settings.endpoint}-invocations-per-instance",
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(settings.autoscaling_target),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    }
    return target, policy


def scaling_resource(settings: Settings) -> str:
    return f"endpoint/{settings.endpoint}/variant/{settings.variant_name}"


def transform_job_request(aws: Aws, name: str, model_name: str) -> dict[str, Any]:
    settings = aws.settings
    by_line = settings.batch_split_type == "Line"
    return {
        "TransformJobName": name,
        "ModelName": model_name,
        "MaxPayloadInMB": settings.batch_max_payload_mb,
        "BatchStrategy": "MultiRecord" if by_line else "SingleRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": settings.batch_input}},
            "ContentType": settings.batch_content_type,
            "SplitType": settings.batch_split_type,
        },
        "TransformOutput": {
            "S3OutputPath": settings.batch_output,
            "Accept": settings.batch_accept,
            "AssembleWith": "Line" if by_line else "None",
        },
        "TransformResources": {"InstanceType": settings.instance_type, "InstanceCount": settings.batch_instance_count},
        "Tags": aws.tags,
    }


def update_endpoint_request(endpoint: str, config_name: str) -> dict[str, Any]:
    """Point a live endpoint at a new configuration: SageMaker shifts traffic blue/green, no downtime."""
    return {"EndpointName": endpoint, "EndpointConfigName": config_name}


def deploy(aws: Aws, image_uri: str, out=sys.stderr) -> dict[str, Any]:
    """Create the model and then the endpoint or transform job; wait for the outcome."""
    settings = aws.settings
    sagemaker = aws.client("sagemaker")
    name = versioned_name(settings.project_name)
    sagemaker.create_model(**model_request(aws, name, image_uri))
    print(f"model {name}: {image_uri}", file=out)
    if settings.deploy_mode == "batch":
        sagemaker.create_transform_job(**transform_job_request(aws, name, name))
        print(f"transform job {name}: {settings.batch_input} -> {settings.batch_output}", file=out)
        return wait_for_transform_job(aws, name, out=out)
    if settings.deploy_mode == inference_components.MODE:
        return inference_components.deploy(aws, name, out=out)
    sagemaker.create_endpoint_config(**endpoint_config_request(aws, name, name))
    print(f"endpoint configuration {name} ({describe_mode(settings)})", file=out)
    existing = endpoint_exists(aws)
    if existing is None:
        sagemaker.create_endpoint(EndpointName=settings.endpoint, EndpointConfigName=name, Tags=aws.tags)
        print(f"creating endpoint {settings.endpoint}", file=out)
    else:
        deregister_scaling(aws)  # SageMaker refuses to update a variant that is a registered scalable target
        sagemaker.update_endpoint(**update_endpoint_request(settings.endpoint, name))
        print(f"updating endpoint {settings.endpoint}: {existing['EndpointConfigName']} -> {name}", file=out)
    endpoint = wait_for_endpoint(aws, out=out)
    if settings.deploy_mode == "realtime" and settings.autoscaling_max:
        target, policy = scaling_requests(aws)
        autoscaling = aws.client("application-autoscaling")
        autoscaling.register_scalable_target(**target)
        autoscaling.put_scaling_policy(**policy)
        print(
            f"autoscaling: {settings.autoscaling_min}-{settings.autoscaling_max} instances, "
            f"target {settings.autoscaling_target} invocations per instance per minute",
            file=out,
        )
    return endpoint


def describe_mode(settings: Settings) -> str:
    if settings.deploy_mode == "serverless":
        return f"serverless, {settings.serverless_memory_mb} MB, concurrency {settings.serverless_max_concurrency}"
    return f"{settings.deploy_mode}, {settings.instance_count} x {settings.instance_type}"


def deregister_scaling(aws: Aws) -> bool:
    """Remove the endpoint variant's scalable target (and so its policies); False when there was none."""
    autoscaling = aws.client("application-autoscaling")
    resource = scaling_resource(aws.settings)
    found = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    if not found.get("ScalableTargets"):
        return False
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=SCALABLE_DIMENSION
    )
    return True


def wait_for_transform_job(aws: Aws, name: str, out=sys.stderr, poll: float = POLL_SECONDS) -> dict[str, Any]:
    return wait_for_status(
        describe=lambda: aws.client("sagemaker").describe_transform_job(TransformJobName=name),
        status_key="TransformJobStatus",
        done="Completed",
        failed=("Failed", "Stopped"),
        what=f"transform job {name}",
        logs=TRANSFORM_LOG_GROUP,
        limit_s=aws.settings.deploy_timeout_min * 60,
        poll=poll,
        out=out,
    )
