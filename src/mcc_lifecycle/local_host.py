"""``do/run --sagemaker``: do to the image what SageMaker does to it, here, and say why it would fail.

SageMaker's hosting runs the image as ``docker run IMAGE serve`` on the instance type's CPUs and memory, with
the model unpacked from ``model.tar.gz`` into a read-only ``/opt/ml/model``; it polls ``GET /ping`` (2 s per
request) until the start-up budget runs out, and gives each invocation 60 s and a payload limit per deploy
mode. A container that fails any of that is reported in the console as "did not pass the ping health check"
after a 10-30 minute deployment; this module answers the same question in seconds, with the evidence.

Standard library only (``do/run`` needs no AWS tools); docker is called with argument lists, never a shell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .container import CONTAINER_PORT, container_environment, docker_run, neuron_devices
from .model_data import ARCHIVE_NAME, pack
from .settings import Settings, SettingsError

PING_TIMEOUT_S = 2.0  # SageMaker's per-request limit for /ping
INVOCATION_TIMEOUT_S = 60.0
DEFAULT_STARTUP_S = 240  # the health check's default budget for real-time endpoints (about 4 minutes)
PAYLOAD_LIMIT_MB = {"realtime": 6, "serverless": 4, "async": 1024}
RESPONSE_LIMIT_MB = 6  # real-time and serverless answers
SERVERLESS_IMAGE_LIMIT_GB = 10
SAMPLE_TYPES = {".csv": "text/csv", ".json": "application/json", ".jsonl": "application/jsonlines"}
LOG_LINES = 20
LISTEN_STATE = "0A"  # /proc/net/tcp: a listening socket
INSTANCE_TABLE = Path(__file__).resolve().parent.parent / "instance-types.json"


@dataclass
class Verdict:
    ok: bool
    summary: str
    evidence: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [("PASS: " if self.ok else "FAIL: ") + self.summary, *(f"  {line}" for line in self.evidence)]
        return "\n".join(lines)


def image_problem(architecture: str, os_name: str, size_bytes: int, deploy_mode: str, target: str) -> str | None:
    """What SageMaker refuses before starting the image on an endpoint that runs ``target`` images."""
    if f"{os_name}/{architecture}" != target:
        return f"the image is {os_name}/{architecture}; the endpoint runs {target} images (rebuild with do/build)"
    if deploy_mode == "serverless" and size_bytes > SERVERLESS_IMAGE_LIMIT_GB * 1e9:
        limit = SERVERLESS_IMAGE_LIMIT_GB
        return f"the image is {size_bytes / 1e9:.1f} GB; serverless endpoints take images up to {limit} GB"
    return None


def timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)


def payload_limit_mb(settings: Settings) -> float:
    if settings.deploy_mode == "batch":
        return settings.batch_max_payload_mb
    return PAYLOAD_LIMIT_MB.get(settings.deploy_mode, PAYLOAD_LIMIT_MB["realtime"])


def resource_limits(settings: Settings, table: dict) -> list[str]:
    """``--cpus``/``--memory`` of the instance type (serverless: its configured memory)."""
    if settings.deploy_mode == "serverless":
        memory = f"{settings.serverless_memory_mb}m"
        return ["--memory", memory, "--memory-swap", memory]
    instance = table.get(settings.instance_type)
    if instance is None:
        raise SettingsError(f"INSTANCE_TYPE={settings.instance_type} is not in {INSTANCE_TABLE.name}")
    memory = f"{int(instance['memory_gib'] * 1024)}m"  # no swap: SageMaker's instances have none
    return ["--cpus", str(instance["vcpus"]), "--memory", memory, "--memory-swap", memory]


def sagemaker_environment(settings: Settings) -> dict[str, str]:
    """What SageMaker adds to the container's environment for the deploy mode, and the project's own."""
    environment = container_environment(settings)
    if settings.deploy_mode == "batch":
        environment.setdefault("SAGEMAKER_BATCH", "true")
        environment.setdefault("SAGEMAKER_MAX_PAYLOAD_IN_MB", str(settings.batch_max_payload_mb))
    return environment


class LocalHost:
    """One trial: unpack the model, start the container with the instance's limits, ping, invoke, clean up."""

    def __init__(self, settings: Settings, root: Path, image: str, docker: str, port: int, startup_s: float,
                 invocation_timeout_s: float = INVOCATION_TIMEOUT_S) -> None:  # fmt: skip
        self.settings, self.root, self.image, self.docker = settings, root, image, docker
        self.port, self.startup_s, self.invocation_timeout_s = port, startup_s, invocation_timeout_s
        table = json.loads(INSTANCE_TABLE.read_text()) if INSTANCE_TABLE.exists() else {}
        self.limits = resource_limits(settings, table)
        self.container = ""

    def run(self) -> Verdict:
        inspected = self._docker("image", "inspect", "--format", "{{.Architecture}} {{.Os}} {{.Size}}", self.image)
        if inspected.returncode != 0:
            return Verdict(False, f"no image {self.image}: build it first with do/build", [inspected.stderr.strip()])
        architecture, os_name, size = inspected.stdout.split()
        settings = self.settings
        problem = image_problem(architecture, os_name, int(size), settings.deploy_mode, settings.target_platform)
        if problem:
            return Verdict(False, problem)
        try:
            devices = neuron_devices(settings)
        except SettingsError as exc:
            return Verdict(False, str(exc))
        with tempfile.TemporaryDirectory(prefix="mcc-local-host-") as scratch:
            model_dir = self._unpack_model(Path(scratch))
            arguments = docker_run(
                self.settings, self.image, self.port, model_dir, sagemaker_environment(self.settings),
                options=("--detach", *self.limits), devices=devices,
            )  # fmt: skip
            started = self._docker(*arguments)
            if started.returncode != 0:
                return Verdict(False, "docker could not start the container", [started.stderr.strip()])
            self.container = started.stdout.strip()
            try:
                return self._health_check() or self._invoke()
            finally:
                self._docker("rm", "--force", self.container)

    def _unpack_model(self, scratch: Path) -> Path | None:
        """model/ packed into model.tar.gz and unpacked again, as SageMaker does with ModelDataUrl."""
        source = self.root / "model"
        if not source.is_dir():
            return None
        archive = pack(source, scratch / ARCHIVE_NAME)
        target = scratch / "model"
        target.mkdir()
        with tarfile.open(archive) as packed:
            packed.extractall(target, filter="data")
        for path in [target, *target.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the container's unprivileged workers
        return target

    def _health_check(self) -> Verdict | None:
        """None once /ping answered 200 within 2 s; else the failure with its evidence."""
        deadline = time.monotonic() + self.startup_s
        last, slow = "no answer", False
        while time.monotonic() < deadline:
            state = self._state()
            if state.get("Status") == "exited":
                return self._exited(state)
            try:
                with urllib.request.urlopen(self._url("/ping"), timeout=PING_TIMEOUT_S):
                    return None
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:200].decode(errors='replace')}"
            except (urllib.error.URLError, OSError) as exc:
                slow = timed_out(exc)
                last = f"no answer within {PING_TIMEOUT_S:g} s" if slow else str(getattr(exc, "reason", exc))
            time.sleep(0.5)
        return self._not_healthy(last, slow)

    def _not_healthy(self, last: str, slow: bool) -> Verdict:
        budget = f"within the start-up budget of {self.startup_s:g} s"
        logs = self._logs()
        if slow:
            return Verdict(False, f"GET /ping took more than {PING_TIMEOUT_S:g} s, SageMaker's limit per ping", logs)
        if "HTTP" in last:
            return Verdict(False, f"GET /ping did not answer 200 {budget} (last: {last})", logs)
        listening = self._listening_ports()
        if CONTAINER_PORT not in listening:
            where = f"it listens on {', '.join(map(str, listening))}" if listening else "nothing listens at all"
            return Verdict(
                False,
                f"nothing listens on port {CONTAINER_PORT} in the container ({where}); SageMaker sends /ping to "
                f"{CONTAINER_PORT} (or SAGEMAKER_BIND_TO_PORT)",
                logs,
            )
        return Verdict(False, f"GET /ping did not answer {budget} (last: {last})", logs)

    def _exited(self, state: dict) -> Verdict:
        code = state.get("ExitCode")
        if state.get("OOMKilled"):
            limit = self.limits[self.limits.index("--memory") + 1]
            return Verdict(
                False,
                f"the container was killed for memory on {self.settings.instance_type} (limit {limit}): "
                "choose an instance type with more memory, or load less",
                self._logs(),
            )
        return Verdict(False, f"the container exited with code {code} before /ping answered 200", self._logs())

    def _invoke(self) -> Verdict:
        samples = sorted((self.root / "samples").glob("payload.*"))
        if not samples:
            return Verdict(True, "GET /ping answered 200 (no sample payload to invoke with)")
        sample = samples[0]
        body = sample.read_bytes()
        limit = payload_limit_mb(self.settings)
        if len(body) > limit * 1024 * 1024:
            size, mode = len(body) / 2**20, self.settings.deploy_mode
            return Verdict(False, f"{sample.name} is {size:.1f} MB; {mode} payloads are at most {limit:g} MB")
        content_type = SAMPLE_TYPES.get(sample.suffix.lower(), "application/octet-stream")
        request = urllib.request.Request(self._url("/invocations"), data=body, headers={"Content-Type": content_type})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.invocation_timeout_s) as answer:
                content = answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            return Verdict(
                False, f"POST /invocations with {sample.name} answered HTTP {exc.code}: {detail}", self._logs()
            )
        except (urllib.error.URLError, OSError) as exc:
            if not timed_out(exc):
                return Verdict(False, f"POST /invocations failed: {getattr(exc, 'reason', exc)}", self._logs())
            return Verdict(
                False,
                f"POST /invocations took more than {self.invocation_timeout_s:g} s, SageMaker's limit per invocation",
                self._logs(),
            )
        elapsed = time.monotonic() - started
        if self.settings.deploy_mode in ("realtime", "serverless") and len(content) > RESPONSE_LIMIT_MB * 1024 * 1024:
            return Verdict(
                False, f"the answer is {len(content) / 2**20:.1f} MB; SageMaker returns at most {RESPONSE_LIMIT_MB} MB"
            )
        return Verdict(
            True,
            f"{self.image} passed SageMaker's checks as a {self.settings.deploy_mode} container on "
            f"{self.settings.instance_type}",
            [f"POST /invocations with {sample.name}: HTTP 200 in {elapsed:.2f} s, {len(content)} bytes"],
        )

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.docker, *args], capture_output=True, text=True, timeout=120)

    def _state(self) -> dict:
        inspected = self._docker("inspect", "--format", "{{json .State}}", self.container)
        return json.loads(inspected.stdout) if inspected.returncode == 0 else {}

    def _logs(self) -> list[str]:
        logs = self._docker("logs", "--tail", str(LOG_LINES), self.container)
        lines = (logs.stdout + logs.stderr).strip().splitlines()
        return ["last log lines:", *(f"| {line}" for line in lines[-LOG_LINES:])] if lines else ["(no log output)"]

    def _listening_ports(self) -> list[int]:
        """TCP ports something listens on inside the container (from /proc/net/tcp and tcp6)."""
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            read = self._docker("exec", self.container, "cat", table)
            for line in read.stdout.splitlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[3] == LISTEN_STATE:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        return sorted(ports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="do/run --sagemaker", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--startup-timeout", type=float, default=None, help="seconds for /ping to pass")
    parser.add_argument("--invocation-timeout", type=float, default=INVOCATION_TIMEOUT_S, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        port = int(os.environ.get("LOCAL_PORT") or CONTAINER_PORT)
        image = f"{os.environ.get('IMAGE_NAME') or settings.project_name}:latest"
        startup = args.startup_timeout or settings.startup_timeout_s or DEFAULT_STARTUP_S
        host = LocalHost(settings, args.root, image, os.environ.get("DOCKER") or "docker", port, startup,
                         args.invocation_timeout)  # fmt: skip
        verdict = host.run()
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(verdict.report(), file=sys.stderr)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
