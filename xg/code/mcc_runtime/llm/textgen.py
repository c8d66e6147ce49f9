"""mcc's own engine: Hugging Face Transformers models for text generation and sentence embeddings.

For small models on CPU (or one GPU). One model per worker; a lock serialises generation, so threads of the
same worker keep answering /ping while a request generates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .openai import BadRequest, EmbeddingRequest, GenerationRequest, Sampling

DTYPES = {"float16": "float16", "bfloat16": "bfloat16", "float32": "float32"}
STREAM_TIMEOUT_S = 300


@dataclass(frozen=True)
class Generated:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _torch_dtype(dtype: str | None) -> Any:
    import torch

    return getattr(torch, DTYPES[dtype]) if dtype in DTYPES else "auto"


class TextGenerator:
    """A causal LM and its tokenizer."""

    def __init__(self, reference: str, dtype: str | None, trust_remote_code: bool, max_model_len: int | None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(reference, trust_remote_code=trust_remote_code)
        self.model = AutoModelForCausalLM.from_pretrained(
            reference, dtype=_torch_dtype(dtype), trust_remote_code=trust_remote_code
        ).to(_device())
        self.model.eval()
        own = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.max_model_len = min(max_model_len or own, own)
        self.lock = threading.Lock()

    def prompt_ids(self, request: GenerationRequest) -> list[int]:
        if request.kind == "chat":
            if getattr(self.tokenizer, "chat_template", None):
                text = self.tokenizer.apply_chat_template(
                    list(request.messages), add_generation_prompt=True, tokenize=False
                )
                ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            else:
                lines = [f"{m['role']}: {m['content']}" for m in request.messages] + ["assistant:"]
                ids = self.tokenizer("\n".join(lines))["input_ids"]
        else:
            ids = self.tokenizer(request.prompt)["input_ids"]
        if len(ids) >= self.max_model_len:
            raise BadRequest(f"the prompt is {len(ids)} tokens; this model takes fewer than {self.max_model_len}")
        return list(ids)

    def _budget(self, ids: list[int], sampling: Sampling) -> int:
        return min(sampling.max_tokens, self.max_model_len - len(ids))

    def _generate_kwargs(self, ids: list[int], sampling: Sampling) -> dict[str, Any]:
        import torch

        kwargs: dict[str, Any] = {
            "input_ids": torch.tensor([ids], device=self.model.device),
            "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=self.model.device),
            "max_new_tokens": self._budget(ids, sampling),
            "pad_token_id": self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else self.tokenizer.eos_token_id,
        }
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False)
        return kwargs

    def generate(self, request: GenerationRequest) -> Generated:
        import torch

        ids = self.prompt_ids(request)
        sampling = request.sampling
        with self.lock, torch.inference_mode():
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            output = self.model.generate(**self._generate_kwargs(ids, sampling))
        new = output[0][len(ids) :].tolist()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, sampling.stop)
        ended = bool(new) and new[-1] == self.tokenizer.eos_token_id
        finish = "stop" if stopped or ended or len(new) < self._budget(ids, sampling) else "length"
        return Generated(text, finish, len(ids), len(new))

    def stream(self, request: GenerationRequest) -> Iterator[tuple[str, str | None]]:
        """(text piece, None)… then ("", finish_reason). Generation runs in a thread holding the lock."""
        import torch
        from transformers import TextIteratorStreamer

        ids = self.prompt_ids(request)
        sampling = request.sampling
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=STREAM_TIMEOUT_S
        )
        counted: list[int] = []

        def run() -> None:
            with self.lock, torch.inference_mode():
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                output = self.model.generate(**self._generate_kwargs(ids, sampling), streamer=streamer)
                counted.append(len(output[0]) - len(ids))

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        held = max((len(s) for s in sampling.stop), default=1) - 1  # text held back: a stop may be forming
        buffer = ""
        for piece in streamer:
            buffer += piece
            cut, stopped = cut_at_stop(buffer, sampling.stop)
            if stopped:
                if cut:
                    yield cut, None
                worker.join()
                yield "", "stop"
                return
            ready = len(buffer) - held
            if ready > 0:
                yield buffer[:ready], None
                buffer = buffer[ready:]
        worker.join()
        if buffer:
            yield buffer, None
        produced = counted[0] if counted else 0
        yield "", "length" if produced >= self._budget(ids, sampling) else "stop"


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` up to the first stop sequence, and whether one was found."""
    positions = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(positions)], True) if positions else (text, False)


class Embedder:
    """A sentence-transformers model (a plain Transformers encoder gets mean pooling)."""

    def __init__(self, reference: str, trust_remote_code: bool) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(reference, device=_device(), trust_remote_code=trust_remote_code)
        self.lock = threading.Lock()

    def embed(self, request: EmbeddingRequest) -> tuple[list[list[float]], int]:
        texts = list(request.inputs)
        tokens = sum(len(ids) for ids in self.model.tokenizer(texts)["input_ids"])
        with self.lock:
            vectors = self.model.encode(texts, convert_to_numpy=True)
        return vectors.tolist(), tokens
