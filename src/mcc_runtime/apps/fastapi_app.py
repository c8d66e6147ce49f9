"""FastAPI adapter (served by uvicorn workers under gunicorn).

SageMaker's two routes are answered by a few lines of plain ASGI in front of the FastAPI app: a request then
costs a fraction of FastAPI's middleware stack, which at thousands of requests a second is most of a worker's
time. Every other request (404, 405 ...) goes through FastAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from ..batching import Dispatcher
from ..errors import error_body
from ..service import InferenceService, Reply, build_service
from . import NOT_FOUND_MESSAGE

ROUTES = ("/ping", "/invocations")
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class SageMakerRoutes:
    """``GET /ping`` and ``POST /invocations`` as plain ASGI; anything else is handed to ``app``."""

    def __init__(self, service: InferenceService, app: FastAPI) -> None:
        self.service = service
        self.app = app
        # Predictions run on the worker's model thread, off the event loop, so /ping answers while a long one
        # runs; requests that arrive meanwhile are answered together (adaptive batching).
        self.dispatcher = Dispatcher(service)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ROUTES:
            method, path = scope["method"], scope["path"]
            if (method, path) == ("POST", "/invocations"):
                return await send_reply(send, await self.invocations(scope, receive))
            if (method, path) == ("GET", "/ping"):
                return await send_reply(send, self.service.ping())
            return await send_reply(send, Reply(405, error_body(NOT_FOUND_MESSAGE)))
        await self.app(scope, receive, send)

    async def invocations(self, scope: dict[str, Any], receive: Receive) -> Reply:
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        rejected = self.service.reject_oversize(int(declared) if declared.isdigit() else None)
        if rejected:
            return rejected
        with self.dispatcher.arriving():
            body = await read_body(receive, self.service.max_payload_bytes)
        if body is None:
            return self.service.oversize()
        content_type, accept = headers.get(b"content-type"), headers.get(b"accept")
        return await self.dispatcher.answer(
            body, content_type.decode("latin-1") if content_type else None, accept.decode("latin-1") if accept else None
        )


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it grows over ``limit`` bytes (a body sent without Content-Length)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_reply(send: Send, reply: Reply) -> None:
    headers = [(b"content-type", reply.content_type.encode("latin-1")), (b"content-length", b"%d" % len(reply.body))]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def create_app(service: InferenceService | None = None) -> SageMakerRoutes:
    service = service or build_service()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = NOT_FOUND_MESSAGE if exc.status_code in (404, 405) else str(exc.detail)
        reply = Reply(exc.status_code, error_body(message))
        return Response(reply.body, status_code=reply.status, headers={"Content-Type": reply.content_type})

    return SageMakerRoutes(service, app)
