"""Which image platform an endpoint runs, and what builds it: linux/arm64 on AWS Graviton instances, linux/amd64
on every other instance type and on serverless endpoints."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

GRAVITON_FAMILY = re.compile(r"^ml\.[a-z]+\d+g[a-z]*$")  # c7g, m6gd, c6gn, r8g
AMD64, ARM64 = "linux/amd64", "linux/arm64"
PLATFORMS_FILE = "image-platforms.json"  # in do/lib: the platforms the project's image builds for
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


def buildable_platforms(lib_dir: Path | None = None) -> list[str] | None:
    """The platforms the project's pinned packages install on, as mcc new recorded them in do/lib (or
    ``lib_dir``); None when not recorded."""
    recorded = (lib_dir or Path(__file__).resolve().parent.parent) / PLATFORMS_FILE
    return json.loads(recorded.read_text()) if recorded.is_file() else None


def unbuildable_error(platform: str, buildable: list[str] | None) -> str | None:
    """Why the image cannot be built for ``platform``; None when it can (or nothing was recorded)."""
    if buildable is None or platform in buildable:
        return None
    return (
        f"the image is needed for {platform}, but mcc new checked its pinned packages' wheels for "
        f"{', '.join(buildable)} only; choose an INSTANCE_TYPE that runs {buildable[0]}, or regenerate the project "
        "with --instance-type to see what runs where"
    )


def main() -> int:
    """do/build's check, standard library only: print the platform to build for, or why PLATFORM is wrong."""
    platform, mode, instance = (os.environ.get(n, "") for n in ("PLATFORM", "DEPLOY_MODE", "INSTANCE_TYPE"))
    chosen = platform or endpoint_platform(mode, instance)
    error = platform_error(platform, mode, instance) or unbuildable_error(chosen, buildable_platforms())
    if error:
        print(f"do/build: {error}", file=sys.stderr)
        return 2
    print(chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
