"""A complete pinned closure for a framework release the catalog does not pin, from pip's own resolver.

``pip install --dry-run --report`` resolves for the image, not for this machine: its Python version, Linux on
x86_64 (aarch64 for Graviton) with manylinux wheels up to the base image's C library, and wheels only (the
slim image has no compiler).
Nothing is installed; the report lists every distribution pip would install, and each becomes a ``==`` pin.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .requirement_files import requirement_name

OLDEST_MANYLINUX = 17  # manylinux2014
TIMEOUT_S = 180


class ResolutionError(Exception):
    """pip could not resolve the requirements; the message says why, in pip's words."""


@dataclass(frozen=True)
class Target:
    """The image pip resolves for."""

    python_version: str  # "3.11"
    glibc: str  # "2.36"
    extra_index_url: str | None = None
    machine: str = "x86_64"  # or "aarch64" (Graviton)

    def platforms(self) -> list[str]:
        newest = int(self.glibc.split(".")[1])
        return [f"manylinux_2_{minor}_{self.machine}" for minor in range(newest, OLDEST_MANYLINUX - 1, -1)] + [
            f"manylinux2014_{self.machine}"
        ]


@functools.lru_cache(maxsize=16)
def resolve(requirements: tuple[str, ...], target: Target, constraints: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``name==version`` for every distribution the image needs to satisfy ``requirements`` (sorted by name);
    ``constraints`` bind the versions of packages installed beside them (not added themselves)."""
    with tempfile.TemporaryDirectory(prefix="mcc-resolve-") as scratch:
        report, constraints_file = Path(scratch) / "report.json", Path(scratch) / "constraints.txt"
        constraints_file.write_text("".join(f"{line}\n" for line in constraints))
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--disable-pip-version-check", "--report", str(report), "--target", str(Path(scratch) / "none"),
                   "--constraint", str(constraints_file),
                   "--only-binary=:all:", "--implementation", "cp", "--python-version", target.python_version,
                   *(f"--platform={tag}" for tag in target.platforms())]  # fmt: skip
        if target.extra_index_url:
            command += ["--extra-index-url", target.extra_index_url]
        try:
            done = subprocess.run(
                [*command, *requirements], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise ResolutionError(f"pip did not finish resolving within {TIMEOUT_S} s") from None
        if done.returncode != 0 or not report.is_file():
            raise ResolutionError(_pip_reason(done.stderr or done.stdout))
        installed = json.loads(report.read_text())["install"]
    pins = {requirement_name(item["metadata"]["name"]): item["metadata"]["version"] for item in installed}
    return tuple(f"{name}=={pins[name]}" for name in sorted(pins))


def _pip_reason(output: str) -> str:
    """pip's ERROR lines (the reason), without its warnings about unreachable locations."""
    lines = output.strip().splitlines()
    errors = [line.removeprefix("ERROR: ").strip() for line in lines if line.startswith("ERROR:")]
    reason = "; ".join(error for error in errors if error) or (lines[-1] if lines else "pip failed with no message")
    if "(from versions: none)" in reason:
        reason += " (is the package index reachable from here?)"
    return reason
