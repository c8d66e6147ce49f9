"""Where answers come from, in precedence order: flags > environment > --config file >
``[tool.mcc]`` in ./pyproject.toml > defaults > interactive prompts.

Each source yields ``{key: Given(value, source)}``; :func:`merge` keeps the first source that has a key.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .answers import ANSWERS, BY_KEY, BY_PATH
from .errors import FieldError, InvalidAnswers
from .validation import file_not_found, suggest

RECORD_ONLY_KEYS = {"mcc_version", "schema_version"}  # written into mcc.yaml for information; ignored when read back


@dataclass(frozen=True)
class Given:
    value: Any
    source: str


Answers = dict[str, Given]


def from_flags(params: Mapping[str, Any]) -> Answers:
    """The flags given (a repeatable flag not given at all is no answer)."""
    return {a.key: Given(params[a.key], f"flag {a.flag}") for a in ANSWERS if params.get(a.key) not in (None, ())}


def from_env(environ: Mapping[str, str]) -> Answers:
    return {a.key: Given(environ[a.env], f"env {a.env}") for a in ANSWERS if environ.get(a.env, "").strip() != ""}


def from_file(path: Path, unknown: list[FieldError] | None = None) -> Answers:
    """A YAML, TOML or JSON config file, nested like mcc.yaml (flat keys accepted too). Settings mcc does not
    know are added to ``unknown`` (so they are reported with every other problem), or raised at once without it."""
    path = Path(path)
    if not path.is_file():
        raise InvalidAnswers([FieldError("config", file_not_found(path), str(path))], "cannot read the config file")
    data = _parse(path)
    return _flatten(data, f"config file {path}", path.resolve().parent, unknown)


def from_mapping(data: dict, source: str, base_dir: Path, unknown: list[FieldError] | None = None) -> Answers:
    """Answers from data already read (mcc.yaml after mcc upgrade's migrations); paths relative to ``base_dir``."""
    return _flatten(data, source, base_dir, unknown)


def from_pyproject(directory: Path, unknown: list[FieldError] | None = None) -> Answers:
    path = Path(directory) / "pyproject.toml"
    if not path.is_file():
        return {}
    data = _parse(path).get("tool", {}).get("mcc", {})
    return _flatten(data, f"{path} [tool.mcc]", path.resolve().parent, unknown)


def merge(*layers: Answers) -> Answers:
    merged: Answers = {}
    for layer in layers:
        for key, given in layer.items():
            merged.setdefault(key, given)
    return merged


def _parse(path: Path) -> dict:
    text = path.read_text()
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise InvalidAnswers(
                [FieldError("config", "use a .yaml, .yml, .toml or .json file", str(path))],
                "cannot read the config file",
            )
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidAnswers(
            [FieldError("config", f"cannot parse: {exc}", str(path))], "cannot read the config file"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidAnswers(
            [FieldError("config", "must hold a mapping of settings", str(path))], "cannot read the config file"
        )
    return data


def _flatten(data: dict, source: str, base_dir: Path, unknown: list[FieldError] | None) -> Answers:
    found: Answers = {}
    errors: list[FieldError] = []

    def walk(node: dict, prefix: tuple[str, ...]) -> None:
        for name, value in node.items():
            path = (*prefix, str(name))
            answer = BY_PATH.get(path) or (BY_KEY.get(path[0]) if len(path) == 1 else None)
            if answer is not None:
                if value is None or value == "" or value == []:
                    continue  # left empty (mcc.yaml records every answer): no answer, as an unset flag
                if answer.kind == "path" and isinstance(value, str):
                    value = str((base_dir / value).resolve()) if value else value
                found[answer.key] = Given(value, source)
            elif isinstance(value, dict) and any(p[: len(path)] == path for p in BY_PATH):
                walk(value, path)
            elif path[0] not in RECORD_ONLY_KEYS:
                errors.append(unknown_setting(path, value, source))

    walk(data, ())
    if errors and unknown is None:
        raise InvalidAnswers(errors, "unknown settings in the config")
    if unknown is not None:
        unknown.extend(errors)
    return found


def unknown_setting(path: tuple[str, ...], value: Any, source: str) -> FieldError:
    """A setting no answer has, with the closest known setting's name."""
    dotted = ".".join(path)
    known = [".".join(p) for p in BY_PATH] + (list(BY_KEY) if len(path) == 1 else [])  # flat keys at the top
    return FieldError(dotted, f"unknown setting{suggest(dotted, known)} (see `mcc schema`)", value, source)
