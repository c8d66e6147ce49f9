"""One prediction at a time on a thread beside an event loop, with a watchdog for a prediction that hangs.

An async worker (uvicorn) keeps answering /ping while its predictor thread works, which also means gunicorn's
heartbeat no longer notices a stuck prediction. The watchdog takes that job: a prediction still running after
the worker timeout ends the worker process, and gunicorn starts a fresh one, as it does for a stuck sync worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("mcc_runtime")
STUCK_EXIT_CODE = 70  # EX_SOFTWARE


def exit_worker() -> None:
    """Leave at once: the stuck thread cannot be stopped, so a graceful exit would wait for it forever."""
    logging.shutdown()
    os._exit(STUCK_EXIT_CODE)


class Predictor:
    """Runs calls one at a time off the event loop (not every framework's predict is thread-safe)."""

    def __init__(self, timeout_s: float, on_stuck: Callable[[], None] = exit_worker) -> None:
        self.timeout_s = timeout_s
        self.on_stuck = on_stuck
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcc-predict")
        self._running_since: float | None = None
        self._watched_loop: asyncio.AbstractEventLoop | None = None
        self._period = min(1.0, timeout_s / 4)

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._watched_loop is not loop:  # the watchdog is a timer on the worker's own loop: no extra thread
            self._watched_loop = loop
            loop.call_later(self._period, self._check, loop)
        return await loop.run_in_executor(self._executor, self._timed, function, *args)

    def _timed(self, function: Callable[..., Any], *args: Any) -> Any:
        self._running_since = time.monotonic()
        try:
            return function(*args)
        finally:
            self._running_since = None

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        started = self._running_since
        if started is not None and time.monotonic() - started > self.timeout_s:
            log.error("a prediction has run over %g s; replacing this worker (pid %d)", self.timeout_s, os.getpid())
            self.on_stuck()
            return
        loop.call_later(self._period, self._check, loop)
