"""The decision tree's answers kept between runs: written when a session ends without a project (Ctrl-C, or an
error the prompts cannot fix), offered back on the next ``mcc new`` in the same directory, removed on success."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from .answers import nest
from .errors import FieldError
from .sources import Answers, from_file

SESSION_FILE = ".mcc-answers.yaml"


def session_path(directory: Path) -> Path:
    return Path(directory) / SESSION_FILE


def save(answers: Answers, directory: Path) -> Path | None:
    """The answers given (typed, flags, env, files; not the defaults), nested as mcc.yaml; None when there were
    none."""
    typed = {key: _plain(given.value) for key, given in answers.items() if given.source != "default"}
    if not typed:
        return None
    path = session_path(directory)
    header = "# mcc new's answers so far; `mcc new` here offers to resume from them (or: mcc new --config FILE)\n"
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(header + yaml.safe_dump(nest(typed), sort_keys=False))
    staged.replace(path)
    return path


def _plain(value: object) -> object:
    """A value as YAML writes it: repeated flags (tuples) as lists, paths as text."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, Path) else value


def clear(directory: Path) -> None:
    session_path(directory).unlink(missing_ok=True)


def offer_resume(directory: Path, unknown: list[FieldError]) -> Answers:
    """The answers an earlier decision tree left in ``directory``, when the user takes them up again (as typed
    answers: kept again if this session ends without a project too)."""
    import questionary

    from .prompts import Aborted

    path = session_path(directory)
    if not path.is_file():
        return {}
    try:
        resume = questionary.confirm(f"Resume from your earlier answers in {SESSION_FILE}?", default=True).unsafe_ask()
    except KeyboardInterrupt:
        raise Aborted() from None
    if not resume:
        clear(directory)
        return {}
    return {key: replace(given, source="prompt") for key, given in from_file(path, unknown).items()}
