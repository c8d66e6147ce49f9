"""llama-cpp-python's OpenAI-compatible server, run with its own arguments, and SageMaker's error contract.

Upstream answers a request its own request models reject (a body that is not JSON, a wrong type) with a
500. Here such a request gets a 400 naming the problem, before the model sees it; everything else goes to
llama-cpp-python's app unchanged. Run as ``python3 -m mcc_runtime.llm.llamacpp_server`` with the argv of
``python3 -m llama_cpp.server``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def request_models() -> dict[str, Any]:
    """The request model llama-cpp-python validates each POST route's body with."""
    from llama_cpp.server import types

    return {
        "/v1/chat/completions": types.CreateChatCompletionRequest,
        "/v1/completions": types.CreateCompletionRequest,
        "/v1/embeddings": types.CreateEmbeddingRequest,
    }


def body_problem(model: Any, body: bytes) -> str | None:
    """Why ``body`` is not a request ``model`` accepts, or None."""
    from pydantic import ValidationError

    try:
        data = json.loads(body)
    except ValueError as error:
        return f"the body is not JSON: {error}"
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    try:
        model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return f"{where}: {first['msg']}"
    return None


class ClientErrors:
    """ASGI middleware: a POST body the route's request model rejects gets a 400 JSON error."""

    def __init__(self, app: ASGIApp, models: dict[str, Any]) -> None:
        self.app, self.models = app, models

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        model = self.models.get(scope.get("path", "")) if scope["type"] == "http" else None
        if model is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = body_problem(model, body)
        if problem:
            await _answer_400(send, problem)
            return
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if delivered:
                return await receive()  # the client's disconnect, when it comes
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _answer_400(send: Callable, message: str) -> None:
    payload = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": 400}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main(argv: list[str] | None = None) -> None:
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
    from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

    parser = argparse.ArgumentParser(description="llama-cpp-python's server, with 400s for bad requests")
    add_args_from_model(parser, Settings)
    args = parser.parse_args(argv)
    server = parse_model_from_args(ServerSettings, args)
    app = create_app(server_settings=server, model_settings=[parse_model_from_args(ModelSettings, args)])
    uvicorn.run(ClientErrors(app, request_models()), host=server.host, port=server.port)


if __name__ == "__main__":
    main(sys.argv[1:])
