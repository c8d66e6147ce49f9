"""Client errors that the web apps turn into 4xx JSON answers."""

from __future__ import annotations

import orjson

MAX_MESSAGE_CHARS = 500


class RequestError(Exception):
    """An error caused by the request; answered with ``status`` and ``{"error": message}``."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RequestError):
    status = 400


class NotAcceptable(RequestError):
    status = 406


class PayloadTooLarge(RequestError):
    status = 413


class UnsupportedMediaType(RequestError):
    status = 415


class NotReady(RequestError):
    """The model has not loaded yet (not the request's fault, but answered the same way)."""

    status = 503


def error_body(message: str) -> bytes:
    """The JSON body of an error answer (message truncated so echoed input stays small)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    return orjson.dumps({"error": message})
