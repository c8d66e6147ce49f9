"""Projects for the bench/ scripts: ``mcc new`` run non-interactively, the project's own tests left out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def generate(workdir: Path, name: str, *flags: str) -> Path:
    """``workdir/name``, generated with ``flags`` (e.g. ``--sample-model``) by this checkout's mcc."""
    target = workdir / name
    command = [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", name, "--no-include-tests"]
    subprocess.run([*command, *flags, "--output-dir", str(target)], check=True, capture_output=True)
    return target
