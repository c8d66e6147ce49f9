"""The container entrypoint: nginx on the SageMaker port in front of gunicorn on a unix socket.

SageMaker starts the image as ``<entrypoint> serve``; ``do/run --local`` runs the same program on the
host. Both processes are supervised: SIGTERM/SIGINT stop them gracefully, and if either exits on its
own the other is stopped and the entrypoint exits non-zero so the container is replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from . import access, nginx, worker_sockets
from .settings import Settings, SettingsError

GRACE_SECONDS = 25  # SageMaker sends SIGKILL 30 s after SIGTERM
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
MAX_SOCKET_PATH = 107  # bytes in sockaddr_un.sun_path, less the terminating NUL
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def log(message: str) -> None:
    print(f"[serve] {message}", file=sys.stderr, flush=True)


def gunicorn_command(settings: Settings, socket_path: Path) -> list[str]:
    options = {
        "--bind": f"unix:{socket_path}",
        "--workers": str(settings.workers),
        "--worker-class": settings.worker_class,
        # nginx answers 504 at timeout_s; gunicorn replaces the stuck worker a little later.
        "--timeout": str(settings.worker_timeout_s),
        "--graceful-timeout": str(GRACE_SECONDS - 5),
        "--keep-alive": "75",  # longer than nginx's upstream keepalive_timeout
        "--chdir": str(settings.code_dir),
        "--log-level": settings.log_level,
        "--error-logfile": "-",
    }
    command = [sys.executable, "-m", "gunicorn", *itertools.chain(*options.items()), "--no-control-socket"]
    command += ["--config", "python:mcc_runtime.gunicorn_config"]  # each worker's own socket (worker_sockets)
    if settings.access_log:
        command += ["--access-logfile", "-"]
    if settings.preload:
        command.append("--preload")
    if settings.app_threads > 1:
        command += ["--threads", str(settings.app_threads)]
    if Path("/dev/shm").is_dir():
        command += ["--worker-tmp-dir", "/dev/shm"]
    drop = nginx.privilege_drop(settings)
    if drop:
        command += ["--user", drop[0], "--group", drop[1]]
    command.append(settings.app)
    return command


def child_environment(
    settings: Settings, environ: Mapping[str, str], sockets_dir: Path | None = None
) -> dict[str, str]:
    """One BLAS/OpenMP thread per worker unless the user chose otherwise; the code dir importable; where the
    workers put their sockets."""
    env = dict(environ)
    if sockets_dir is not None:
        env[worker_sockets.DIRECTORY_VARIABLE] = str(sockets_dir)
    for name in THREAD_VARIABLES:
        env.setdefault(name, "1")
    paths = [str(settings.code_dir), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


class Supervisor:
    """Starts the children, forwards stop signals, reaps every child (it may run as PID 1).

    Each child leads its own process group and dies with this process: stopping a group also stops
    the workers it forked, even when their master died first, and nothing outlives the entrypoint.
    """

    def __init__(self) -> None:
        self.children: dict[int, tuple[str, signal.Signals]] = {}  # pid (= process group) -> name, stop signal
        self.groups: list[int] = []
        self.stopping = False
        self.failed = False

    def start(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        stop_signal: signal.Signals,
        user: tuple[str, str] | None = None,
    ) -> None:
        as_user = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
        process = subprocess.Popen(
            command, env=dict(env), start_new_session=True, preexec_fn=_die_with_parent, **as_user
        )
        self.children[process.pid] = (name, stop_signal)
        self.groups.append(process.pid)
        log(f"started {name} (pid {process.pid})")

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        for pid, (name, stop_signal) in list(self.children.items()):
            log(f"stopping {name}")
            _signal_group(pid, stop_signal)
        timer = threading.Timer(GRACE_SECONDS, self.kill)
        timer.daemon = True
        timer.start()

    def kill(self) -> None:
        for name, _ in list(self.children.values()):
            log(f"{name} did not stop in {GRACE_SECONDS} s; killing it")
        for group in self.groups:
            _signal_group(group, signal.SIGKILL)

    def wait(self) -> int:
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in self.children:
                continue  # an orphan re-parented to us
            name = self.children.pop(pid)[0]
            code = os.waitstatus_to_exitcode(status)
            if not self.stopping:
                log(f"{name} exited unexpectedly (code {code}); shutting down")
                self.failed = True
                self.stop()
        for group in self.groups:  # workers orphaned by a master that died
            _signal_group(group, signal.SIGKILL)
        return 1 if self.failed else 0


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the entrypoint dies, even by SIGKILL (Linux only)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["serve"]):
        print(f"usage: serve [serve]   (this image only serves; got {' '.join(args)!r})", file=sys.stderr)
        return 2
    try:
        settings = Settings.load()
        drop = nginx.privilege_drop(settings)
        access.require_readable(settings.model_dir, drop[0] if drop else None)
        nginx_bin = nginx.find_nginx()
        template = (settings.project_dir / "nginx.conf").read_text()
        # A fresh directory (inside MCC_RUN_DIR when set) for the socket, nginx.conf and nginx's temp files.
        run_dir = Path(tempfile.mkdtemp(prefix="mcc-serve-", dir=os.environ.get("MCC_RUN_DIR") or None))
    except (SettingsError, ValueError, OSError) as exc:
        log(f"error: {exc}")
        return 2
    socket_path = run_dir / "model-server.sock"
    conf_path = run_dir / "nginx.conf"
    try:
        longest = worker_sockets.longest_path(worker_sockets.directory_in(run_dir), settings.workers)
        for path in (socket_path, longest):
            if len(os.fsencode(path)) > MAX_SOCKET_PATH:
                raise ValueError(f"{path} is too long for a unix socket; set MCC_RUN_DIR to a shorter directory")
        conf_path.write_text(nginx.render(template, nginx.values(settings, run_dir, socket_path)))
        run_dir.chmod(0o711)  # unprivileged nginx workers must reach the socket
        sockets_dir = worker_sockets.directory_in(run_dir)
        sockets_dir.mkdir(mode=0o711)
        if drop:
            shutil.chown(sockets_dir, drop[0], drop[1])  # the workers make their sockets there
    except (ValueError, OSError) as exc:
        log(f"error: {exc}")
        shutil.rmtree(run_dir, ignore_errors=True)
        return 2

    problem = port_problem(settings.bind_host, settings.port)
    if problem:
        log(f"error: {problem}")
        shutil.rmtree(run_dir, ignore_errors=True)
        return 2
    log(f"port {settings.port}, {settings.workers} worker(s), model dir {settings.model_dir}")
    env = child_environment(settings, os.environ, sockets_dir)
    server = ("model server", gunicorn_command(settings, socket_path), None)
    return serve_behind_nginx(server, nginx_bin, conf_path, run_dir, env, ready_url(settings.bind_host, settings.port))


def port_problem(host: str, port: int) -> str | None:
    """Why nginx could not listen on ``host:port`` (every interface when ``host`` is empty), in one line."""
    where = f"{host}:{port}" if host else f"port {port}"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"{where} is already in use (another server?): stop it, or choose another port with "
                        "LOCAL_PORT (do/run --local, do/run) or SAGEMAKER_BIND_TO_PORT (code/serve)")  # fmt: skip
            return f"cannot listen on {where}: {exc.strerror or exc}"
    return None


def ready_url(host: str, port: int) -> str:
    """Where a client on this machine reaches the server."""
    shown = host if host and host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def announce_ready(url: str, stopping: threading.Event, every_s: float = 0.25) -> None:
    """One "ready at URL" line once /ping answers 200 (every worker has loaded the model), until ``stopping``."""
    while not stopping.is_set():
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    log(f"ready at {url}  (POST {url}/invocations; Ctrl-C stops)")
                    return
        except (OSError, ValueError):
            pass  # not listening yet, or 503 while the model loads
        stopping.wait(every_s)


def serve_behind_nginx(
    server: tuple[str, list[str], tuple[str, str] | None],
    nginx_bin: str,
    conf_path: Path,
    run_dir: Path,
    env: Mapping[str, str],
    url: str | None = None,
) -> int:
    """Run the server (name, command, user to run as) and nginx until either exits or a stop signal comes,
    saying when ``url`` is ready; ``run_dir`` is removed at the end."""
    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    name, command, user = server
    try:
        supervisor.start(name, command, env, signal.SIGTERM, user=user)
        supervisor.start(
            "nginx", [nginx_bin, "-c", str(conf_path), "-p", str(run_dir), "-e", "stderr"], env, signal.SIGQUIT
        )
    except OSError as exc:
        log(f"error: cannot start: {exc}")
        supervisor.failed = True
        supervisor.stop()
    stopping = threading.Event()
    if url and not supervisor.failed:
        threading.Thread(target=announce_ready, args=(url, stopping), daemon=True).start()
    try:
        return supervisor.wait()
    finally:
        stopping.set()
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
