"""Generate a project with the real `mcc` program, as a user would (a subprocess, exit code checked), in a folder
the server's unprivileged workers can read."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mcc_runtime.local import free_port


def mcc_new(target: Path, name: str, *flags: str) -> Path:
    """``mcc new --yes --project-name NAME --output-dir TARGET FLAGS...``; the project's directory."""
    result = run_mcc_new(target, *flags, name=name)
    assert result.returncode == 0, result.stderr
    return target


def run_mcc_new(
    target: Path, *flags: str, name: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The same command, whatever its outcome (the project is named after TARGET unless NAME is given)."""
    command = [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", name or target.name]
    return subprocess.run([*command, "--output-dir", str(target), *flags], capture_output=True, text=True, env=env)


def stderr_text(result: subprocess.CompletedProcess) -> str:
    """What the command printed on stderr, with rich's line wrapping undone."""
    return " ".join(result.stderr.split())


@contextlib.contextmanager
def readable_folder(prefix: str) -> Iterator[Path]:
    """A scratch folder that workers dropped to an unprivileged user can read; removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    parent.chmod(0o755)
    try:
        yield parent
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def own_tests(project: Path, python: str) -> subprocess.CompletedProcess:
    """The generated project's own tests (its tests/), run with its environment's Python."""
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True)


def run_script(project: Path, script: str, *args: str, python: str) -> subprocess.CompletedProcess:
    """``do/SCRIPT ARGS`` of a generated project, with its environment's Python, as a user runs it."""
    return subprocess.run(
        [str(project / "do" / script), *args],
        env={"PATH": "/usr/bin:/bin", "PYTHON": python},
        capture_output=True,
        text=True,
        timeout=300,
    )


def startup_refusal(project: Path, python: str, env: dict[str, str]) -> str:
    """The one error line ``code/serve`` stops with (it must stop, not serve)."""
    environment = {**os.environ, "MCC_MODEL_DIR": str(project / "model"), "SAGEMAKER_BIND_TO_PORT": str(free_port()),
                   **env}  # fmt: skip
    result = subprocess.run([python, str(project / "code" / "serve")], env=environment, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode != 0, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors, result.stderr
    return errors[0]
