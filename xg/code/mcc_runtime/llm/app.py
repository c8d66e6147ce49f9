"""The Flask app of mcc's Transformers engine: /ping, and /invocations taking OpenAI chat-completions,
completions or embeddings bodies (also at their OpenAI paths). ``"stream": true`` answers with
server-sent events, which SageMaker's InvokeEndpointWithResponseStream passes through."""

from __future__ import annotations

import encodings.idna  # noqa: F401  (see apps/flask_app.py)
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request, stream_with_context
from werkzeug.exceptions import HTTPException

from ..settings import runtime_code_dir
from . import openai
from .launch import load_settings, model_reference, option_values, truthy
from .openai import BadRequest, EmbeddingRequest, GenerationRequest
from .textgen import Embedder, TextGenerator

log = logging.getLogger("mcc_runtime.llm")
NOT_FOUND = "not found; this server answers GET /ping and POST /invocations"


def load_model(generation: dict[str, Any], environ: dict[str, str]) -> TextGenerator | Embedder:
    reference = model_reference(generation, environ)
    values = option_values(generation, "runtime", environ)  # MCC_<OPTION> overrides, validated
    trust_remote_code = truthy("trust_remote_code", values["trust_remote_code"] or False)
    if generation.get("task") == "embedding":
        return Embedder(reference, trust_remote_code)
    return TextGenerator(reference, values["dtype"], trust_remote_code, values["max_model_len"])


def create_app(model: TextGenerator | Embedder | None = None, name: str | None = None) -> Flask:
    generation = load_settings(runtime_code_dir()).generation
    model = model or load_model(generation, dict(os.environ))
    served_name = name or generation.get("served_model_name") or generation.get("model_id") or "model"
    app = Flask("mcc_runtime.llm")

    def json_response(data: dict, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def answer(body: bytes) -> Response:
        try:
            parsed = openai.parse(body)
            if isinstance(parsed, EmbeddingRequest):
                if not isinstance(model, Embedder):
                    raise BadRequest("this endpoint serves a text-generation model: send `messages` or `prompt`")
                vectors, tokens = model.embed(parsed)
                return json_response(openai.embeddings_answer(vectors, served_name, tokens))
            if not isinstance(model, TextGenerator):
                raise BadRequest("this endpoint serves an embedding model: send `input`")
            if parsed.stream:
                model.prompt_ids(parsed)  # a prompt that is too long gets its 400 before the stream starts
                return Response(
                    stream_with_context(_events(model, parsed, served_name)),
                    content_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                )
            done = model.generate(parsed)
            return json_response(
                openai.completion_answer(
                    parsed, served_name, done.text, done.finish_reason, done.prompt_tokens, done.completion_tokens
                )
            )
        except BadRequest as exc:
            return json_response(openai.error_body(str(exc)), 400)
        except Exception as exc:  # never let one request take the worker down
            log.exception("generation failed")
            print(f"[mcc_runtime.llm] error: {exc!r}", file=sys.stderr, flush=True)
            return json_response(openai.error_body(f"the model failed: {exc}", "server_error"), 500)

    @app.get("/ping")
    def ping() -> Response:
        return json_response({"status": "healthy"})

    for path in ("/invocations", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        app.add_url_rule(path, path, lambda: answer(request.get_data(cache=False)), methods=["POST"])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        message = NOT_FOUND if exc.code in (404, 405) else (exc.description or exc.name)
        return json_response(openai.error_body(message), exc.code or 500)

    return app


def _events(model: TextGenerator, parsed: GenerationRequest, name: str) -> Iterator[bytes]:
    ident = openai.new_id("chatcmpl" if parsed.kind == "chat" else "cmpl")
    try:
        pieces = model.stream(parsed)  # validates the prompt before the first byte goes out
        if parsed.kind == "chat":
            yield openai.stream_chunk(parsed, ident, name, None, None)
        for text, finish in pieces:
            yield openai.stream_chunk(parsed, ident, name, text, finish)
    except BadRequest as exc:
        yield b"data: " + json.dumps(openai.error_body(str(exc))).encode() + b"\n\n"
    except Exception as exc:
        log.exception("streaming failed")
        yield b"data: " + json.dumps(openai.error_body(f"the model failed: {exc}", "server_error")).encode() + b"\n\n"
    yield openai.STREAM_END
