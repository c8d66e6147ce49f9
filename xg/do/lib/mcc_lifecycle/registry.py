"""``do/register``: the pushed image and its model data recorded as a new version in a SageMaker Model Package
Group (the Model Registry), created when missing. Request building is separate from the calls."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .aws import Aws, is_missing
from .container import container_environment

# What the project's server takes and answers (mcc_runtime/codecs.py); recorded so a registry user knows.
CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines", "application/x-npy")
RESPONSE_TYPES = ("application/json", "text/csv", "application/jsonlines")


def group_name(aws: Aws) -> str:
    return aws.settings.model_package_group or aws.settings.project_name


def model_package_request(aws: Aws, image_uri: str) -> dict[str, Any]:
    settings = aws.settings
    container: dict[str, Any] = {"Image": image_uri, "Environment": container_environment(settings)}
    if settings.model_data_url:
        container["ModelDataUrl"] = settings.model_data_url
    instance_types = [settings.instance_type]
    return {
        "ModelPackageGroupName": group_name(aws),
        "ModelPackageDescription": f"{settings.project_name}: {image_uri}",
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": list(CONTENT_TYPES),
            "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
            "SupportedRealtimeInferenceInstanceTypes": instance_types,
            "SupportedTransformInstanceTypes": instance_types,
        },
        "ModelApprovalStatus": settings.model_approval_status,
        "Tags": aws.tags,
    }


def register(aws: Aws, image_uri: str) -> str:
    """Create the group when missing, then a new model package version in it; its ARN."""
    sagemaker = aws.client("sagemaker")
    group = group_name(aws)
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as exc:
        if not is_missing(exc):
            raise
        sagemaker.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription=f"Versions of {aws.settings.project_name}, registered by do/register",
            Tags=aws.tags,
        )
    return sagemaker.create_model_package(**model_package_request(aws, image_uri))["ModelPackageArn"]
