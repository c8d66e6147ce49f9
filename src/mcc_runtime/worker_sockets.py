"""One unix socket per gunicorn worker, so nginx sends each request to the least busy worker that is ready.

gunicorn's workers share one listening socket: a worker takes connections whenever it is idle enough to accept,
whatever its model thread is doing, and the socket accepts connections (they wait in its backlog) while no
worker has loaded the model yet. With a socket of its own per worker, bound only once that worker has loaded its
model, nginx (``least_conn`` over the sockets) sends a request to a worker that is free rather than one whose
model call hangs, and while no worker is ready its connect fails at once, so ``/ping`` answers 503 in
microseconds rather than after nginx's 2 s read timeout.

gunicorn takes the two hooks from its config module (``-c python:mcc_runtime.gunicorn_config``): ``pre_fork``
runs in the master and gives the new worker the lowest free slot (a replaced worker takes over its
predecessor's socket); ``post_worker_init`` runs in the worker after the model loaded and adds that slot's
socket to the ones it serves (it keeps serving the shared socket too, which an older nginx.conf may still use).
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Any

DIRECTORY_VARIABLE = "MCC_WORKER_SOCKETS"  # set by code/serve for its gunicorn
SUBDIRECTORY = "workers"  # in code/serve's run directory
BACKLOG = 2048  # as gunicorn's own listener


def directory_in(run_dir: Path) -> Path:
    return run_dir / SUBDIRECTORY


def socket_path(directory: Path, slot: int) -> Path:
    return directory / f"worker-{slot}.sock"


def draft_path(path: Path, pid: int) -> Path:
    """Where a worker binds its socket before renaming it into place."""
    return path.with_name(f".{path.name}.{pid}")


def longest_path(directory: Path, workers: int) -> Path:
    """The longest path a worker binds (for the unix socket path limit): the last slot's draft, a 7-digit pid."""
    return draft_path(socket_path(directory, max(workers - 1, 0)), 4_194_304)


def upstream_servers(directory: Path, workers: int) -> str:
    """nginx ``server`` lines for the workers' sockets. A socket that refuses (a dead or loading worker's) costs one
    failed connect, then nginx tries the next; none is ever marked down (``max_fails=0``): with ``least_conn``,
    nginx answers 502 to every request while all servers are marked down, so one error on the last live worker
    while another was dead would fail everything for the whole ``fail_timeout``."""
    lines = [f"server unix:{socket_path(directory, slot)} max_fails=0;" for slot in range(workers)]
    return "\n        ".join(lines)


def free_slot(taken: set[int]) -> int:
    return min(set(range(len(taken) + 1)) - taken)


def pre_fork(server: Any, worker: Any) -> None:
    """In the master: the new worker's slot, the lowest one no live worker holds."""
    taken = {getattr(w, "mcc_slot", None) for w in server.WORKERS.values()}
    worker.mcc_slot = free_slot({slot for slot in taken if slot is not None})


def post_worker_init(worker: Any) -> None:
    """In the worker, its model loaded: listen on its slot's socket too."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    slot = getattr(worker, "mcc_slot", None)
    if not directory or slot is None:
        return
    listener = listen(socket_path(Path(directory), slot))
    worker.sockets.append(listener)
    if hasattr(worker, "wait_fds"):  # the sync worker selects on a list it made before this hook
        worker.wait_fds.append(listener)
    worker.log.debug("worker %d listens on slot %d", os.getpid(), slot)


def listen(path: Path) -> socket.socket:
    """A listening unix socket at ``path`` (replacing a dead worker's), connectable by nginx's workers.

    It is bound under another name and renamed once listening, so nginx never meets it half made."""
    draft = draft_path(path, os.getpid())
    with contextlib.suppress(FileNotFoundError):
        draft.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(draft))
    draft.chmod(0o666)  # nginx's workers may run as another user; the directory (0711) hides the names
    listener.listen(BACKLOG)
    listener.setblocking(False)
    draft.replace(path)
    return listener
