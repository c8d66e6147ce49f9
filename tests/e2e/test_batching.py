"""Adaptive batching end to end: thousands of concurrent requests with distinct rows, through nginx and both web
servers, each answered exactly as the model predicts its own rows in-process; bad requests mixed in get their
own 400 and never fail the requests batched with them."""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest

from mcc_runtime.local import LocalServer
from tests.support import tabular
from tests.support.projects import mcc_new
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow
REQUESTS = 3000
CONCURRENCY = 64
BAD_EVERY = 17  # one request in 17 cannot be read


@pytest.fixture(scope="module", params=["fastapi", "flask"])
def served(request):
    parent = Path(tempfile.mkdtemp(prefix=f"mcc-batching-{request.param}-"))
    parent.chmod(0o755)
    model = tabular.churn_pipeline(parent)
    payload = parent / "rows.csv"
    payload.write_bytes(tabular.csv_body(model.rows.head(5)))
    project = mcc_new(
        parent / "project", "batching", "--framework", "sklearn", "--model-file", str(model.path),
        "--sample-payload", str(payload), "--predict-output", "both", "--web-server", request.param,
    )  # fmt: skip
    env = {"MCC_WORKERS": "2", "MCC_LOG_LEVEL": "debug"}
    with (
        open(parent / "server.log", "w") as log,
        LocalServer(project, python=project_venv(project), env=env, log=log) as server,
    ):
        yield model, server, parent / "server.log"
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def requests(model: tabular.Tabular) -> list[tuple[pd.DataFrame | None, bytes, str]]:
    """(rows, body, content type): 1 to 3 distinct rows each, as CSV or JSON records; every 17th unreadable."""
    frame, _ = tabular.customers(seed=11, rows=REQUESTS * 2)
    frame = frame[list(model.rows.columns)]
    chosen, start, shuffle = [], 0, random.Random(5)
    for i in range(REQUESTS):
        if i % BAD_EVERY == 0:
            chosen.append((None, b"age,plan,income,region\nold,pro,1.0,eu\n", "text/csv"))
            continue
        rows = frame.iloc[start : start + shuffle.randint(1, 3)]
        start += len(rows)
        if i % 2:
            chosen.append((rows, tabular.csv_body(rows), "text/csv"))
        else:
            chosen.append((rows, tabular.records_body(rows), "application/json"))
    return chosen


class Client:
    """One keep-alive connection per thread, as a load generator holds them."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def post(self, connection: http.client.HTTPConnection | None, body: bytes, content_type: str):
        connection = connection or http.client.HTTPConnection(self.host, self.port, timeout=60)
        connection.request("POST", "/invocations", body, {"Content-Type": content_type, "Accept": "application/json"})
        response = connection.getresponse()
        return connection, response.status, json.loads(response.read())


def test_thousands_of_concurrent_requests_each_get_their_own_rows_answer(served):
    model, server, log = served
    client, chosen = Client(server.url), requests(model)
    connections: dict[int, http.client.HTTPConnection] = {}

    def send(index: int):
        key = threading.get_ident()
        _, body, content_type = chosen[index]
        connections[key], status, answer = client.post(connections.get(key), body, content_type)
        return status, answer

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        answers = list(pool.map(send, range(REQUESTS)))
    for connection in connections.values():
        connection.close()
    for (rows, _, _), (status, answer) in zip(chosen, answers, strict=True):
        if rows is None:
            assert status == 400 and answer["error"] == "row 1, column 'age': 'old' is not a number", answer
            continue
        assert status == 200, answer
        assert answer["predictions"] == model.predict(rows)
        np.testing.assert_allclose(answer["probabilities"], model.predict_proba(rows), rtol=0, atol=1e-12)
    joined = [line for line in log.read_text().splitlines() if "one model call answered" in line]
    assert joined, "no model call answered several requests: batching did not happen under load"
