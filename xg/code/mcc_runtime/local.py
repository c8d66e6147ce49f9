"""Run a project's ``code/serve`` on this machine, as the container would (for tests and benchmarks).

Standard library only::

    with LocalServer(project_dir, python="/path/to/venv/bin/python") as server:
        urllib.request.urlopen(server.url + "/ping")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from .smoke import wait_until_ready


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_pids(pid: int) -> set[int]:
    """All descendants of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class LocalServer:
    """Start ``code/serve`` of a project on a free port; stop it with SIGTERM."""

    def __init__(
        self,
        project_dir: Path,
        python: str = sys.executable,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 90.0,
        log: IO | None = None,
    ) -> None:
        self.project_dir = Path(project_dir).resolve()  # code/serve runs from elsewhere
        self.python = python
        self.port = port or free_port()
        self.extra_env = dict(env or {})
        self.ready_timeout = ready_timeout
        self.log = log  # where the server's output goes (default: inherited)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalServer:
        env = dict(os.environ)
        env.setdefault("MCC_MODEL_DIR", str(self.project_dir / "model"))
        env.update(self.extra_env)
        env["SAGEMAKER_BIND_TO_PORT"] = str(self.port)
        command = [self.python, str(self.project_dir / "code" / "serve")]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        try:
            wait_until_ready(self.url, self.ready_timeout, alive=lambda: self.process.poll() is None)
        except (TimeoutError, RuntimeError):
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, wait; returns the exit code (SIGKILL and raise if it does not stop in time)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in child_pids(self.process.pid) | {self.process.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait()
            raise

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def wait_closed(port: int, seconds: float = 10.0) -> bool:
        """True once nothing accepts connections on ``port``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    return True
            time.sleep(0.1)
        return False
