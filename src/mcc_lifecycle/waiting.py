"""Waiting for SageMaker: poll a resource until it is done, failed or past its time, and show the wait — on a
terminal a live line (status, elapsed time) redrawn every second; elsewhere (CI logs) a line per status change
and a reminder every minute."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

REMINDER_S = 60.0  # a non-terminal's "still ..." line


class DeployFailed(RuntimeError):
    """The endpoint or job ended in a failed state, or did not finish in time."""


def clock(seconds: float) -> str:
    """``42 s``, ``6 min 40 s``."""
    whole = int(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


class WaitDisplay:
    """What a wait shows on ``out``."""

    def __init__(self, what: str, out: TextIO) -> None:
        self.what, self.out = what, out
        self.live = bool(getattr(out, "isatty", lambda: False)())
        self.status: str | None = None
        self.reminded = 0.0

    def seen(self, status: str, elapsed: float) -> None:
        """A status read: a line of its own when it changed (``Creating -> InService``)."""
        if status != self.status:
            change = f"{self.status} -> {status}" if self.status else status
            self._line(f"{self.what}: {status} ({clock(elapsed)})" if not self.status else
                       f"{self.what}: {change} after {clock(elapsed)}")  # fmt: skip
            self.status, self.reminded = status, elapsed
        elif not self.live and elapsed - self.reminded >= REMINDER_S:
            self._line(f"{self.what}: still {status} ({clock(elapsed)})")
            self.reminded = elapsed

    def pause(self, seconds: float, start: float) -> None:
        """Sleep ``seconds``; on a terminal, redraw the elapsed time each second meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.live:
                self.out.write(f"\r\x1b[K  {self.status} · {clock(time.monotonic() - start)} (Ctrl-C stops waiting, "
                               "not the deployment)")  # fmt: skip
                self.out.flush()
            time.sleep(min(1.0, left))

    def _line(self, text: str) -> None:
        self.out.write(("\r\x1b[K" if self.live else "") + text + "\n")
        self.out.flush()


def wait_for_status(
    *,
    describe: Callable[[], dict[str, Any]],
    status_key: str,
    done: str,
    failed: tuple[str, ...],
    what: str,
    logs: str,
    limit_s: float,
    poll: float,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    """Poll ``describe`` until ``done``; raise DeployFailed with the reason and the log group otherwise."""
    start = time.monotonic()
    display = WaitDisplay(what, out)
    while True:
        state = describe()
        status = state[status_key]
        elapsed = time.monotonic() - start
        display.seen(status, elapsed)
        if status == done:
            return state
        if status in failed:
            raise DeployFailed(failure_message(what, status, state.get("FailureReason"), logs))
        if elapsed >= limit_s:
            raise DeployFailed(
                f"{what} is still {status} after {limit_s // 60:.0f} min (DEPLOY_TIMEOUT_MIN); "
                f"it may yet finish: watch it with do/logs (CloudWatch log group {logs})"
            )
        display.pause(poll, start)


def failure_message(what: str, status: str, reason: str | None, logs: str) -> str:
    return (
        f"{what} is {status}: {reason or 'no reason given'}\n"
        f"read the container's logs: do/logs (CloudWatch log group {logs})"
    )
