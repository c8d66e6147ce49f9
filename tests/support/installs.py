"""mcc as users install it: the built wheel in a clean venv (pipx, or pip beside a training environment's
libraries), run with nothing of the development venv in reach; and a generated project served as its README
says (``do/run --local``, ``do/test``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from mcc_runtime.local import free_port
from mcc_runtime.smoke import wait_until_ready

REPO = Path(__file__).resolve().parents[2]
# The interpreter the dev venv was made from: a user's python3, without the dev venv's packages.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
CLEARED = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV")


def user_environment(settings: Mapping[str, str], cache_dir: Path) -> dict[str, str]:
    """This process's environment as a user's shell has it: no venv active, the dev venv's bin/ off PATH, and
    mcc's model-check cache new (``settings`` keeps the local PyTorch index)."""
    dev_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("MCC_")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != dev_bin)
    env.update(settings)
    env["MCC_CACHE_DIR"] = str(cache_dir)
    return env


def build_distributions(outdir: Path) -> tuple[Path, Path]:
    """``python -m build`` of this repository (the sdist, then the wheel built from it): (wheel, sdist)."""
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(REPO)], check=True,
                   capture_output=True, timeout=600)  # fmt: skip
    (wheel,) = outdir.glob("*.whl")
    (sdist,) = outdir.glob("*.tar.gz")
    return wheel, sdist


def pipx_install(wheel: Path, home: Path, env: Mapping[str, str]) -> Path:
    """``pipx install WHEEL`` into its own PIPX_HOME; the ``mcc`` command it puts on the user's PATH."""
    pipx_env = {**env, "PIPX_HOME": str(home / "pipx"), "PIPX_BIN_DIR": str(home / "bin"),
                "PIPX_MAN_DIR": str(home / "man")}  # fmt: skip
    command = [sys.executable, "-m", "pipx", "install", "--python", str(BASE_PYTHON), str(wheel)]
    subprocess.run(command, env=pipx_env, check=True, capture_output=True, timeout=600)
    return home / "bin" / "mcc"


def pip_venv(venv: Path, *requirements: str, env: Mapping[str, str], binary_only: bool = True) -> Path:
    """A clean venv of the user's python3 with ``pip install REQUIREMENTS`` (dependencies as wheels); its bin/."""
    subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], env=env, check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    binary = ["--only-binary=:all:"] if binary_only else ["--prefer-binary"]
    subprocess.run([*pip, *binary, *requirements], env=env, check=True, capture_output=True, timeout=900)
    return venv / "bin"


def files_of(tree: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``tree`` by its relative path: its bytes and whether it is executable."""
    files = (path for path in sorted(tree.rglob("*")) if path.is_file())
    return {path.relative_to(tree).as_posix(): (path.read_bytes(), os.access(path, os.X_OK)) for path in files}


def differences(one: Path, other: Path) -> list[str]:
    """Files that differ between two trees, or that only one has."""
    first, second = files_of(one), files_of(other)
    return sorted(name for name in first.keys() | second.keys() if first.get(name) != second.get(name))


@contextlib.contextmanager
def served_with_do_run(project: Path, python: str, env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """``do/run --local`` of ``project`` (PYTHON: its venv's), ready on a free port; the environment its other
    ``do/`` scripts need to reach it. Stopped with SIGTERM (as Ctrl-C does), which must end it cleanly."""
    run_dir = Path(tempfile.mkdtemp(prefix="mcc-run-"))  # short: unix socket paths are limited
    run_dir.chmod(0o755)
    port = free_port()
    script_env = {**env, "PYTHON": python, "LOCAL_PORT": str(port), "MCC_WORKERS": "1", "MCC_RUN_DIR": str(run_dir)}
    serve = subprocess.Popen([str(project / "do" / "run"), "--local"], env=script_env)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", 180, alive=lambda: serve.poll() is None)
        yield script_env
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(40) == 0
    finally:
        if serve.poll() is None:  # a failed test: stop it as cleanly, before its run directory goes
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(40)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        shutil.rmtree(run_dir, ignore_errors=True)
