"""Which image platform an endpoint runs, and what builds it: linux/arm64 on AWS Graviton instances, linux/amd64
on every other instance type and on serverless endpoints."""

from __future__ import annotations

import os
import re
import sys

GRAVITON_FAMILY = re.compile(r"^ml\.[a-z]+\d+g[a-z]*$")  # c7g, m6gd, c6gn, r8g
AMD64, ARM64 = "linux/amd64", "linux/arm64"
# CodeBuild hosts that build each platform natively: (environment type, image, compute type).
CODEBUILD_HOSTS = {
    AMD64: ("LINUX_CONTAINER", "aws/codebuild/standard:7.0", "BUILD_GENERAL1_MEDIUM"),
    ARM64: ("ARM_CONTAINER", "aws/codebuild/amazonlinux2-aarch64-standard:3.0", "BUILD_GENERAL1_LARGE"),
}


def instance_platform(instance_type: str) -> str:
    """The platform of the images an instance type runs."""
    return ARM64 if GRAVITON_FAMILY.match(instance_type.rpartition(".")[0]) else AMD64


def endpoint_platform(deploy_mode: str, instance_type: str) -> str:
    """The platform the endpoint runs the image on (serverless endpoints run x86_64)."""
    return AMD64 if deploy_mode == "serverless" else instance_platform(instance_type)


def platform_error(platform: str, deploy_mode: str, instance_type: str) -> str | None:
    """Why PLATFORM cannot serve the endpoint; None when it is empty (the endpoint's) or the endpoint's."""
    target = endpoint_platform(deploy_mode, instance_type)
    if not platform or platform == target:
        return None
    runs_on = "serverless endpoints run" if deploy_mode == "serverless" else f"INSTANCE_TYPE={instance_type} runs"
    return (
        f"PLATFORM={platform!r}: {runs_on} {target} images, and an image for another platform fails to start "
        f"there (set PLATFORM={target}, or leave it empty)"
    )


def main() -> int:
    """do/build's check, standard library only: print the platform to build for, or why PLATFORM is wrong."""
    platform, mode, instance = (os.environ.get(n, "") for n in ("PLATFORM", "DEPLOY_MODE", "INSTANCE_TYPE"))
    error = platform_error(platform, mode, instance)
    if error:
        print(f"do/build: {error}", file=sys.stderr)
        return 2
    print(platform or endpoint_platform(mode, instance))
    return 0


if __name__ == "__main__":
    sys.exit(main())
