"""moto's server mode on 127.0.0.1: a real AWS API emulator the do/ scripts talk to over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mcc_runtime.local import free_port

ACCOUNT = "123456789012"  # moto's default account
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class MotoServer:
    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        server = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait()

    def _wait(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("moto_server did not start")

    def post(self, path: str, document: dict | None = None) -> None:
        data = json.dumps(document or {}).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def reset(self) -> None:
        """Forget every resource: each test starts from an empty account."""
        self.post("/moto-api/reset")

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        """A minimal environment pointing boto3 (and nothing else) at this server."""
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        return {**base, **CREDENTIALS, "AWS_ENDPOINT_URL": self.url, "AWS_DEFAULT_REGION": region}

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


def valid_request(service: str, operation: str, params: dict) -> dict:
    """``params`` as botocore validates them for ``operation`` (raises on any unknown, missing or mistyped field):
    the check for calls moto lacks or answers with an older model."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()
    return params
