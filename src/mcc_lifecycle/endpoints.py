"""The endpoint itself, below deploy and inference components (both create one): does it exist, and the wait
until it is InService."""

from __future__ import annotations

import sys
from typing import Any

from botocore.exceptions import ClientError

from .aws import Aws, is_missing
from .names import endpoint_log_group
from .waiting import wait_for_status

POLL_SECONDS = 15.0


def endpoint_exists(aws: Aws) -> dict[str, Any] | None:
    """The endpoint's description, or None when there is none."""
    try:
        return aws.client("sagemaker").describe_endpoint(EndpointName=aws.settings.endpoint)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise


def wait_for_endpoint(aws: Aws, out=sys.stderr, poll: float = POLL_SECONDS) -> dict[str, Any]:
    settings = aws.settings
    return wait_for_status(
        describe=lambda: aws.client("sagemaker").describe_endpoint(EndpointName=settings.endpoint),
        status_key="EndpointStatus",
        done="InService",
        failed=("Failed", "OutOfService"),
        what=f"endpoint {settings.endpoint}",
        logs=endpoint_log_group(settings.endpoint),
        limit_s=settings.deploy_timeout_min * 60,
        poll=poll,
        out=out,
    )
