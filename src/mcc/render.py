"""Templates (Jinja2, StrictUndefined) and the atomic write of a planned project."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from .errors import FieldError, InvalidAnswers

if TYPE_CHECKING:
    from .plan import PlannedFile

TEMPLATES_DIR = Path(__file__).parent / "templates"


def environment(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / kind),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["shquote"] = lambda value: shlex.quote(str(value))
    return env


def render_template(name: str, kind: str, context: dict[str, Any]) -> str:
    return environment(kind).get_template(name).render(**context)


def write_project(files: Iterable[PlannedFile], target: Path, *, force: bool = False) -> Path:
    """Write every file into a staging directory beside ``target``, then move it into place.

    A new or empty target is replaced by the staging directory in one rename. A non-empty target
    (only with ``force``) gets each generated file replaced; files the generator does not write stay.
    """
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise InvalidAnswers([FieldError("output_dir", "exists and is not a directory", str(target))])
    non_empty = target.is_dir() and any(target.iterdir())
    if non_empty and not force:
        raise InvalidAnswers([FieldError("output_dir", "exists and is not empty; pass --force", str(target))])
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".mcc-staging", dir=target.parent))
    try:
        umask = _umask()
        staging.chmod(0o777 & ~umask)
        written = [_write(staging, planned, umask) for planned in files]
        if not non_empty:
            if target.is_dir():
                target.rmdir()
            staging.rename(target)
        else:
            for relative in written:
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / relative, target / relative)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _write(root: Path, planned: PlannedFile, umask: int) -> str:
    path = root / planned.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if planned.source is not None:
        shutil.copyfile(planned.source, path)
    else:
        path.write_bytes(planned.content or b"")
    path.chmod((0o777 if planned.executable else 0o666) & ~umask)
    return planned.path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
