"""A generated scikit-learn server under hostile input, faults and limits: it answers every malformed request
with a 4xx JSON error and keeps its workers, replaces a killed worker, times out one hung request with a 504,
drains in-flight requests on SIGTERM, and refuses bodies and headers over the limits without tying up workers."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcc_runtime.local import LocalServer, free_port
from tests.support.processes import gunicorn_workers
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

# A user hook that can be told to hang: a first feature of -987654.25 sleeps for the second feature's seconds.
SLOW_HOOK = """
import time

from mcc_runtime import defaults

model_fn, input_fn, output_fn = defaults.model_fn, defaults.input_fn, defaults.output_fn


def predict_fn(data, model):
    if data[0][0] == -987654.25:  # a value no fuzzed request carries
        time.sleep(float(data[0][1]))
    return defaults.predict_fn(data, model)
"""
# A model that takes seconds to load, as a big one does.
SLOW_LOAD_HOOK = """
import time

from mcc_runtime import defaults

input_fn, predict_fn, output_fn = defaults.input_fn, defaults.predict_fn, defaults.output_fn


def model_fn(model_dir):
    time.sleep(4)
    return defaults.model_fn(model_dir)
"""
PING_BUDGET_S = 0.1  # the bound for a typical ping (the median)
PING_CEILING_S = 1.0  # no ping may take this long: before, each waited out nginx's 2 s; SageMaker fails it at 2 s
FUZZ_REQUESTS = 10_000
CONTENT_TYPES = [
    "text/csv",
    "application/json",
    "application/jsonlines",
    "application/x-npy",
    "application/json; charset=utf-8",
    "text/plain",
    "application/octet-stream",
    "",
]
ACCEPTS = ["application/json", "text/csv", "application/jsonlines", "application/x-npy", "*/*", "image/png", ""]


def slow_project(web_server: str):
    """A generated sample-model project whose user hook can be told to hang, in a world-readable folder."""
    parent = Path(tempfile.mkdtemp(prefix="mcc-reliability-"))
    parent.chmod(0o755)
    target = parent / "wine-tough"
    subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "wine-tough", "--sample-model",
         "--web-server", web_server, "--no-include-tests", "--output-dir", str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    (target / "code" / "inference.py").write_text(SLOW_HOOK)
    return target


@pytest.fixture(scope="module")
def project():
    target = slow_project("flask")
    yield target
    subprocess.run(["rm", "-rf", str(target.parent)], check=False)


@pytest.fixture(scope="module")
def python(project):
    return project_venv(project)


@pytest.fixture(scope="module")
def rows(project):
    return np.loadtxt(project / "samples" / "payload.csv", delimiter=",", ndmin=2)


def start(project, python, **env) -> LocalServer:
    environment = {"MCC_WORKERS": "2", **env}
    return LocalServer(project, python=python, env=environment, log=subprocess.DEVNULL).start()


@pytest.fixture(scope="module")
def server(project, python):
    running = start(project, python, SAGEMAKER_MODEL_SERVER_TIMEOUT="2")
    yield running
    running.stop()


def post(server, body: bytes, content_type: str = "text/csv", accept: str = "application/json", timeout: float = 30):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    headers = {"Content-Type": content_type, "Accept": accept} if content_type else {"Accept": accept}
    try:
        connection.request("POST", "/invocations", body, headers)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read()
    finally:
        connection.close()


def csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def predictions(server, rows: np.ndarray) -> list:
    status, _, body = post(server, csv(rows))
    assert status == 200, body
    return json.loads(body)["predictions"]


def slow_request(server, seconds: float) -> tuple[threading.Thread, dict]:
    """Start, in a thread, a request the slow hook holds for ``seconds``; its answer lands in ``outcome["answer"]``."""
    outcome: dict = {}

    def send():
        outcome["answer"] = post(server, f"-987654.25,{seconds}".encode() + b",1" * 11 + b"\n")

    thread = threading.Thread(target=send)
    thread.start()
    return thread, outcome


# --- hostile input ----------------------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=15), st.dictionaries(st.text(max_size=8), inner, max_size=6)),
    max_leaves=60,
)


def _json_text(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def hostile_bodies(draw):
    kind = draw(st.sampled_from(["bytes", "json", "instances", "truncated", "nested", "csv", "latin1", "npy", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    if kind == "json":
        return _json_text(draw(json_values))
    if kind == "instances":
        width = draw(st.sampled_from([0, 1, 12, 13, 14, 100]))
        body = {"instances": draw(st.lists(st.lists(numbers, min_size=width, max_size=width), max_size=5))}
        return _json_text(body)
    if kind == "truncated":
        text = _json_text({"instances": [[1.5] * 13, [2.5] * 13]})
        return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
    if kind == "nested":
        depth = draw(st.integers(min_value=1, max_value=5000))
        return b"[" * depth + b"1" + b"]" * draw(st.integers(min_value=0, max_value=depth))
    if kind == "csv":
        cells = st.one_of(numbers.map(repr), st.sampled_from(["nan", "inf", "-inf", "1e400", "", "x", '"', "1,2"]))
        lines = st.lists(st.lists(cells, min_size=0, max_size=16).map(",".join), max_size=6)
        return "\n".join(draw(lines)).encode()
    if kind == "latin1":
        return draw(st.text(max_size=60)).encode("utf-8") + bytes([0xFF, 0xFE, 0xC0]) + b",1.0\n"
    if kind == "npy":
        prefix = b"\x93NUMPY\x01\x00" + draw(st.binary(max_size=120))
        return prefix[: draw(st.integers(min_value=0, max_value=len(prefix)))]
    return b""


class KeepAlive:
    """One keep-alive connection to the server, reopened when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None
        self.sent = 0

    def post(self, body: bytes, content_type: str, accept: str) -> tuple[int, str, bytes]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            headers = {"Accept": accept, **({"Content-Type": content_type} if content_type else {})}
            try:
                self.connection.request("POST", "/invocations", body, headers)
                answer = self.connection.getresponse()
                self.sent += 1
                return answer.status, answer.getheader("Content-Type", ""), answer.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def both_workers(server) -> list[int]:
    """The two workers' pids, once both have been forked (/ping may answer before the second is)."""
    deadline = time.monotonic() + 10
    while len(workers := gunicorn_workers(server.process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2, workers
    return workers


def test_ten_thousand_hostile_requests_get_4xx_json_and_no_worker_dies(server, rows):
    workers = both_workers(server)
    client = KeepAlive(server.port)
    failures: list[str] = []

    @settings(
        max_examples=FUZZ_REQUESTS // 2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        body=hostile_bodies(),
        content_types=st.tuples(st.sampled_from(CONTENT_TYPES), st.sampled_from(CONTENT_TYPES)),
        accept=st.sampled_from(ACCEPTS),
    )
    def hostile(body, content_types, accept):
        for content_type in content_types:  # two requests per example
            status, answer_type, answer = client.post(body, content_type, accept)
            if status >= 500 or (status >= 400 and "error" not in json.loads(answer)):
                failures.append(f"{status} for {content_type!r} {body[:80]!r}: {answer[:200]!r}")
            if status >= 400:
                assert answer_type == "application/json"

    hostile()
    assert failures == []
    assert client.sent >= FUZZ_REQUESTS
    assert gunicorn_workers(server.process.pid) == workers  # no worker crashed or was replaced
    assert predictions(server, rows) == [0, 1, 2]


def test_a_body_over_the_limit_is_a_413_and_one_under_it_is_served(server, rows):
    six_mb = 6 * 1024 * 1024
    status, content_type, body = post(server, b"1" * (six_mb + 1))
    assert (status, content_type) == (413, "application/json") and "limit" in json.loads(body)["error"]
    line = csv(rows[:1])
    big = line * (five := (5 * 1024 * 1024) // len(line))
    status, _, body = post(server, big)
    assert status == 200 and len(json.loads(body)["predictions"]) == five


def test_a_header_under_8_kb_passes_nginx_and_gunicorn_alike(server, rows):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", "/invocations", csv(rows), {"Content-Type": "text/csv", "X-Trace": "x" * 7_000})
    answer = connection.getresponse()
    assert answer.status == 200 and json.loads(answer.read())["predictions"] == [0, 1, 2]


def test_an_oversized_header_is_a_json_4xx(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", "/invocations", b"1", {"Content-Type": "text/csv", "X-Big": "x" * 9_000})
    answer = connection.getresponse()
    assert 400 <= answer.status < 500
    assert answer.getheader("Content-Type") == "application/json" and json.loads(answer.read())["error"]


def test_slow_clients_do_not_hold_the_workers(server, rows):
    sockets = []
    for _ in range(8):  # more slow uploads than workers
        slow = socket.create_connection(("127.0.0.1", server.port))
        slow.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n1,"
        )
        sockets.append(slow)
    try:
        started = time.monotonic()
        assert predictions(server, rows) == [0, 1, 2]
        assert time.monotonic() - started < 2
    finally:
        for slow in sockets:
            slow.close()


# --- faults -----------------------------------------------------------------------------------------------


def test_a_hung_request_gets_a_504_and_only_that_one(project, python, rows):
    # Sync workers (batching off): a busy worker accepts nothing, so every other request reaches the idle one.
    # A batching worker keeps accepting while its model thread is busy: see the next test.
    sync = start(project, python, SAGEMAKER_MODEL_SERVER_TIMEOUT="2", MCC_MAX_BATCH_SIZE="1")
    try:
        started = time.monotonic()
        thread, outcome = slow_request(sync, 4)
        time.sleep(0.3)
        assert predictions(sync, rows) == [0, 1, 2]  # the other worker serves meanwhile
        thread.join()
        status, content_type, body = outcome["answer"]
        assert (status, content_type) == (504, "application/json") and "2 s" in json.loads(body)["error"]
        assert time.monotonic() - started < 4
        time.sleep(2.5)  # the hung worker finishes its sleep
        assert predictions(sync, rows) == [0, 1, 2]
    finally:
        sync.stop()


def test_with_batching_a_hung_model_call_gets_a_504_and_the_server_serves_again(server, rows):
    started = time.monotonic()
    thread, outcome = slow_request(server, 4)
    thread.join()
    status, content_type, body = outcome["answer"]
    assert (status, content_type) == (504, "application/json") and "2 s" in json.loads(body)["error"]
    assert time.monotonic() - started < 4
    time.sleep(2.5)  # the hung model call ends
    assert predictions(server, rows) == [0, 1, 2]


def test_a_killed_worker_is_replaced_and_under_one_percent_of_requests_fail(project, python, rows):
    running = start(project, python)
    try:
        before = both_workers(running)
        body, outcomes, stop = csv(rows[:1]), [], threading.Event()

        def load():
            client = KeepAlive(running.port)
            while not stop.is_set():
                try:
                    outcomes.append(client.post(body, "text/csv", "application/json")[0])
                except (OSError, http.client.HTTPException):
                    outcomes.append(0)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        os.kill(before[0], signal.SIGKILL)
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join()
        failed = sum(1 for status in outcomes if status != 200)
        assert len(outcomes) > 300 and failed / len(outcomes) < 0.01, (failed, len(outcomes))
        deadline = time.monotonic() + 10
        while len(after := gunicorn_workers(running.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(after) == 2 and before[0] not in after and before[1] in after
        assert predictions(running, rows) == [0, 1, 2]
    finally:
        running.stop()


def test_sigterm_lets_in_flight_requests_finish_then_exits_0(project, python, rows):
    running = start(project, python)
    thread, outcome = slow_request(running, 1.5)
    time.sleep(0.4)
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    thread.join()
    code = running.process.wait(timeout=30)
    assert outcome["answer"][0] == 200
    assert code == 0 and time.monotonic() - started < 25


# --- a bad model ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("missing", "no model artifact model.joblib"),
        ("corrupt", "is not a loadable joblib model"),
        ("wrong format", "is not a loadable joblib model"),
    ],
)
def test_a_bad_model_stops_the_server_within_10_s_naming_the_file(project, python, tmp_path, damage, named):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    if damage == "corrupt":
        (model_dir / "model.joblib").write_bytes(b"\x80\x05 not a pickle at all")
    elif damage == "wrong format":
        (model_dir / "model.joblib").write_text(json.dumps({"learner": {"objective": "a JSON model"}}))
    port = str(free_port())
    env = {**os.environ, "MCC_MODEL_DIR": str(model_dir), "SAGEMAKER_BIND_TO_PORT": port, "MCC_WORKERS": "2"}
    started = time.monotonic()
    result = subprocess.run(
        [python, str(project / "code" / "serve")], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0 and time.monotonic() - started < 10
    line = next(line for line in result.stderr.splitlines() if "cannot load the model" in line)
    assert named in line and str(model_dir) in line


def test_nan_and_inf_rows_are_400_not_500(server):
    for cell in ("nan", "inf", "-inf"):
        status, _, body = post(server, (cell + ",1" * 12 + "\n").encode())
        assert status == 400 and json.loads(body)["error"], body


@pytest.fixture(scope="module")
def fastapi_project():
    project = slow_project("fastapi")
    yield project
    subprocess.run(["rm", "-rf", str(project.parent)], check=False)


@pytest.fixture(scope="module")
def fastapi_server(fastapi_project):
    """The slow-hook project on FastAPI: one worker, requests time out after 3 s."""
    running = start(fastapi_project, project_venv(fastapi_project), MCC_WORKERS="1", SAGEMAKER_MODEL_SERVER_TIMEOUT="3")
    yield running
    running.stop()


def assert_pings_are_quick(seconds: list[float]) -> None:
    """The typical ping within the issue's 100 ms, none near the 2 s SageMaker allows (a busy CI host is slow)."""
    typical, slowest = statistics.median(seconds), max(seconds)
    assert typical < PING_BUDGET_S, f"the median ping took {typical * 1000:.0f} ms"
    assert slowest < PING_CEILING_S, f"a ping took {slowest * 1000:.0f} ms"


def timed_ping(port: int) -> tuple[int, float]:
    """/ping's status (0: no answer) and how long it took."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/ping")
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        connection.close()
    return status, time.monotonic() - started


@pytest.mark.parametrize("web_server", ["flask", "fastapi"])
def test_ping_answers_within_100_ms_while_the_workers_load_a_slow_model(web_server, tmp_path):
    project = slow_project(web_server)
    try:
        (project / "code" / "inference.py").write_text(SLOW_LOAD_HOOK)
        serving = project / "code" / "serving.json"  # each worker loads its own model, as XGBoost, torch ... do
        serving.write_text(serving.read_text().replace('"preload": true', '"preload": false'))
        port = free_port()
        env = {**os.environ, "MCC_MODEL_DIR": str(project / "model"), "SAGEMAKER_BIND_TO_PORT": str(port)}
        process = subprocess.Popen(
            [project_venv(project), str(project / "code" / "serve")], env={**env, "MCC_WORKERS": "2"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            pings, deadline = [], time.monotonic() + 60
            while time.monotonic() < deadline and (not pings or pings[-1][0] != 200):
                pings.append(timed_ping(port))
                time.sleep(0.05)
            statuses = [status for status, _ in pings]
            assert statuses[-1] == 200 and statuses.count(503) >= 20, statuses  # 4 s of loading, answered
            assert_pings_are_quick([seconds for _, seconds in pings])
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        subprocess.run(["rm", "-rf", str(project.parent)], check=False)


@pytest.mark.parametrize("web_server", ["flask", "fastapi"])
def test_a_request_never_waits_behind_a_hung_model_call_while_another_worker_is_free(
    web_server, project, python, fastapi_project, rows
):
    chosen = project if web_server == "flask" else fastapi_project
    running = start(chosen, project_venv(chosen))  # two workers, batching on
    try:
        both_workers(running)
        thread, outcome = slow_request(running, 3)
        time.sleep(0.5)  # the hung call runs on one worker's model thread
        ping_times = []
        for _ in range(20):  # one after another, as a client does: each reaches the free worker
            started = time.monotonic()
            assert predictions(running, rows) == [0, 1, 2]
            assert time.monotonic() - started < 1, "a request waited behind the hung model call"
            ping_status, ping_seconds = timed_ping(running.port)
            assert ping_status == 200
            ping_times.append(ping_seconds)
        assert_pings_are_quick(ping_times)
        thread.join()
        assert outcome["answer"][0] == 200
    finally:
        running.stop()


def test_fastapi_answers_ping_while_its_only_worker_predicts_and_queues_the_next_prediction(fastapi_server, rows):
    thread, outcome = slow_request(fastapi_server, 2)
    time.sleep(0.5)
    connection = http.client.HTTPConnection("127.0.0.1", fastapi_server.port, timeout=5)
    started = time.monotonic()
    connection.request("GET", "/ping")
    assert connection.getresponse().status == 200
    assert time.monotonic() - started < 0.5  # not held behind the 2 s prediction
    assert predictions(fastapi_server, rows) == [0, 1, 2]  # queued behind it, then served
    thread.join()
    status, _, body = outcome["answer"]
    assert status == 200 and len(json.loads(body)["predictions"]) == 1, body


def test_a_fastapi_worker_stuck_in_a_prediction_is_replaced(fastapi_server, rows):
    (before,) = gunicorn_workers(fastapi_server.process.pid)
    started = time.monotonic()
    thread, outcome = slow_request(fastapi_server, 60)
    thread.join()
    status, _, body = outcome["answer"]
    assert status == 504 and "3 s" in json.loads(body)["error"], body
    deadline = started + 20  # the 3 s timeout + 5 s margin, then a fresh worker loads the model
    while time.monotonic() < deadline:
        status, _, body = post(fastapi_server, csv(rows), timeout=5)
        if status == 200:
            break
        time.sleep(0.3)
    assert status == 200 and json.loads(body)["predictions"] == [0, 1, 2], body
    assert gunicorn_workers(fastapi_server.process.pid) not in ([before], [])
