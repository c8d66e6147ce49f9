"""Generate a project with the real `mcc` program, as a user would (a subprocess, exit code checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def mcc_new(target: Path, name: str, *flags: str) -> Path:
    """``mcc new --yes --project-name NAME --output-dir TARGET FLAGS...``; the project's directory."""
    command = [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", name, "--output-dir", str(target)]
    result = subprocess.run([*command, *flags], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return target
