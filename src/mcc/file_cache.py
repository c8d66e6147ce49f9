"""Results read from a user's file, cached per file version: `mcc new` asks several stages the same question of
one artifact (which framework, which release, which columns), and a model may be gigabytes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

R = TypeVar("R")


def per_file_version(function: Callable[..., R]) -> Callable[..., R]:
    """Cache ``function(path, *args)`` by the file's resolved path, size and modification time; a path that
    cannot be stat'ed is not cached (the function reports it)."""

    @functools.lru_cache(maxsize=16)
    def cached(path: Path, _mtime: int, _size: int, *args: object) -> R:
        return function(path, *args)

    @functools.wraps(function)
    def by_version(path: Path, *args: object) -> R:
        try:
            stat = path.stat()
        except OSError:
            return function(path, *args)
        return cached(path.resolve(), stat.st_mtime_ns, stat.st_size, *args)

    return by_version
