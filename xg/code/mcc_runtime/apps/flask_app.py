"""Flask adapter (served by gunicorn sync workers)."""

from __future__ import annotations

# Werkzeug encodes host names with the idna codec on each request: import it before the workers fork
# and drop privileges, so no worker has to read the standard library lazily.
import encodings.idna  # noqa: F401

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..batching import Dispatcher
from ..errors import error_body
from ..service import InferenceService, Reply, build_service
from . import NOT_FOUND_MESSAGE


def create_app(service: InferenceService | None = None) -> Flask:
    service = service or build_service()
    app = Flask("mcc_runtime")
    # Batching: gunicorn runs threaded workers (Settings.app_threads); each request thread hands its body to the
    # worker's model thread and waits. Without batching a sync worker predicts on its own thread.
    dispatcher = Dispatcher(service)

    def respond(reply: Reply) -> Response:
        return Response(reply.body, status=reply.status, content_type=reply.content_type)

    @app.get("/ping")
    def ping() -> Response:
        return respond(service.ping())

    @app.post("/invocations")
    def invocations() -> Response:
        rejected = service.reject_oversize(request.content_length)
        if rejected:
            return respond(rejected)
        accept = request.headers.get("Accept")
        if dispatcher.max_batch_size == 1:
            return respond(service.invoke(request.get_data(cache=False), request.content_type, accept))
        with dispatcher.arriving():
            body = request.get_data(cache=False)
        return respond(dispatcher.submit(body, request.content_type, accept).result())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        message = NOT_FOUND_MESSAGE if exc.code in (404, 405) else (exc.description or exc.name)
        return respond(Reply(exc.code or 500, error_body(message)))

    return app
