"""Each gunicorn worker's own socket: slots, the nginx lines naming them, and the socket itself."""

import os
import socket
import stat
from types import SimpleNamespace

import pytest

from mcc_runtime import gunicorn_config, worker_sockets


def test_a_new_worker_takes_the_lowest_slot_no_live_worker_holds():
    master = SimpleNamespace(WORKERS={})
    for expected in (0, 1, 2):
        worker = SimpleNamespace()
        gunicorn_config.pre_fork(master, worker)
        assert worker.mcc_slot == expected
        master.WORKERS[100 + expected] = worker
    del master.WORKERS[101]  # slot 1's worker died: its replacement takes over its socket
    replacement = SimpleNamespace()
    gunicorn_config.pre_fork(master, replacement)
    assert replacement.mcc_slot == 1


def test_the_upstream_lists_one_socket_per_worker_skipped_for_a_second_when_it_refuses(tmp_path):
    lines = worker_sockets.upstream_servers(tmp_path, 3).split("\n")
    assert [line.strip() for line in lines] == [
        f"server unix:{tmp_path}/worker-{slot}.sock max_fails=0;" for slot in range(3)
    ]


def test_a_worker_listens_on_its_slot_once_loaded_replacing_a_dead_workers_socket(tmp_path, monkeypatch):
    stale = worker_sockets.socket_path(tmp_path, 1)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()  # what a killed worker leaves: the file, nobody listening
    monkeypatch.setenv(worker_sockets.DIRECTORY_VARIABLE, str(tmp_path))
    shared = object()
    worker = SimpleNamespace(mcc_slot=1, sockets=[shared], wait_fds=[shared, "pipe"])
    worker.log = SimpleNamespace(debug=lambda *a: None)
    gunicorn_config.post_worker_init(worker)
    assert worker.sockets[0] is shared and len(worker.sockets) == 2  # still on the shared socket too
    listener = worker.sockets[1]
    assert worker.wait_fds == [shared, "pipe", listener]  # what the sync worker selects on
    try:
        assert stat.S_IMODE(os.stat(stale).st_mode) == 0o666  # nginx's workers may be another user
        assert sorted(p.name for p in tmp_path.iterdir()) == ["worker-1.sock"]  # no draft left behind
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(stale))
            listener.setblocking(True)
            accepted, _ = listener.accept()
            accepted.close()
    finally:
        listener.close()


@pytest.mark.parametrize("missing", ["directory", "slot"])
def test_without_code_serve_s_directory_or_a_slot_a_worker_keeps_the_shared_socket_only(tmp_path, monkeypatch, missing):
    """gunicorn started some other way (no MCC_WORKER_SOCKETS), or a worker forked without pre_fork."""
    worker = SimpleNamespace(sockets=["shared"])
    if missing == "directory":
        monkeypatch.delenv(worker_sockets.DIRECTORY_VARIABLE, raising=False)
        worker.mcc_slot = 0
    else:
        monkeypatch.setenv(worker_sockets.DIRECTORY_VARIABLE, str(tmp_path))
    gunicorn_config.post_worker_init(worker)
    assert worker.sockets == ["shared"] and not list(tmp_path.iterdir())


def test_the_longest_path_a_worker_binds_is_its_last_slots_draft(tmp_path):
    longest = worker_sockets.longest_path(tmp_path, 12)
    assert longest == worker_sockets.draft_path(worker_sockets.socket_path(tmp_path, 11), 4_194_304)
    drafts = [worker_sockets.draft_path(worker_sockets.socket_path(tmp_path, s), os.getpid()) for s in range(12)]
    assert all(len(str(d)) <= len(str(longest)) for d in drafts)
