"""``do/submit``: build and push the image on AWS CodeBuild instead of a local docker."""

from __future__ import annotations

import io
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .aws import Aws, ensure_bucket, is_missing
from .dockerignore import DockerIgnore
from .ecr import ensure_repository
from .names import codebuild_log_group
from .settings import Settings

ALWAYS_SENT = ("Dockerfile", ".dockerignore", "buildspec.yml")
NEVER_SENT = {".git", ".venv", ".mcc", "__pycache__", ".pytest_cache"}
DONE = ("SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT")
POLL_SECONDS = 5.0


def source_files(root: Path) -> list[str]:
    """What the build needs: the Dockerfile, buildspec and whatever .dockerignore lets into the context."""
    ignore = DockerIgnore.from_project(root)
    chosen = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or NEVER_SENT & set(path.relative_to(root).parts):
            continue
        if relative in ALWAYS_SENT or not ignore.ignored(relative):
            chosen.append(relative)
    return chosen


def source_zip(root: Path) -> bytes:
    """The build source as a zip, with file modes kept (code/serve stays executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in source_files(root):
            archive.write(root / relative, relative)
    return buffer.getvalue()


def source_key(aws: Aws, tag: str) -> str:
    return f"{aws.settings.project_name}/codebuild/source-{tag}.zip"


def project_request(aws: Aws, repository_uri: str, bucket: str, key: str) -> dict[str, Any]:
    settings = aws.settings
    kind, image, compute = settings.codebuild_host
    return {
        "name": settings.codebuild_name,
        "description": f"Builds the {settings.project_name} inference image and pushes it to ECR",
        "source": {"type": "S3", "location": f"{bucket}/{key}", "buildspec": "buildspec.yml"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": kind,
            "image": image,
            "computeType": compute,
            "privilegedMode": True,  # docker build needs it
            "environmentVariables": [
                {"name": "IMAGE_REPO_URI", "value": repository_uri, "type": "PLAINTEXT"},
                {"name": "PLATFORM", "value": settings.image_platform, "type": "PLAINTEXT"},
                {"name": "PUSH_LATEST", "value": _push_latest(aws), "type": "PLAINTEXT"},
                *_pip_index_variables(settings),
            ],
        },
        "serviceRole": settings.codebuild_role_arn,
        "timeoutInMinutes": settings.codebuild_timeout_min,
        "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "groupName": codebuild_log_group(settings)}},
        "tags": [{"key": t["Key"], "value": t["Value"]} for t in aws.tags],
    }


def _push_latest(aws: Aws) -> str:
    """An immutable repository cannot move 'latest'; push only the versioned tag there."""
    return "false" if aws.settings.ecr_tag_mutability == "IMMUTABLE" else "true"


def project_changes(existing: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """Which settings of an existing project differ from ``request`` (source location changes every build)."""
    changed = []
    for key in ("serviceRole", "timeoutInMinutes"):
        if existing.get(key) != request[key]:
            changed.append(key)
    environment, wanted = existing.get("environment", {}), request["environment"]
    for key in ("type", "image", "computeType", "privilegedMode"):
        if environment.get(key) != wanted[key]:
            changed.append(f"environment.{key}")
    have = {v["name"]: v["value"] for v in environment.get("environmentVariables", [])}
    if have != {v["name"]: v["value"] for v in wanted["environmentVariables"]}:
        changed.append("environment.environmentVariables")
    return changed


def ensure_project(aws: Aws, request: dict[str, Any]) -> str:
    """Create the CodeBuild project, or update it when its settings changed; says which it did."""
    codebuild = aws.client("codebuild")
    found = codebuild.batch_get_projects(names=[request["name"]]).get("projects", [])
    if not found:
        codebuild.create_project(**request)
        return "created"
    changed = project_changes(found[0], request)
    if not changed:
        return "unchanged"
    codebuild.update_project(**request)
    return "updated (" + ", ".join(changed) + ")"


def submit(aws: Aws, root: Path, tag: str, out=sys.stderr) -> dict[str, Any]:
    """Zip and upload the source, create/update the project, start the build and follow it to the end."""
    repository_uri = ensure_repository(aws)
    bucket, key = aws.default_bucket(), source_key(aws, tag)
    ensure_bucket(aws, bucket)
    archive = source_zip(root)
    aws.client("s3").put_object(
        Bucket=bucket, Key=key, Body=archive, Tagging=f"mcc:project={aws.settings.project_name}"
    )
    print(f"uploaded the build source ({len(archive) / 1e6:.1f} MB) to s3://{bucket}/{key}", file=out)
    request = project_request(aws, repository_uri, bucket, key)
    print(f"CodeBuild project {request['name']}: {ensure_project(aws, request)}", file=out)
    build = aws.client("codebuild").start_build(
        projectName=request["name"],
        sourceTypeOverride="S3",
        sourceLocationOverride=f"{bucket}/{key}",
        environmentVariablesOverride=[{"name": "IMAGE_TAG", "value": tag, "type": "PLAINTEXT"}],
    )["build"]
    print(f"started build {build['id']} for {repository_uri}:{tag}", file=out)
    return follow(aws, build["id"], out=out)


def follow(aws: Aws, build_id: str, out=sys.stderr, poll: float = POLL_SECONDS) -> dict[str, Any]:
    """Print phase changes and log lines until the build ends; return the final build."""
    codebuild = aws.client("codebuild")
    logs = LogTail(aws)
    seen_phase = None
    while True:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        if build.get("currentPhase") != seen_phase:
            seen_phase = build.get("currentPhase")
            print(f"phase: {seen_phase}", file=out)
        log_info = build.get("logs", {})
        for line in logs.read(log_info.get("groupName"), log_info.get("streamName")):
            print(line, file=out)
        if build["buildStatus"] in DONE:
            return build
        time.sleep(poll)


def outcome(build: dict[str, Any]) -> tuple[bool, str]:
    """(succeeded, one line for the user) for a finished build."""
    status = build["buildStatus"]
    if status == "SUCCEEDED":
        return True, f"build {build['id']} succeeded"
    failed = [p for p in build.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED")]
    detail = ""
    if failed:
        phase = failed[0]
        context = "; ".join(c.get("message", "") for c in phase.get("contexts", []) if c.get("message"))
        detail = f" in phase {phase['phaseType']}" + (f": {context}" if context else "")
    return False, f"build {build['id']} ended {status}{detail}"


class LogTail:
    """Reads a CloudWatch log stream forward from where the last read stopped."""

    def __init__(self, aws: Aws):
        self._logs = aws.client("logs")
        self._token: str | None = None

    def read(self, group: str | None, stream: str | None) -> list[str]:
        if not group or not stream:
            return []
        request: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if self._token:
            request["nextToken"] = self._token
        try:
            answer = self._logs.get_log_events(**request)
        except ClientError as exc:
            if is_missing(exc):
                return []  # the stream appears once the build container starts
            raise
        self._token = answer.get("nextForwardToken", self._token)
        return [event["message"].rstrip("\n") for event in answer.get("events", [])]


def _pip_index_variables(settings: Settings) -> list[dict[str, str]]:
    """BUILD_INDEX_URL / BUILD_EXTRA_INDEX_URL as the build arguments buildspec.yml passes on (as do/build does),
    with the hosts of plain-http indexes trusted; none when unset."""
    variables = {"PIP_INDEX_URL": settings.build_index_url, "PIP_EXTRA_INDEX_URL": settings.build_extra_index_url}
    hosts = [url.removeprefix("http://").split("/", 1)[0] for url in variables.values() if url.startswith("http://")]
    variables["PIP_TRUSTED_HOST"] = " ".join(hosts)
    return [{"name": name, "value": value, "type": "PLAINTEXT"} for name, value in variables.items() if value]
