"""Virtualenvs for generated projects, cached by the hash of their requirements.

Installed with ``--no-deps`` and verified with ``pip check``: this proves the catalog pins a complete,
consistent dependency set (what the image will hold), not just the packages named.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "venvs"
DONE_MARKER = ".mcc-complete"


def project_venv(project: Path, requirements: str = "requirements-dev.txt") -> str:
    """Python of a virtualenv holding the project's requirements (built once per requirement set)."""
    project = Path(project)
    key_material = sys.version + (project / "requirements.txt").read_text() + (project / requirements).read_text()
    venv = CACHE / hashlib.sha256(key_material.encode()).hexdigest()[:16]
    python = venv / "bin" / "python"
    if (venv / DONE_MARKER).exists():
        return str(python)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--no-deps", "-r", requirements], cwd=project, check=True)
    subprocess.run([*pip, "check"], check=True)
    (venv / DONE_MARKER).write_text(key_material)
    return str(python)


def training_venv(*requirements: str) -> str:
    """Python of a virtualenv holding ``requirements`` as a user installs them (pip resolves their
    dependencies): where the tests train models with releases other than the catalog's (built once)."""
    key_material = sys.version + "\n".join(requirements)
    venv = CACHE / ("train-" + hashlib.sha256(key_material.encode()).hexdigest()[:16])
    python = venv / "bin" / "python"
    if (venv / DONE_MARKER).exists():
        return str(python)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--only-binary=:all:", *requirements], check=True)
    (venv / DONE_MARKER).write_text(key_material)
    return str(python)
