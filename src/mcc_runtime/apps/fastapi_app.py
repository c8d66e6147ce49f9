"""FastAPI adapter (served by uvicorn workers under gunicorn)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from ..errors import error_body
from ..service import InferenceService, Reply, build_service
from . import NOT_FOUND_MESSAGE
from .predictor import Predictor


def create_app(service: InferenceService | None = None) -> FastAPI:
    service = service or build_service()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # Predictions run off the event loop, so /ping answers while a long one runs.
    predictor = Predictor(service.worker_timeout_s)

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
        reply = await predictor.run(service.invoke, body, headers.get("content-type"), headers.get("accept"))
        return respond(reply)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = NOT_FOUND_MESSAGE if exc.status_code in (404, 405) else str(exc.detail)
        return respond(Reply(exc.status_code, error_body(message)))

    return app
