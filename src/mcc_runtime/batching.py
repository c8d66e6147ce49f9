"""Adaptive batching: requests that arrive while the model is busy are answered by one model call.

One thread per worker runs the model (not every framework's predict is thread-safe). Each time it is free it
takes every request already queued, up to ``max_batch_size``; while more requests are on their way (received,
body not yet read) it waits for them, at most ``max_wait_s``. An idle server never waits: a lone request is
predicted at once. The batch's rows go through ``predict_fn`` once and each request gets exactly its own rows'
answer, written in its own Accept type (and, for a model of named inputs, in its own protocol). Rows join where
every part has the same columns and dtypes, or for named inputs the same names and, per input, the same dtype and
shape beyond the batch dimension. When they cannot be joined (other columns, texts of other lengths, a custom
input_fn's objects), or the joined call fails, each request is predicted on its own, so a bad request never fails
the others.

A watchdog replaces the worker when one model call runs longer than the worker timeout: in a threaded or async
worker gunicorn's own heartbeat keeps beating while the model thread hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .service import INTERNAL_ERROR, InferenceService, Parsed, Prepared, Reply
from .tensors import ROWS, NamedInputs, NamedOutputs

log = logging.getLogger("mcc_runtime")
STUCK_EXIT_CODE = 70  # EX_SOFTWARE


def exit_worker() -> None:
    """Leave at once: the stuck thread cannot be stopped, so a graceful exit would wait for it forever."""
    logging.shutdown()
    os._exit(STUCK_EXIT_CODE)


class LoopAnswer:
    """A request's answer for a caller on an asyncio event loop: the model thread hands the reply to the loop
    itself (one ``call_soon_threadsafe``), not through a thread-safe future that the loop then wraps and copies:
    a sixth to a third less of the round trip between the two threads (``bench/model_thread``), which is most of
    a fast model's request."""

    __slots__ = ("_loop", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.waiter: asyncio.Future[Reply] = loop.create_future()

    def set_result(self, reply: Reply) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the worker is shutting down
            self._loop.call_soon_threadsafe(self._settle, reply)

    def done(self) -> bool:
        return self.waiter.done()

    def _settle(self, reply: Reply) -> None:
        if not self.waiter.done():  # a cancelled waiter: the client went away
            self.waiter.set_result(reply)


@dataclass
class Request:
    body: bytes
    content_type: str | None
    accept: str | None
    answer: Future[Reply] | LoopAnswer = field(default_factory=Future)


def row_count(data: Any) -> int | None:
    """Rows in a decoded request that can be joined with others: a 2-D+ array, a DataFrame, or named inputs
    (one array per input, all of the same length), else None."""
    if isinstance(data, np.ndarray):
        return data.shape[0] if data.ndim >= 2 else None
    if isinstance(data, NamedInputs):
        sizes = {len(a) if isinstance(a, np.ndarray) and a.ndim >= 1 else None for a in data.values()}
        return sizes.pop() if len(sizes) == 1 and None not in sizes else None
    if type(data).__name__ == "DataFrame" and hasattr(data, "dtypes"):
        return len(data)
    return None


def join(parts: Sequence[Any]) -> Any | None:
    """The parts' rows as one array, DataFrame or set of named inputs, or None when they do not join without
    changing a value's type or shape."""
    first = parts[0]
    if isinstance(first, np.ndarray):
        return _joined_arrays(parts)
    if isinstance(first, NamedInputs):
        if not all(isinstance(p, NamedInputs) and list(p) == list(first) for p in parts):
            return None
        arrays = {name: _joined_arrays([p[name] for p in parts]) for name in first}
        return None if any(a is None for a in arrays.values()) else NamedInputs(arrays)
    import pandas as pd

    columns, dtypes = list(first.columns), _dtypes(first)
    if not all(list(p.columns) == columns and _dtypes(p) == dtypes for p in parts):
        return None
    joined = pd.concat(parts, ignore_index=True)
    return joined if _dtypes(joined) == dtypes else None


def _joined_arrays(parts: Sequence[Any]) -> np.ndarray | None:
    first = parts[0]
    same = all(isinstance(p, np.ndarray) and p.dtype == first.dtype and p.shape[1:] == first.shape[1:] for p in parts)
    return np.concatenate(parts) if same else None


def _dtypes(frame: Any) -> list[tuple[str, tuple[Any, ...] | None]]:
    """Each column's dtype, with a categorical's categories in order (pandas calls two orders equal; codes differ)."""
    return [(str(t), tuple(t.categories) if hasattr(t, "categories") else None) for t in frame.dtypes]


def split(prediction: Any, sizes: Sequence[int]) -> list[Any] | None:
    """One slice of the prediction per request, or None when it is not one entry per row (named outputs stay
    named outputs)."""
    total = sum(sizes)
    if isinstance(prediction, dict):
        columns = {name: split(values, sizes) for name, values in prediction.items()}
        if not columns or any(parts is None for parts in columns.values()):
            return None
        slices = [{name: parts[i] for name, parts in columns.items()} for i in range(len(sizes))]
        return [NamedOutputs(s) for s in slices] if isinstance(prediction, NamedOutputs) else slices
    if not isinstance(prediction, np.ndarray) or prediction.ndim == 0 or prediction.shape[0] != total:
        return None
    bounds = np.cumsum(sizes)[:-1]
    return np.split(prediction, bounds)


def in_protocol_of(part: Any, data: Any) -> Any:
    """A request's slice of the named outputs, to be answered in the protocol that request spoke."""
    if isinstance(part, NamedOutputs) and isinstance(data, Mapping):
        return NamedOutputs(part, getattr(data, "protocol", ROWS))
    return part


class Dispatcher:
    """Queues requests for the worker's model thread; answers come back as futures."""

    def __init__(
        self,
        service: InferenceService,
        max_batch_size: int | None = None,
        max_wait_s: float | None = None,
        on_stuck: Callable[[], None] = exit_worker,
    ) -> None:
        """Batch sizes and wait: the service's settings unless given."""
        self.service = service
        size = service.max_batch_size if max_batch_size is None else max_batch_size
        wait = service.max_batch_wait_ms / 1000 if max_wait_s is None else max_wait_s
        self.max_batch_size = max(1, size)
        self.max_wait_s = max(0.0, wait)
        self.on_stuck = on_stuck
        self._lock = threading.Lock()
        self._pid: int | None = None  # threads do not survive fork: start them in the process that serves
        self._queue: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._arriving = 0
        self._running_since: float | None = None
        self._arrivals = threading.Lock()  # threaded workers count arrivals from several threads
        self.joined_calls = 0  # model calls that answered several requests at once
        self.joined_requests = 0

    @property
    def batching(self) -> bool:
        return self.max_batch_size > 1 and self.service.batchable

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """A context for a request from the moment it is received until it is queued (see the module doc)."""
        with self._arrivals:
            self._arriving += 1
        try:
            yield
        finally:
            with self._arrivals:
                self._arriving -= 1

    def submit(self, body: bytes, content_type: str | None, accept: str | None) -> Future[Reply]:
        """Queue a request; its reply comes in the future (for a caller on a thread)."""
        request = Request(body, content_type, accept)
        self._put(request)
        return request.answer

    async def answer(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        """Queue a request and wait for its reply (for a caller on the running event loop)."""
        answer = LoopAnswer(asyncio.get_running_loop())
        self._put(Request(body, content_type, accept, answer))
        return await answer.waiter

    def _put(self, request: Request) -> None:
        self._start()
        self._queue.put(request)

    def _start(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()
            self._pid = os.getpid()
            threading.Thread(target=self._serve, name="mcc-model", daemon=True).start()
            threading.Thread(target=self._watch, name="mcc-watchdog", daemon=True).start()

    def _serve(self) -> None:
        while True:
            batch = self._gather()
            self._running_since = time.monotonic()
            try:
                self.run(batch)
            except BaseException:  # never leave a caller waiting
                log.exception("the model thread failed")
                for request in batch:
                    if not request.answer.done():
                        request.answer.set_result(Reply(500, INTERNAL_ERROR))
            finally:
                self._running_since = None

    def _gather(self) -> list[Request]:
        batch = [self._queue.get()]
        if not self.batching:
            return batch
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if self._arriving <= 0 or left <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def run(self, batch: list[Request]) -> None:
        """Answer every request of the batch (on the calling thread)."""
        service = self.service
        if len(batch) == 1 or not self.batching:
            for request in batch:
                request.answer.set_result(service.invoke(request.body, request.content_type, request.accept))
            return
        if service.conforms_together:
            return self._conform_and_predict_together(batch)
        ready = self._kept(((r, r) for r in batch), lambda r: service.prepare(r.body, r.content_type, r.accept))
        if ready:
            self._predict_together(ready)

    def _kept(self, pairs: Iterable[tuple[Request, Any]], stage: Callable[[Any], Any]) -> list[tuple[Request, Any]]:
        """``stage(value)`` for each (request, value): a request whose stage fails gets that reply; the others come
        back with the stage's result."""
        kept = []
        for request, value in pairs:
            result = self.service.guarded(stage, value)
            if isinstance(result, Reply):
                request.answer.set_result(result)
            else:
                kept.append((request, result))
        return kept

    def _conform_and_predict_together(self, batch: list[Request]) -> None:
        """The default input_fn's path: each body read on its own, the rows of all conformed to the model's columns
        at once (one conversion per column, no DataFrame per request to concatenate), one model call; where they
        cannot be conformed together, each request is conformed alone and joined as any other."""
        service = self.service
        parsed: list[tuple[Request, Parsed]] = self._kept(
            ((r, r) for r in batch), lambda r: service.parse(r.body, r.content_type, r.accept)
        )
        together = service.conform_together([p for _, p in parsed]) if len(parsed) > 1 else None
        if together is not None and self._predict_joined([(r, p.response_type, None) for r, p in parsed], *together):
            return
        ready: list[tuple[Request, Prepared]] = self._kept(parsed, service.conform)
        if ready:
            self._predict_together(ready, conformed=together is not None)

    def _predict_together(self, ready: list[tuple[Request, Prepared]], conformed: bool = False) -> None:
        """One model call for the requests' joined rows where they join; else (or ``conformed``: the joined rows
        were already refused by the model) each request on its own."""
        service = self.service
        sizes = [row_count(prepared.data) for _, prepared in ready]
        joined = None
        if len(ready) > 1 and None not in sizes and not conformed:
            joined = join([prepared.data for _, prepared in ready])
        answers = [(request, prepared.response_type, prepared.data) for request, prepared in ready]
        if joined is not None and self._predict_joined(answers, joined, sizes):
            return
        for request, prepared in ready:
            request.answer.set_result(service.guarded(service.answer, prepared))

    def _predict_joined(self, requests: Sequence[tuple[Request, str, Any]], joined: Any, sizes: list[int]) -> bool:
        """Answer every request (with its answer's media type, and its decoded data for named outputs' protocol)
        from one model call on their ``joined`` rows, ``sizes`` rows each; False, with nothing answered, when the
        call fails or its answer is not one entry per row."""
        try:
            parts = split(self.service.predict(joined), sizes)
        except Exception:  # one bad request (or a model that refuses the batch): the caller answers each alone
            return False
        if parts is None:
            return False
        self.joined_calls += 1
        self.joined_requests += len(requests)
        log.debug("one model call answered %d requests (%d rows)", len(requests), sum(sizes))
        for (request, response_type, data), part in zip(requests, parts, strict=True):
            answer = in_protocol_of(part, data)
            request.answer.set_result(self.service.guarded(self.service.finish, answer, response_type))
        return True

    def _watch(self) -> None:
        period = min(1.0, self.service.worker_timeout_s / 4)
        while True:
            time.sleep(period)
            started = self._running_since
            if started is not None and time.monotonic() - started > self.service.worker_timeout_s:
                log.error(
                    "a prediction has run over %g s; replacing this worker (pid %d)",
                    self.service.worker_timeout_s,
                    os.getpid(),
                )
                self.on_stuck()
                return
