"""boto3 clients for the project's Region, the account, and the tag every created resource carries.

``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points every client at another endpoint, e.g. an emulator.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .names import artifact_bucket
from .settings import Settings

PROJECT_TAG = "mcc:project"
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


class Aws:
    """The clients and facts one lifecycle action needs, for one project."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._session = boto3.session.Session(region_name=settings.aws_region)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, config=_RETRIES)
        return self._clients[service]

    def new_client(self, service: str) -> Any:
        """A client of its own (for event handlers that must not reach the shared one)."""
        return self._session.client(service, config=_RETRIES)

    def with_component(self, name: str) -> Aws:
        """The same clients, for another inference component (an adapter on this project's)."""
        other = Aws(dataclasses.replace(self.settings, inference_component_name=name))
        other._session, other._clients = self._session, self._clients
        return other

    def pooled_client(self, service: str, connections: int) -> Any:
        """A client for ``connections`` threads at once, without retries (a benchmark counts every failure)."""
        config = Config(max_pool_connections=connections, retries={"mode": "standard", "max_attempts": 1})
        return self._session.client(service, config=config)

    @functools.cached_property
    def account_id(self) -> str:
        return self.settings.account_id or self.client("sts").get_caller_identity()["Account"]

    @functools.cached_property
    def partition(self) -> str:
        return self._session.get_partition_for_region(self.settings.aws_region)

    @property
    def tags(self) -> list[dict[str, str]]:
        return [{"Key": PROJECT_TAG, "Value": self.settings.project_name}]

    def default_bucket(self) -> str:
        return artifact_bucket(self.settings, self.account_id)


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def is_missing(exc: ClientError) -> bool:
    """Whether ``exc`` says the resource does not exist (services word it differently)."""
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    return (
        code.endswith("NotFoundException")
        or code in ("NoSuchEntity", "NoSuchBucket", "ResourceNotFound", "ObjectNotFoundException")
        or (code == "ValidationException" and ("Could not find" in message or "does not exist" in message))
    )


def ensure_bucket(aws: Aws, bucket: str) -> None:
    """Create ``bucket`` in the project's Region unless it exists."""
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    request: dict[str, Any] = {"Bucket": bucket}
    if aws.settings.aws_region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": aws.settings.aws_region}
    s3.create_bucket(**request)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
