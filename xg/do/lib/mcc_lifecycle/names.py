"""Names of the AWS resources a project creates, derived from its settings (no AWS calls)."""

from __future__ import annotations

import datetime as dt

from .settings import Settings

ROLE_NAME_MAX = 64
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"


def versioned_name(prefix: str, now: dt.datetime | None = None) -> str:
    """``PREFIX-YYYYmmdd-HHMMSS``: a new name per deployment, so configurations are never edited in place."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{prefix}-{now:%Y%m%d-%H%M%S}"


def endpoint_log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def inference_component_log_group(component: str) -> str:
    """Where the containers of an inference component (and its adapters: COMPONENT-NAME) log."""
    return f"/aws/sagemaker/InferenceComponents/{component}"


def codebuild_log_group(settings: Settings) -> str:
    return f"/aws/codebuild/{settings.codebuild_name}"


def artifact_bucket(settings: Settings, account: str) -> str:
    """ARTIFACT_BUCKET, else the SageMaker SDK's default bucket name for the Region and account."""
    return settings.artifact_bucket or f"sagemaker-{settings.aws_region}-{account}"


def role_names(settings: Settings) -> dict[str, str]:
    """The roles do/bootstrap creates: {"sagemaker": …, "codebuild": …}."""
    stem = settings.project_name[: ROLE_NAME_MAX - len("-sagemaker-execution")]
    return {"sagemaker": f"{stem}-sagemaker-execution", "codebuild": f"{stem}-codebuild"}
