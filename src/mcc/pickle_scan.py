"""What a pickle or joblib file refers to, read from its bytes without unpickling it.

Every class or function a pickle needs is named in it as ``module`` + ``name`` (the GLOBAL opcode of protocols
0-3, or two short strings before STACK_GLOBAL in protocols 4-5). joblib interleaves raw array bytes with the
pickle opcodes, so the names are found by their byte patterns rather than by walking the opcodes; joblib's
compressed files are decompressed first (zlib, gzip, bz2, xz). From the names: which framework the model needs,
and classes defined in the training script (``__main__``), which no server can import.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .file_cache import per_file_version
from .requirement_files import requirement_name

MAX_BYTES = 2 * 1024**3  # larger files are not scanned
IDENTIFIER = rb"[A-Za-z_][\w.]{0,200}"
GLOBAL = re.compile(rb"c(" + IDENTIFIER + rb")\n(" + IDENTIFIER + rb")\n")  # protocols 0-3
# protocols 4-5: SHORT_BINUNICODE module, optional MEMOIZE, SHORT_BINUNICODE name, optional MEMOIZE, STACK_GLOBAL
STACK_GLOBAL = re.compile(rb"\x8c[\x01-\xc8](" + IDENTIFIER + rb")\x94?\x8c[\x01-\xc8](" + IDENTIFIER + rb")\x94?\x93")
FRAMEWORKS = ("xgboost", "lightgbm", "sklearn")  # catalog names that are also their modules' names; first wins
# Distributions whose import name is not their own name (with - as _).
IMPORT_NAMES = {"scikit-learn": "sklearn", "xgboost-cpu": "xgboost", "tensorflow-cpu": "tensorflow",
                "protobuf": "google", "pyyaml": "yaml", "python-dateutil": "dateutil", "pillow": "PIL"}  # fmt: skip
ALWAYS = frozenset({"pandas"})  # added to the image whenever the model takes a DataFrame


@dataclass(frozen=True)
class Reference:
    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@per_file_version
def references(path: Path) -> tuple[Reference, ...]:
    """The classes and functions ``path`` names, in order of first appearance."""
    data = decompressed(path)
    found: dict[Reference, None] = {}
    for pattern in (GLOBAL, STACK_GLOBAL):
        for match in pattern.finditer(data):
            module, name = match.group(1).decode(), match.group(2).decode()
            if pattern is STACK_GLOBAL and len(match.group(1)) != data[match.start() + 1]:
                continue  # the length byte must be the module name's own
            found.setdefault(Reference(module, name), None)
    return tuple(found)


def framework_of(found: Sequence[Reference]) -> str | None:
    """The framework whose library the pickled model needs (XGBoost or LightGBM inside a scikit-learn pipeline
    counts as that framework: its image has scikit-learn too)."""
    tops = {reference.module.split(".", 1)[0] for reference in found}
    return next((framework for framework in FRAMEWORKS if framework in tops), None)


def training_script_classes(found: Sequence[Reference]) -> list[str]:
    return [reference.name for reference in found if reference.module == "__main__"]


def unprovided(found: Sequence[Reference], requirements: list[str], own_modules: set[str]) -> list[Reference]:
    """References to modules that neither the standard library, the ``requirements`` nor ``own_modules`` (the
    user's code) provide: the server could not import them."""
    provided = {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in map(requirement_name, requirements)}
    known = provided | own_modules | set(sys.stdlib_module_names) | ALWAYS | {"__main__", "builtins"}
    return [reference for reference in found if reference.module.split(".", 1)[0] not in known]


def decompressed(path: Path) -> bytes:
    """The file's bytes, decompressed where joblib compressed them (empty for files over MAX_BYTES)."""
    if path.stat().st_size > MAX_BYTES:
        return b""
    data = path.read_bytes()
    for magic, decompress in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress)):
        if data.startswith(magic):
            return _safely(decompress, data)
    if data[:1] == b"x":  # zlib (joblib's default compressor)
        return _safely(zlib.decompress, data)
    return data


def _safely(decompress, data: bytes) -> bytes:
    try:
        return decompress(data)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return data  # not compressed after all, or damaged: the structural check reports it
