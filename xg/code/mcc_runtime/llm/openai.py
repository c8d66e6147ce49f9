"""OpenAI-compatible request bodies (chat completions, completions, embeddings): parsing, validation and
the answers' shapes. Pure Python; every malformed body becomes a BadRequest with a message for the client."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant", "tool", "developer")
MAX_TOKENS_LIMIT = 32768


class BadRequest(ValueError):
    """The client sent a body we cannot serve (answered with 400)."""


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    kind: str  # "chat" or "completion"
    messages: tuple[dict[str, str], ...] = ()
    prompt: str = ""
    sampling: Sampling = field(default_factory=Sampling)
    stream: bool = False
    model: str = ""


@dataclass(frozen=True)
class EmbeddingRequest:
    inputs: tuple[str, ...]
    model: str = ""


def parse(body: bytes) -> GenerationRequest | EmbeddingRequest:
    """A chat body (``messages``), a completions body (``prompt``) or an embeddings body (``input``)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    model = _optional(data, "model", str, "")
    if "messages" in data:
        return GenerationRequest("chat", messages=_messages(data["messages"]), **_generation_fields(data, model))
    if "prompt" in data:
        return GenerationRequest("completion", prompt=_prompt(data["prompt"]), **_generation_fields(data, model))
    if "input" in data:
        return EmbeddingRequest(_inputs(data["input"]), model)
    raise BadRequest("expected `messages` (chat completions), `prompt` (completions) or `input` (embeddings)")


def _generation_fields(data: dict, model: str) -> dict[str, Any]:
    max_tokens = data.get("max_completion_tokens", data.get("max_tokens", Sampling.max_tokens))
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise BadRequest(f"max_tokens must be a whole number from 1 to {MAX_TOKENS_LIMIT}")
    temperature = _number(data, "temperature", Sampling.temperature, 0.0, 2.0)
    top_p = _number(data, "top_p", Sampling.top_p, 0.0, 1.0)
    if top_p == 0:
        raise BadRequest("top_p must be above 0")
    n = data.get("n", 1)
    if n != 1:
        raise BadRequest("only n=1 is supported")
    stop = data.get("stop")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stops = (stop,)
    elif isinstance(stop, list) and all(isinstance(s, str) and s for s in stop) and len(stop) <= 4:
        stops = tuple(stop)
    else:
        raise BadRequest("stop must be a string or a list of up to 4 non-empty strings")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest("seed must be a whole number")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("stream must be true or false")
    return {"sampling": Sampling(max_tokens, temperature, top_p, stops, seed), "stream": stream, "model": model}


def _messages(value: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise BadRequest("messages must be a non-empty list")
    messages = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise BadRequest(f"messages[{i}] must be an object with a role ({', '.join(ROLES)})")
        content = message.get("content")
        if isinstance(content, list):  # content parts: text only
            if not all(
                isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content
            ):
                raise BadRequest(f"messages[{i}].content parts must all be text parts")
            content = "".join(p["text"] for p in content)
        if not isinstance(content, str):
            raise BadRequest(f"messages[{i}].content must be a string")
        messages.append({"role": message["role"], "content": content})
    return tuple(messages)


def _is_text_part(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)


def _prompt(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str) or not value:
        raise BadRequest("prompt must be a non-empty string (one prompt per request)")
    return value


def _inputs(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(s, str) and s for s in items):
        raise BadRequest("input must be a non-empty string or a non-empty list of non-empty strings")
    if len(items) > 2048:
        raise BadRequest("input holds more than 2048 texts")
    return tuple(items)


def _number(data: dict, key: str, default: float, low: float, high: float) -> float:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequest(f"{key} must be a number from {low:g} to {high:g}")
    return float(value)


def _optional(data: dict, key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise BadRequest(f"{key} must be a {kind.__name__}")
    return value


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int = 0) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_answer(
    request: GenerationRequest, model: str, text: str, finish: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    created = int(time.time())
    if request.kind == "chat":
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
        kind, prefix = "chat.completion", "chatcmpl"
    else:
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        kind, prefix = "text_completion", "cmpl"
    return {
        "id": new_id(prefix),
        "object": kind,
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": usage(prompt_tokens, completion_tokens),
    }


def stream_chunk(request: GenerationRequest, ident: str, model: str, text: str | None, finish: str | None) -> bytes:
    """One server-sent event of a streamed answer (``text`` None: the role-only first chunk of a chat)."""
    if request.kind == "chat":
        delta = {"role": "assistant", "content": ""} if text is None else ({"content": text} if text else {})
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        kind = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
        kind = "text_completion"
    event = {"id": ident, "object": kind, "created": int(time.time()), "model": model, "choices": [choice]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


STREAM_END = b"data: [DONE]\n\n"


def embeddings_answer(vectors: list[list[float]], model: str, prompt_tokens: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        "model": model,
        "usage": usage(prompt_tokens),
    }


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}
