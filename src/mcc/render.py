"""Templates (Jinja2, StrictUndefined) and the atomic write of a planned project."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from .errors import InvalidAnswers
from .target_dir import target_errors

TEMPLATES_DIR = Path(__file__).parent / "templates"
PARTIALS = "partials"  # blocks the kinds' templates include (never a project file themselves)


@dataclass(frozen=True)
class PlannedFile:
    """One file of the project: either ``content`` or a ``source`` file to copy."""

    path: str
    content: bytes | None = None
    source: Path | None = None
    executable: bool = False
    user_owned: bool = False


@cache
def environment(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([TEMPLATES_DIR / kind, TEMPLATES_DIR / PARTIALS]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["shquote"] = lambda value: shlex.quote(str(value))
    return env


def render_template(name: str, kind: str, context: dict[str, Any]) -> str:
    return environment(kind).get_template(name).render(**context)


@dataclass(frozen=True)
class Written:
    target: Path
    kept: list[str] = field(default_factory=list)  # user-owned files that already existed


def write_project(files: Iterable[PlannedFile], target: Path, *, force: bool = False) -> Written:
    """Write every file into a staging directory beside ``target``, then move it into place.

    A new or empty target is replaced by the staging directory in one rename. A non-empty target
    (only with ``force``) gets each generated file replaced, except user-owned files that exist
    already; files the generator does not write stay.
    """
    target = Path(target).resolve()
    errors = target_errors(target, force, {})  # again: the directory may have changed since validation
    if errors:
        raise InvalidAnswers(errors)
    non_empty = target.is_dir() and any(target.iterdir())
    created_parents = [p for p in reversed(target.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".mcc-staging", dir=target.parent))
    done = False
    try:
        umask = _umask()
        staging.chmod(0o777 & ~umask)
        files = list(files)
        for planned in files:
            _write(staging, planned, umask)
        kept = [f.path for f in files if non_empty and f.user_owned and (target / f.path).exists()]
        if not non_empty:
            if target.is_dir():
                target.rmdir()
            staging.rename(target)
        else:
            for planned in files:
                if planned.path not in kept:
                    (target / planned.path).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / planned.path, target / planned.path)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for parent in reversed(created_parents):  # leave no empty directories behind either
                with contextlib.suppress(OSError):
                    parent.rmdir()
    return Written(target, kept)


def _write(root: Path, planned: PlannedFile, umask: int) -> None:
    path = root / planned.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if planned.source is not None:
        shutil.copyfile(planned.source, path)
    else:
        path.write_bytes(planned.content or b"")
    path.chmod((0o777 if planned.executable else 0o666) & ~umask)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
