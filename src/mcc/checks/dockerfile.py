"""Structural checks of a Dockerfile against the project it builds (what hadolint cannot know)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mcc_lifecycle.dockerignore import DockerIgnore

from . import Finding

SAGEMAKER_PORT = "8080"
BIND_TO_PORT_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
RUN_AS_VARIABLE = "MCC_RUN_AS_USER"
ROOT_LABEL = re.escape("com.mcc.runs-as-root")
BASE_USER_LABEL = re.escape("com.mcc.user-from-base-image")  # the base image (an engine's) has the user
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
BUILD_TOOLS = ("build-essential", "gcc", "g++", "clang", "make", "cmake", "cython3", "python3-dev")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
    return instructions


def check_dockerfile(project: Path) -> list[Finding]:
    path = project / "Dockerfile"
    if not path.is_file():
        return [Finding("dockerfile", "missing", "Dockerfile")]
    instructions = parse(path.read_text())
    ignore = DockerIgnore.from_project(project)
    copies = _copies(instructions)
    return (
        _no_frontend_pull(project)
        + _base_images_pinned(instructions)
        + _copy_sources_exist(project, copies, ignore)
        + _port_exposed(instructions)
        + _entrypoint_runs(project, instructions, copies, ignore)
        + _privileges_dropped(instructions)
        + _image_minimal(instructions)
    )


def _image_minimal(instructions: list[Instruction]) -> list[Finding]:
    """No compilers in the final stage; pip keeps no cache in a layer; apt cleans up in the layer that installs
    (whatever the base image's apt settings)."""
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    if not starts:
        return []
    findings = []
    final_stage = instructions[starts[-1] :]
    for ins in (i for i in final_stage if i.keyword == "RUN"):
        words = shlex.split(ins.arguments.replace("&&", " ; "))
        packages = {w.split("=")[0] for w in words if not w.startswith("-")}
        for tool in sorted(packages & set(BUILD_TOOLS)) if "install" in words and "apt-get" in words else []:
            findings.append(
                Finding("image-minimal", f"line {ins.line}: installs {tool} in the final image", "Dockerfile")
            )
        if "apt-get" in words and "install" in words and "/var/lib/apt/lists/*" not in words:
            findings.append(
                Finding(
                    "image-minimal", f"line {ins.line}: apt-get install leaves its lists in the layer", "Dockerfile"
                )
            )
        if "pip" in words and "install" in words and "--no-cache-dir" not in words:
            findings.append(
                Finding("image-minimal", f"line {ins.line}: pip install without --no-cache-dir", "Dockerfile")
            )
    return findings


def _no_frontend_pull(project: Path) -> list[Finding]:
    """A ``# syntax=`` line makes BuildKit pull a frontend image first: a build that fails without Docker Hub."""
    first = (project / "Dockerfile").read_text().lstrip().splitlines()[:1]
    if first and first[0].replace(" ", "").lower().startswith("#syntax="):
        return [Finding("no-frontend-pull", f"{first[0]}: BuildKit would pull this frontend image", "Dockerfile")]
    return []


def _base_images_pinned(instructions: list[Instruction]) -> list[Finding]:
    findings, stages = [], set()
    for ins in (i for i in instructions if i.keyword == "FROM"):
        words = [w for w in ins.arguments.split() if not w.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].lower() == "as":
            stages.add(words[2].lower())
        if image.lower() in stages or DIGEST.search(image):
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest" or not any(c.isdigit() for c in tag):
            findings.append(
                Finding(
                    "base-image-pinned",
                    f"line {ins.line}: {image} is not pinned to a version tag or digest",
                    "Dockerfile",
                )
            )
    if not any(i.keyword == "FROM" for i in instructions):
        findings.append(Finding("base-image-pinned", "no FROM instruction", "Dockerfile"))
    return findings


def _copies(instructions: list[Instruction]) -> list[tuple[Instruction, list[str], str]]:
    """(instruction, sources, destination) of every COPY/ADD from the build context."""
    found = []
    for ins in (i for i in instructions if i.keyword in ("COPY", "ADD")):
        words = shlex.split(ins.arguments)
        if any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        found.append((ins, paths[:-1], paths[-1]))
    return found


def _copy_sources_exist(project: Path, copies, ignore: DockerIgnore) -> list[Finding]:
    findings = []
    for ins, sources, _ in copies:
        for source in sources:
            relative = source.strip("/") or "."
            if not (project / relative).exists():
                findings.append(
                    Finding("copy-sources", f"line {ins.line}: {source} does not exist in the project", "Dockerfile")
                )
            elif ignore.ignored(relative):
                findings.append(
                    Finding("copy-sources", f"line {ins.line}: {source} is excluded by .dockerignore", "Dockerfile")
                )
    return findings


def _port_exposed(instructions: list[Instruction]) -> list[Finding]:
    exposed = {p.split("/")[0] for i in instructions if i.keyword == "EXPOSE" for p in i.arguments.split()}
    findings = []
    if SAGEMAKER_PORT not in exposed:
        findings.append(Finding("port", f"port {SAGEMAKER_PORT} is not exposed", "Dockerfile"))
    labels = " ".join(i.arguments for i in instructions if i.keyword == "LABEL")
    if f"{BIND_TO_PORT_LABEL}=true" not in labels:
        findings.append(
            Finding(
                "port",
                f"label {BIND_TO_PORT_LABEL}=true is missing (the server honours SAGEMAKER_BIND_TO_PORT)",
                "Dockerfile",
            )
        )
    return findings


def _entrypoint_runs(project: Path, instructions, copies, ignore: DockerIgnore) -> list[Finding]:
    entrypoints = [i for i in instructions if i.keyword == "ENTRYPOINT"]
    if not entrypoints:
        return [Finding("entrypoint", "no ENTRYPOINT", "Dockerfile")]
    ins = entrypoints[-1]
    try:
        program = json.loads(ins.arguments)[0]
    except (json.JSONDecodeError, IndexError, TypeError):
        return [
            Finding(
                "entrypoint",
                f'line {ins.line}: use the exec form ["program", ...] so SIGTERM reaches the program',
                "Dockerfile",
            )
        ]
    source = _context_path(program, copies)
    if source is None:
        return [Finding("entrypoint", f"{program} is not copied from the project", "Dockerfile")]
    path = project / source
    if not path.is_file():
        return [Finding("entrypoint", f"{program} comes from {source}, which does not exist", "Dockerfile")]
    if not path.stat().st_mode & 0o111:
        return [Finding("entrypoint", f"{source} is not executable", "Dockerfile")]
    if ignore.ignored(source):
        return [Finding("entrypoint", f"{source} is excluded by .dockerignore", "Dockerfile")]
    return []


def _context_path(image_path: str, copies) -> str | None:
    """Which project file ends up at ``image_path`` (the last COPY wins)."""
    target = PurePosixPath(image_path)
    for _, sources, destination in reversed(copies):
        dest = PurePosixPath(destination)
        for source in sources:
            if destination.endswith("/") and source.endswith("/"):
                if target.is_relative_to(dest):
                    return str(PurePosixPath(source) / target.relative_to(dest))
            elif target == dest or (destination.endswith("/") and target == dest / PurePosixPath(source).name):
                return source
    return None


def _privileges_dropped(instructions: list[Instruction]) -> list[Finding]:
    """SageMaker starts containers as root: a service user must exist and be handed to code/serve."""
    users = [i for i in instructions if i.keyword == "USER"]
    run_as = None
    for ins in (i for i in instructions if i.keyword == "ENV"):
        match = re.search(rf"\b{RUN_AS_VARIABLE}=(\S+)", ins.arguments)
        if match:
            run_as = match.group(1).strip("\"'")
    if users and users[-1].arguments.split(":")[0] not in ("root", "0"):
        return []  # the whole container runs unprivileged
    if any(i.keyword == "LABEL" and re.search(rf"\b{ROOT_LABEL}=\S", i.arguments) for i in instructions):
        return []  # a vendor image that runs its own services as root, said so with a reason
    if not run_as:
        return [
            Finding(
                "privilege-drop",
                f"no non-root USER and no {RUN_AS_VARIABLE}: request handlers would run as root",
                "Dockerfile",
            )
        ]
    created = any(
        i.keyword == "RUN" and re.search(rf"\b(useradd|adduser)\b.*\b{re.escape(run_as)}\b", i.arguments)
        for i in instructions
    )
    from_base = any(
        i.keyword == "LABEL" and re.search(rf"\b{BASE_USER_LABEL}=[\"']?{re.escape(run_as)}\b", i.arguments)
        for i in instructions
    )
    if not created and not from_base:
        return [Finding("privilege-drop", f"{RUN_AS_VARIABLE}={run_as} but no RUN creates that user", "Dockerfile")]
    return []
