"""``code/serving.json``: what the generator tells the runtime about a project, as one typed definition.

The generator builds a :class:`ServingFile` and writes ``to_dict()``; the runtime (``Settings.load``, the LLM
launcher) reads it back with :meth:`ServingFile.read`, which refuses unknown keys and values of the wrong
type. Standard library only: the LLM launcher runs on engine images with their own Python.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

SERVING_FILE = "serving.json"
KINDS = ("predictive", "generative")


class ServingFileError(ValueError):
    """serving.json is missing, unreadable, or holds something the runtime does not know."""


@dataclass(frozen=True)
class ServerSection:
    """The app server: gunicorn's app factory, worker class, threads and (optionally) a fixed worker count."""

    name: str = "flask"
    app: str = "mcc_runtime.apps.flask_app:create_app()"
    worker_class: str = "sync"
    threads: int = 1
    workers: int | None = None


@dataclass(frozen=True)
class ServingFile:
    kind: str = "predictive"
    max_payload_mb: int = 6
    server: ServerSection | None = None
    preload: bool = True
    # predictive projects
    handler: str = ""
    model_format: str = ""
    model_filename: str | None = None
    model_extensions: tuple[str, ...] = ()
    model_is_directory: bool = False
    predict_output: str = "label"
    json_response: str = "object"
    input_types: tuple[str, ...] = ()  # request types beyond the common ones (the catalog's, per framework)
    max_batch_size: int = 1  # requests answered by one model call at most (1: each request on its own)
    max_batch_wait_ms: int = 0  # how long a batch waits for requests already on their way
    # generative projects: the engine's catalog entry and the project's generation choices
    engine: dict[str, Any] = field(default_factory=dict)
    generation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ServingFileError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "predictive" and not self.handler:
            raise ServingFileError("a predictive project needs its framework handler")
        if self.kind == "generative" and not (self.engine and self.generation):
            raise ServingFileError("a generative project needs its engine and generation settings")

    def to_dict(self) -> dict[str, Any]:
        """The keys that apply to this kind of project (what the generator writes)."""
        data = asdict(self)
        data["model_extensions"] = list(self.model_extensions)
        data["input_types"] = list(self.input_types)
        skipped = PREDICTIVE_KEYS if self.kind == "generative" else GENERATIVE_KEYS
        return {k: v for k, v in data.items() if k not in skipped and not (k == "server" and v is None)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> ServingFile:
        if not isinstance(data, dict):
            raise ServingFileError("expected a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ServingFileError(f"unknown keys: {', '.join(unknown)} (known: {', '.join(known)})")
        values = {name: _checked(name, value, known[name].type) for name, value in data.items()}
        if isinstance(values.get("server"), dict):
            values["server"] = _server(values["server"])
        return cls(**values)

    @classmethod
    def read(cls, code_dir: Path) -> ServingFile:
        path = Path(code_dir) / SERVING_FILE
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ServingFileError(f"{path} is missing; it is written by `mcc new`") from None
        except json.JSONDecodeError as exc:
            raise ServingFileError(f"{path} is not valid JSON: {exc}") from None
        except ServingFileError as exc:
            raise ServingFileError(f"{path}: {exc}") from None


PREDICTIVE_KEYS = frozenset(
    {"handler", "model_format", "model_filename", "model_extensions", "model_is_directory", "predict_output",
     "json_response", "input_types", "max_batch_size", "max_batch_wait_ms"}
)  # fmt: skip
GENERATIVE_KEYS = frozenset({"engine", "generation"})
TYPES = {"str": str, "int": int, "bool": bool, "dict[str, Any]": dict, "tuple[str, ...]": list}


def _checked(name: str, value: Any, annotation: str) -> Any:
    """Refuse a value of the wrong JSON type ("true" for a bool, "6" for a number)."""
    if value is None and "None" in annotation:
        return None
    expected = next((t for spelled, t in TYPES.items() if annotation.startswith(spelled)), None)
    if annotation.startswith("ServerSection"):
        expected = dict
    if expected is None:
        return value
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ServingFileError(f"{name} must be {annotation.split(' |')[0]}, not {value!r}")
    return tuple(value) if expected is list else value


def _server(data: dict[str, Any]) -> ServerSection:
    known = {f.name: f for f in fields(ServerSection)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ServingFileError(f"server: unknown keys: {', '.join(unknown)} (known: {', '.join(known)})")
    return ServerSection(**{k: _checked(f"server.{k}", v, known[k].type) for k, v in data.items()})
