"""The image's Python environment on this machine: a project's pinned closure installed by uv into a virtualenv
of the image's Python version (wheels only, as the image installs them), cached by the closure's hash.

``mcc new`` reads and checks the model there (``model_check``), never in the Python mcc itself runs in. uv makes
such an environment in seconds where venv + pip take minutes (``bench/model_env``). The cache lives in
``$MCC_CACHE_DIR``, else ``$XDG_CACHE_HOME/mcc``, else ``~/.cache/mcc``; uv's own settings (``UV_INDEX_URL``,
``UV_DEFAULT_INDEX``, ``UV_FIND_LINKS``, ``uv.toml``) choose the indexes, as for any uv command, and
``MCC_EXTRA_INDEX_URL`` replaces a framework's own extra index (PyTorch's CPU wheels) with a mirror.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import MccError

CACHE_VARIABLE = "MCC_CACHE_DIR"
INDEX_VARIABLE = "MCC_EXTRA_INDEX_URL"
LAYOUT = "1"  # part of every key: a change in how environments are made makes new ones
DONE_MARKER = ".mcc-complete"
INSTALL_TIMEOUT_S = 1800


class ModelEnvError(MccError):
    """The image's packages cannot be installed here; nothing was written."""


@dataclass(frozen=True)
class Closure:
    """What the environment holds: exact requirement lines, for one Python version, from these indexes."""

    requirements: tuple[str, ...]
    python_version: str  # the image's, e.g. "3.11"
    extra_index_url: str | None = None  # the framework's own (PyTorch's CPU wheels)

    @property
    def key(self) -> str:
        host = f"{sys.platform}-{platform.machine()}"
        material = "\n".join([LAYOUT, self.python_version, host, *sorted(self.requirements)])
        return hashlib.sha256(material.encode()).hexdigest()[:20]

    @property
    def index_url(self) -> str | None:
        return os.environ.get(INDEX_VARIABLE, "").strip() or self.extra_index_url


def cache_root() -> Path:
    given = os.environ.get(CACHE_VARIABLE, "").strip()
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "mcc"


def cached_python(closure: Closure) -> Path | None:
    """The environment's Python when it is already made."""
    venv = cache_root() / "envs" / closure.key
    return _python(venv) if (venv / DONE_MARKER).is_file() else None


def environment(closure: Closure) -> Path:
    """The Python of the closure's environment, made once (ModelEnvError naming uv's reason when it cannot be)."""
    venv = cache_root() / "envs" / closure.key
    if (venv / DONE_MARKER).is_file():
        return _python(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.with_suffix(".lock")):
        if (venv / DONE_MARKER).is_file():  # made by another mcc while this one waited
            return _python(venv)
        shutil.rmtree(venv, ignore_errors=True)  # what an interrupted run left
        try:
            _make(venv, closure)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        (venv / DONE_MARKER).write_text("".join(f"{line}\n" for line in closure.requirements))
    return _python(venv)


def size_bytes() -> int:
    """What the cache holds on disk (files hard-linked from uv's own cache count here too)."""
    total = 0
    for path in cache_root().rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total


def uv_command() -> str:
    """The uv executable installed with mcc (its ``uv`` dependency), else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise ModelEnvError("uv is not installed beside mcc (pip install uv); the model check needs it to install the "
                        "image's packages")  # fmt: skip


def _make(venv: Path, closure: Closure) -> None:
    uv = uv_command()
    requirements = venv.parent / f"{venv.name}.requirements.txt"
    requirements.write_text("".join(f"{line}\n" for line in closure.requirements))
    try:
        _uv(
            [uv, "venv", "--quiet", "--python", closure.python_version, str(venv)],
            venv.parent,
            f"cannot make a Python {closure.python_version} environment (the image's Python) for the model check",
        )
        install = [uv, "pip", "install", "--quiet", "--python", str(_python(venv)), "--only-binary", ":all:",
                   "--index-strategy", "unsafe-best-match", "--requirements", str(requirements)]  # fmt: skip
        if closure.index_url:
            install += ["--extra-index-url", closure.index_url]
        _uv(install, venv.parent, "cannot install the image's pinned packages for the model check")
    finally:
        requirements.unlink(missing_ok=True)


def _uv(command: list[str], cwd: Path, failure: str) -> None:
    """Run uv in the cache (never in the user's folder, whose pyproject.toml would configure it)."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelEnvError(f"{failure}: uv did not finish within {INSTALL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise ModelEnvError(f"{failure}: {_reason(done.stderr or done.stdout)}")


def _reason(output: str) -> str:
    """uv's message in one line: its error and the causes it gives."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    wanted = [line for line in lines if not line.startswith(("warning:", "Using ", "Resolved", "Prepared"))]
    text = " ".join(line.lstrip("\u00d7\u2570\u2500\u25b6 ").removeprefix("error: ") for line in wanted)
    return text[:1200] or "uv failed with no message"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
