"""Assemble the four inference hooks: ``code/inference.py`` where it defines them, defaults elsewhere."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import codecs, defaults
from .settings import Settings

HOOK_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn")
USER_MODULE = "inference"


@dataclass(frozen=True)
class Hooks:
    model_fn: Callable[[str], Any]
    input_fn: Callable[[bytes, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    # Response types output_fn can produce; inference.py may widen it with OUTPUT_CONTENT_TYPES.
    output_types: tuple[str, ...] = codecs.OUTPUT_TYPES


def load_user_module(path: Path) -> ModuleType | None:
    """Import ``inference.py`` from the code directory, or None when there is none."""
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(USER_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[USER_MODULE] = module
    spec.loader.exec_module(module)
    return module


def load_hooks(settings: Settings) -> Hooks:
    default_hooks = defaults.configure(settings)
    user = load_user_module(settings.code_dir / f"{USER_MODULE}.py")
    chosen = {name: getattr(user, name, None) or getattr(default_hooks, name) for name in HOOK_NAMES}
    output_types = tuple(getattr(user, "OUTPUT_CONTENT_TYPES", codecs.OUTPUT_TYPES))
    return Hooks(**chosen, output_types=output_types)
