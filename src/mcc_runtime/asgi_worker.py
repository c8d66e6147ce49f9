"""The gunicorn worker class of FastAPI projects: uvicorn's worker, whose answers each leave in one write.

uvicorn writes a response's status line and headers, then its body, each with its own ``write`` on the socket
to nginx: two system calls an answer, about a fifth of a busy worker's event loop. Here the writes a connection
makes within one turn of the event loop are joined and sent once at the end of that turn, so an answer is one
write (and a pipelined connection's answers of the same turn one between them). Nothing waits for it: the turn
ends as soon as the code that wrote returns to the loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker


class WritesPerTurn:
    """A connection's transport whose writes within one turn of the event loop go out as one; closing sends what
    is pending first. Everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over :class:`WritesPerTurn`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = WritesPerTurn(transport, self.loop)  # type: ignore[assignment]


class Worker(UvicornWorker):
    """uvicorn's gunicorn worker on uvloop, its connections speaking :class:`OneWriteProtocol`."""

    CONFIG_KWARGS = {"loop": "uvloop", "http": OneWriteProtocol}
