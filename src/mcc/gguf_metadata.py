"""What a GGUF file says about its model, read from its header without loading a weight (standard library).

GGUF (llama.cpp's format): magic ``GGUF``, version, tensor count, key/value count, the key/values
(typed scalars, strings, arrays), then one record per tensor (name, dimensions, type, offset).
Sizing needs the architecture's shape (layers, KV heads, head width: the KV cache), its trained context,
the quantization (``general.file_type``) and the weights' bytes (the file's size, since GGUF stores them as-is).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"GGUF"
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
# llama.cpp's llama_ftype: general.file_type -> the name llama-quantize gives it.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip
SKIPPED_ARRAYS = ("tokenizer.",)  # vocabularies: read past, not kept


class GgufError(ValueError):
    """Not a GGUF file, or one cut short."""


@dataclass(frozen=True)
class GgufModel:
    architecture: str
    name: str
    parameters: int  # elements in all tensors
    file_type: str  # e.g. Q4_K_M; "" when the file does not say
    context_length: int | None
    layers: int | None
    kv_heads: int | None
    head_dim: int | None
    file_bytes: int

    @property
    def params_b(self) -> float:
        return self.parameters / 1e9

    def kv_cache_bytes(self, context: int, bytes_per_value: int = 2) -> int:
        """Keys and values for ``context`` tokens (llama.cpp's default cache type is f16)."""
        if not (self.layers and self.kv_heads and self.head_dim):
            return 0
        return 2 * self.layers * self.kv_heads * self.head_dim * context * bytes_per_value

    def describe(self) -> str:
        quantization = f", {self.file_type}" if self.file_type else ""
        context = f", trained context {self.context_length} tokens" if self.context_length else ""
        return f"{self.architecture} {self.parameters / 1e6:,.1f}M parameters{quantization}{context}"


def read_gguf_once(path: Path) -> GgufModel:
    """``read_gguf``, once per file version: validation, sizing and the plan all ask."""
    return _read_version(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _read_version(path: Path, _mtime_ns: int) -> GgufModel:
    return read_gguf(path)


def read_gguf(path: Path) -> GgufModel:
    """The model a GGUF file holds; GgufError when it is not one."""
    with open(path, "rb") as stream:
        if stream.read(4) != MAGIC:
            raise GgufError(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")
        version, tensors, count = _unpack(stream, "<IQQ")
        if version < 2:
            raise GgufError(f"{path.name} is GGUF version {version}; llama.cpp reads versions 2 and 3")
        values = {}
        for _ in range(count):
            key = _string(stream)
            values[key] = _value(stream, _unpack(stream, "<I")[0], keep=not key.startswith(SKIPPED_ARRAYS))
        parameters = 0
        for _ in range(tensors):
            _string(stream)
            dims = _unpack(stream, "<I")[0]
            parameters += math.prod(_unpack(stream, f"<{dims}Q"))
            _unpack(stream, "<IQ")  # type, offset
    arch = str(values.get("general.architecture", ""))
    heads = values.get(f"{arch}.attention.head_count")
    width = values.get(f"{arch}.embedding_length")
    head_dim = values.get(f"{arch}.attention.key_length") or (width // heads if width and heads else None)
    return GgufModel(
        architecture=arch,
        name=str(values.get("general.name", "")),
        parameters=parameters,
        file_type=FILE_TYPES.get(values.get("general.file_type"), ""),
        context_length=values.get(f"{arch}.context_length"),
        layers=values.get(f"{arch}.block_count"),
        kv_heads=values.get(f"{arch}.attention.head_count_kv") or heads,
        head_dim=head_dim,
        file_bytes=path.stat().st_size,
    )


def _unpack(stream: BinaryIO, layout: str) -> tuple:
    size = struct.calcsize(layout)
    data = stream.read(size)
    if len(data) != size:
        raise GgufError("the GGUF header is cut short")
    return struct.unpack(layout, data)


def _string(stream: BinaryIO) -> str:
    (length,) = _unpack(stream, "<Q")
    data = stream.read(length)
    if len(data) != length:
        raise GgufError("the GGUF header is cut short")
    return data.decode("utf-8", errors="replace")


def _value(stream: BinaryIO, kind: int, keep: bool = True) -> Any:
    if kind in SCALARS:
        return _unpack(stream, SCALARS[kind])[0]
    if kind == STRING:
        return _string(stream)
    if kind == ARRAY:
        item, length = _unpack(stream, "<IQ")
        if item in SCALARS and not keep:
            stream.seek(struct.calcsize(SCALARS[item]) * length, 1)
            return None
        items = [_value(stream, item, keep) for _ in range(length)]
        return items if keep else None
    raise GgufError(f"unknown GGUF value type {kind}")
