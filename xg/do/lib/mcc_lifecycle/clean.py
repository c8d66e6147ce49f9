"""``do/clean``: delete what this project created. Idempotent: what is already gone is skipped."""

from __future__ import annotations

import sys
from collections.abc import Callable

from botocore.exceptions import ClientError

from . import inference_components
from .aws import PROJECT_TAG, Aws, is_missing
from .deploy import deregister_scaling, scaling_resource
from .names import codebuild_log_group

TARGETS = ("endpoint", "model", "codebuild", "ecr")  # "all" = these, in this order


def clean(aws: Aws, target: str, out=sys.stderr) -> list[str]:
    """Delete ``target`` (or every target for "all"); return what was deleted."""
    chosen = TARGETS if target == "all" else (target,)
    deleted: list[str] = []
    for name in chosen:
        deleted += CLEANERS[name](aws)
    for item in deleted:
        print(f"deleted {item}", file=out)
    if not deleted:
        print(f"nothing to delete ({target})", file=out)
    return deleted


def _ignore_missing(call: Callable[[], object]) -> bool:
    """Run a delete call; False when the resource was already gone."""
    try:
        call()
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    return True


def _owned(aws: Aws, arn: str) -> bool:
    tags = aws.client("sagemaker").list_tags(ResourceArn=arn).get("Tags", [])
    return {"Key": PROJECT_TAG, "Value": aws.settings.project_name} in tags


def _clean_endpoint(aws: Aws) -> list[str]:
    settings, sagemaker = aws.settings, aws.client("sagemaker")
    deleted = []
    if settings.deploy_mode == inference_components.MODE:
        deleted += inference_components.remove_scaling(aws)
        if inference_components.delete(aws):
            deleted.append(f"inference component {settings.inference_component}")
            inference_components.wait_until_gone(aws)
        others = inference_components.others_on_endpoint(aws)
        if others:
            print(f"keeping endpoint {settings.endpoint}: it hosts {', '.join(others)}", file=sys.stderr)
            return deleted
    if deregister_scaling(aws):
        deleted.append(f"scalable target {scaling_resource(settings)}")
    if _ignore_missing(lambda: sagemaker.delete_endpoint(EndpointName=settings.endpoint)):
        deleted.append(f"endpoint {settings.endpoint}")
    return deleted + _delete_versioned(aws, "endpoint configuration")


def _clean_models(aws: Aws) -> list[str]:
    return _delete_versioned(aws, "model")


# What do/deploy versions (PROJECT-YYYYmmdd-HHMMSS): list call, page key, name key, ARN key, delete call.
VERSIONED = {
    "model": ("list_models", "Models", "ModelName", "ModelArn", "delete_model"),
    "endpoint configuration": (
        "list_endpoint_configs",
        "EndpointConfigs",
        "EndpointConfigName",
        "EndpointConfigArn",
        "delete_endpoint_config",
    ),
}


def _delete_versioned(aws: Aws, label: str) -> list[str]:
    """Delete this project's versioned models or endpoint configurations: named PROJECT-… and tagged so."""
    list_call, items_key, name_key, arn_key, delete_call = VERSIONED[label]
    sagemaker = aws.client("sagemaker")
    delete = getattr(sagemaker, delete_call)
    prefix = aws.settings.project_name + "-"
    deleted = []
    for page in sagemaker.get_paginator(list_call).paginate(NameContains=aws.settings.project_name):
        for item in page[items_key]:
            name = item[name_key]
            if (
                name.startswith(prefix)
                and _owned(aws, item[arn_key])
                and _ignore_missing(lambda n=name: delete(**{name_key: n}))
            ):
                deleted.append(f"{label} {name}")
    return deleted


def _clean_codebuild(aws: Aws) -> list[str]:
    deleted = []
    name = aws.settings.codebuild_name
    codebuild = aws.client("codebuild")
    if codebuild.batch_get_projects(names=[name]).get("projects"):
        codebuild.delete_project(name=name)
        deleted.append(f"CodeBuild project {name}")
    if _ignore_missing(lambda: aws.client("logs").delete_log_group(logGroupName=codebuild_log_group(aws.settings))):
        deleted.append(f"log group {codebuild_log_group(aws.settings)}")
    s3, bucket = aws.client("s3"), aws.default_bucket()
    prefix = f"{aws.settings.project_name}/"
    try:
        pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    except ClientError as exc:
        if is_missing(exc):
            return deleted
        raise
    for page in pages:
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
            deleted.append(f"s3://{bucket}/{item['Key']}")
    return deleted


def _clean_ecr(aws: Aws) -> list[str]:
    name = aws.settings.repository
    if _ignore_missing(lambda: aws.client("ecr").delete_repository(repositoryName=name, force=True)):
        return [f"ECR repository {name} and its images"]
    return []


CLEANERS: dict[str, Callable[[Aws], list[str]]] = {
    "endpoint": _clean_endpoint,
    "model": _clean_models,
    "codebuild": _clean_codebuild,
    "ecr": _clean_ecr,
}
