"""The project's ECR repository: created on first push, scanned on push, tag mutability from the settings."""

from __future__ import annotations

import base64

from botocore.exceptions import ClientError

from .aws import Aws, is_missing


def ensure_repository(aws: Aws) -> str:
    """The repository's URI, creating the repository if it does not exist."""
    ecr = aws.client("ecr")
    name = aws.settings.repository
    try:
        return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryUri"]
    except ClientError as exc:
        if not is_missing(exc):
            raise
    created = ecr.create_repository(**repository_request(aws))
    return created["repository"]["repositoryUri"]


def repository_request(aws: Aws) -> dict:
    return {
        "repositoryName": aws.settings.repository,
        "imageTagMutability": aws.settings.ecr_tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": True},
        "tags": aws.tags,
    }


def repository_uri(aws: Aws) -> str:
    """The URI of the existing repository; a clear error when nothing was pushed yet."""
    try:
        repos = aws.client("ecr").describe_repositories(repositoryNames=[aws.settings.repository])
    except ClientError as exc:
        if is_missing(exc):
            raise LookupError(
                f"ECR repository {aws.settings.repository!r} does not exist: run do/push or do/submit"
            ) from None
        raise
    return repos["repositories"][0]["repositoryUri"]


def image_uri(aws: Aws) -> str:
    """IMAGE_URI, else the repository URI with IMAGE_TAG, checked to exist in ECR."""
    settings = aws.settings
    if settings.image_uri:
        return settings.image_uri
    if not settings.image_tag:
        raise LookupError("no image tag: run do/build and do/push (or do/submit), or set IMAGE_TAG")
    uri = repository_uri(aws)
    try:
        aws.client("ecr").describe_images(
            repositoryName=settings.repository, imageIds=[{"imageTag": settings.image_tag}]
        )
    except ClientError as exc:
        if is_missing(exc):
            raise LookupError(f"{uri}:{settings.image_tag} is not in ECR: run do/push or do/submit first") from None
        raise
    return f"{uri}:{settings.image_tag}"


def login_password(aws: Aws) -> str:
    """The password `docker login --username AWS` takes for the account's registry (valid 12 hours)."""
    data = aws.client("ecr").get_authorization_token()["authorizationData"][0]
    _user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return password
