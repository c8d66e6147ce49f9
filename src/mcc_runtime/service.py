"""The web-framework-neutral core: readiness and one invocation, as (status, body, content type)."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import codecs, open_inference
from .errors import BadRequest, NotReady, PayloadTooLarge, RequestError, error_body
from .hooks import Hooks, load_hooks
from .settings import Settings

log = logging.getLogger("mcc_runtime")
MODEL_LOAD_FAILED = 3  # gunicorn's own exit code for a worker that cannot boot

NOT_READY = error_body("the model is not loaded")
INTERNAL_ERROR = error_body("internal server error; see the container logs")


@dataclass(frozen=True)
class Prepared:
    """A request read by input_fn: its rows, and the media type its answer is written in."""

    data: Any
    response_type: str


@dataclass(frozen=True)
class Parsed:
    """A request whose body the runtime's default input_fn has read but not yet conformed to the model's columns
    (so that a batch's requests are conformed together)."""

    table: Any
    response_type: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = codecs.JSON


class InferenceService:
    """Runs the hooks for a request and maps every failure to an HTTP status."""

    def __init__(
        self,
        hooks: Hooks,
        model_dir: Path,
        max_payload_bytes: int,
        worker_timeout_s: float,
        max_batch_size: int = 1,
        max_batch_wait_ms: int = 0,
    ) -> None:
        self.hooks = hooks
        self.model_dir = model_dir
        self.max_payload_bytes = max_payload_bytes
        self.worker_timeout_s = worker_timeout_s  # a prediction running longer than this has hung its worker
        self.max_batch_size = max_batch_size  # adaptive batching (mcc_runtime.batching); 1: off
        self.max_batch_wait_ms = max_batch_wait_ms
        self.model: Any = None
        self.ready = False
        self.batchable = False  # rows of several requests may share one predict_fn call

    def load(self) -> None:
        self.model = self.hooks.model_fn(str(self.model_dir))
        self.batchable = self.hooks.row_independent(self.model)
        self.ready = True
        log.info("model loaded from %s", self.model_dir)

    def ping(self) -> Reply:
        return Reply(200, b"") if self.ready else Reply(503, NOT_READY)

    def too_large(self, size: int | None) -> bool:
        return size is not None and size > self.max_payload_bytes

    def reject_oversize(self, declared_size: int | None) -> Reply | None:
        """A 413 reply when the declared Content-Length is over the limit (checked before reading)."""
        return self.oversize() if self.too_large(declared_size) else None

    def oversize(self) -> Reply:
        return Reply(413, error_body(self._oversize_message()))

    def _oversize_message(self) -> str:
        return f"request body exceeds the limit of {self.max_payload_bytes} bytes"

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        """One request from body to reply, every failure mapped to a status."""
        return self.guarded(self._invoke, body, content_type, accept)

    def guarded(self, stage: Callable[..., Reply], *args: Any) -> Reply:
        """``stage(*args)``, with every failure mapped to a status in this one place."""
        try:
            return stage(*args)
        except RequestError as exc:
            return Reply(exc.status, error_body(exc.message))
        except Exception as exc:
            status = getattr(exc, "status_code", None)  # AWS's toolkit errors (and any like them) carry theirs
            if isinstance(status, int) and 400 <= status < 600:
                log.warning("invocation answered %d: %s", status, exc)
                return Reply(status, error_body(str(getattr(exc, "message", None) or exc)))
            log.exception("invocation failed")
            return Reply(500, INTERNAL_ERROR)

    def _invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        if self.hooks.transform_fn is not None:
            return self._transform(body, content_type, accept)
        return self.answer(self.prepare(body, content_type, accept))

    def _transform(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        data, request_type, response_type = self._received(body, content_type, accept)
        try:
            output = self.hooks.transform_fn(self.model, data, request_type, response_type)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"cannot answer the request: {exc}") from None
        return self._reply(output, response_type)

    def _received(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes | str, str, str]:
        """The body as the hooks get it, its media type and the answer's (503 before the model loads, 413 over the
        limit, 406 for an Accept nothing can be written as)."""
        if not self.ready:
            raise NotReady("the model is not loaded")
        if self.too_large(len(body)):
            raise PayloadTooLarge(self._oversize_message())
        response_type = self.hooks.response_type(accept)
        request_type = codecs.media_type(content_type)
        if (
            response_type == codecs.JSON
            and self.hooks.speaks_protocols
            and open_inference.is_request(body, request_type)
        ):
            response_type = open_inference.ANSWER  # answered in the protocol the request spoke
        return self.hooks.request_body(body, request_type), request_type, response_type

    def prepare(self, body: bytes, content_type: str | None, accept: str | None) -> Prepared:
        """The request's rows, decoded by input_fn, and the type its answer is written in."""
        data, request_type, response_type = self._received(body, content_type, accept)
        with _reading():
            return Prepared(self.hooks.input_fn(data, request_type), response_type)

    @property
    def conforms_together(self) -> bool:
        """Whether input_fn is the runtime's default for tables, so :meth:`parse` + :meth:`conform` replace it."""
        tables = self.hooks.tables
        return tables is not None and tables.reads_tables

    def parse(self, body: bytes, content_type: str | None, accept: str | None) -> Parsed:
        """:meth:`prepare`'s first half, where input_fn is the default one: the body read, not yet conformed."""
        data, request_type, response_type = self._received(body, content_type, accept)
        with _reading():
            return Parsed(self.hooks.tables.parse(data, request_type), response_type)

    def conform(self, parsed: Parsed) -> Prepared:
        """:meth:`prepare`'s second half, for one request."""
        with _reading():
            return Prepared(self.hooks.tables.conform(parsed.table), parsed.response_type)

    def conform_together(self, parsed: list[Parsed]) -> tuple[Any, list[int]] | None:
        """The requests' rows conformed at once, and each one's row count; None where each must be conformed on
        its own (see :func:`mcc_runtime.tabular.conform_together`), which then answers any failure for itself."""
        try:
            return self.hooks.tables.conform_together([p.table for p in parsed])
        except Exception:  # e.g. rows of other widths for a model that records none: never fail the whole batch
            return None

    def answer(self, request: Prepared) -> Reply:
        """predict_fn and output_fn for one prepared request."""
        return self.finish(self.predict(request.data), request.response_type)

    def predict(self, data: Any) -> Any:
        try:
            return self.hooks.predict_fn(data, self.model)
        except ValueError as exc:
            raise BadRequest(f"the model rejected the input: {exc}") from None

    def finish(self, prediction: Any, response_type: str) -> Reply:
        """output_fn's answer as a reply."""
        return self._reply(self.hooks.output_fn(prediction, response_type), response_type)

    @staticmethod
    def _reply(output: Any, response_type: str) -> Reply:
        if isinstance(output, tuple):
            output, response_type = output
        if isinstance(output, str):
            output = output.encode()
        if isinstance(output, bytearray | memoryview):
            output = bytes(output)
        if not isinstance(output, bytes):
            raise TypeError(f"output_fn returned {type(output).__name__}; it must return bytes or str")
        return Reply(200, output, codecs.CONTENT_TYPES.get(response_type, response_type))


@contextlib.contextmanager
def _reading() -> Iterator[None]:
    """input_fn's failures to read a body, as a 400."""
    try:
        yield
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"cannot read the request: {exc}") from None


def build_service(settings: Settings | None = None) -> InferenceService:
    """Settings -> hooks -> loaded model: what each app factory calls."""
    settings = settings or Settings.load()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    hooks = load_hooks(settings)
    own = ", ".join(hooks.user_hooks) or "none"
    log.info("code/inference.py defines: %s (the runtime's defaults serve the rest)", own)
    service = InferenceService(
        hooks,
        settings.model_dir,
        settings.max_payload_bytes,
        settings.worker_timeout_s,
        settings.max_batch_size,
        settings.max_batch_wait_ms,
    )
    try:
        service.load()
    except Exception as exc:  # one clear line, then exit: SageMaker reports a failed container, not a hang
        print(f"[mcc_runtime] error: cannot load the model: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(MODEL_LOAD_FAILED) from exc
    # The model and the libraries are loaded for good: keep them out of the garbage collector's full passes,
    # which otherwise walk every object of a loaded model and add tens of ms to the slowest requests under load
    # (in the preloading master, before the fork, this also keeps the pages shared between workers).
    gc.freeze()
    return service
