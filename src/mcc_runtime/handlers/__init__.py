"""Framework handlers: one small module per framework, each exposing the same two functions.

``load(path: Path) -> model``
    Load the model artifact (a file or a directory) found in the model directory.
``predict(model, data: numpy.ndarray) -> numpy.ndarray``
    Predict for a 2-D batch of rows. Input the model cannot take (wrong feature count, values the
    model rejects) raises :class:`mcc_runtime.errors.BadRequest`.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def load_handler(name: str) -> ModuleType:
    """Import ``mcc_runtime.handlers.<name>``."""
    if not name.isidentifier():
        raise ValueError(f"invalid handler name {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise ValueError(f"no handler named {name!r} in mcc_runtime.handlers") from None
        raise
