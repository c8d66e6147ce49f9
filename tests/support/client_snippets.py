"""The README's application code run as written: boto3's sagemaker-runtime client pointed (by the standard
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) at a forwarder that hands each InvokeEndpoint request's bytes and headers to
the local server's /invocations, as SageMaker hands them to the container."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SECTION = "## Call the endpoint from your application"
FORWARDED = ("Content-Type", "Accept")  # what InvokeEndpoint passes on to the container


def readme_snippets(readme: str) -> list[str]:
    """The Python blocks of the README's section on calling the endpoint, in order."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@dataclass
class Forwarder:
    url: str
    requests: list[dict] = field(default_factory=list)  # path, headers, body of each call received


@contextlib.contextmanager
def runtime_forwarder(server_url: str) -> Iterator[Forwarder]:
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name: self.headers[name] for name in FORWARDED if self.headers.get(name)}
            component = self.headers.get("X-Amzn-SageMaker-Inference-Component")
            received.append({"path": self.path, "headers": headers, "component": component, "body": body})
            request = urllib.request.Request(f"{server_url}/invocations", data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    status, content_type, payload = answer.status, answer.headers.get("Content-Type"), answer.read()
            except urllib.error.HTTPError as error:
                status, content_type, payload = error.code, error.headers.get("Content-Type"), error.read()
            self.send_response(status)
            self.send_header("Content-Type", content_type or "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Forwarder(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()


def run_snippet(code: str, project: Path, python: str, forwarder: Forwarder) -> subprocess.CompletedProcess:
    """``code`` run by the project's Python in the project (where a user's application would read the sample)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=forwarder.url, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    return subprocess.run([python, "-c", code], cwd=project, env=env, capture_output=True, text=True, timeout=180)
