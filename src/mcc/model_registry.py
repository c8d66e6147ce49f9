"""A SageMaker Model Registry package as the model's source: its container's image and ``ModelDataUrl``, read
with the AWS credentials and endpoint of the environment (as the AWS CLI would)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MccError

PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):\d{12}:model-package/(?P<name>[a-zA-Z0-9-]{1,63})(/\d+)?$"
)


class RegistryError(MccError):
    """The model package cannot be used as a source; nothing was written."""

    exit_code = 2


@dataclass(frozen=True)
class PackageSource:
    arn: str
    group: str  # the Model Package Group (versioned packages), else ""
    image: str
    model_data_url: str


def package_arn_error(arn: str) -> str | None:
    if not arn or PACKAGE_ARN.match(arn):
        return None
    return "is not a model package ARN (arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION)"


def package_group(arn: str) -> str:
    """The group a versioned package ARN names (``…:model-package/GROUP/3``), else ""."""
    match = PACKAGE_ARN.match(arn)
    return match.group("name") if match and match.group(3) else ""


def describe(arn: str) -> PackageSource:
    """The package's first container: its image and model data (which must be a model.tar.gz in S3)."""
    match = PACKAGE_ARN.match(arn)
    if not match:
        raise RegistryError(f"{arn!r} {package_arn_error(arn)}")
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise RegistryError(f"reading {arn} needs boto3: pip install boto3") from None
    try:
        package = boto3.client("sagemaker", region_name=match.group("region")).describe_model_package(
            ModelPackageName=arn
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise RegistryError(f"cannot describe model package {arn}: {exc}; nothing was written") from None
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    if not containers:
        raise RegistryError(f"model package {arn} has no inference container; nothing was written")
    container = containers[0]
    model_data = container.get("ModelDataUrl", "")
    if not model_data:
        raise RegistryError(
            f"model package {arn}'s container ({container.get('Image', '?')}) has no ModelDataUrl: its model is "
            "inside that image, and mcc needs the model files (a model.tar.gz in S3); nothing was written"
        )
    return PackageSource(arn, package_group(arn), container.get("Image", ""), model_data)
