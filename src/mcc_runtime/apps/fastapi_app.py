"""FastAPI adapter (served by uvicorn workers under gunicorn)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from ..errors import error_body
from ..service import InferenceService, Reply, build_service
from . import NOT_FOUND_MESSAGE


def create_app(service: InferenceService | None = None) -> FastAPI:
    service = service or build_service()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # Predictions run off the event loop, so /ping answers while a long one runs, and one at a time per worker,
    # as in the Flask workers: not every framework's predict is thread-safe. The thread starts on first use,
    # after gunicorn has forked the worker.
    predictor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcc-predict")

    def respond(reply: Reply) -> Response:
        return Response(reply.body, status_code=reply.status, headers={"Content-Type": reply.content_type})

    @app.get("/ping")
    async def ping() -> Response:
        return respond(service.ping())

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        headers = request.headers
        declared = headers.get("content-length", "")
        rejected = service.reject_oversize(int(declared) if declared.isdigit() else None)
        if rejected:
            return respond(rejected)
        body = await request.body()
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(
            predictor, service.invoke, body, headers.get("content-type"), headers.get("accept")
        )
        return respond(reply)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = NOT_FOUND_MESSAGE if exc.status_code in (404, 405) else str(exc.detail)
        return respond(Reply(exc.status_code, error_body(message)))

    return app
