"""The project's output directory: creatable, or empty, or --force given (checked with the answers, and again
just before writing)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FieldError
from .errors import answer_error as _error
from .sources import Answers


def target_errors(output_dir: Path, force: bool, answers: Answers) -> list[FieldError]:
    """The output directory must be creatable, or empty, or --force given."""
    shown = str(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        return [_error(answers, "output_dir", shown, "exists and is not a directory")]
    ancestor = next(p for p in output_dir.absolute().parents if p.exists())
    if not output_dir.exists() and not ancestor.is_dir():
        return [_error(answers, "output_dir", shown, f"cannot be created: {ancestor} is not a directory")]
    if not output_dir.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
        return [_error(answers, "output_dir", shown, f"cannot be created: no write permission in {ancestor}")]
    if output_dir.is_dir() and any(output_dir.iterdir()) and not force:
        return [
            _error(
                answers,
                "output_dir",
                shown,
                "exists and is not empty; pass --force to overwrite the generated files in it",
            )
        ]
    return []
