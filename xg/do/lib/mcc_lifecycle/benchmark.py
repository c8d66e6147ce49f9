"""``do/benchmark``: drive a server or the deployed endpoint at a sweep of concurrencies and measure it.

Each level runs ``concurrency`` threads, each with its own connection (or boto3 client), until ``requests``
answers are in. Reported per level: requests/s, latency p50/p90/p99, errors, and for chat models (whose
requests are streamed) time to first token, inter-token latency and tokens/s; with the instance's hourly
price, the cost of a million requests (or tokens) at that level's throughput. Results are saved as JSON and
CSV; ``compare`` lines up saved runs (e.g. one per instance type) by their cheapest level.
"""

from __future__ import annotations

import csv
import http.client
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Sample:
    """One request: how long it took, whether it succeeded, and for a stream its tokens' timing."""

    seconds: float
    ok: bool
    first_token_s: float | None = None
    token_gaps: tuple[float, ...] = ()
    tokens: int = 0


Send = Callable[[], Sample]


@dataclass(frozen=True)
class Level:
    concurrency: int
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    ttft_p50_ms: float | None = None
    ttft_p99_ms: float | None = None
    itl_p50_ms: float | None = None
    tokens_per_s: float | None = None
    usd_per_million: float | None = None  # requests, or tokens for chat models


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(concurrency: int, samples: list[Sample], wall_s: float, usd_per_hour: float | None) -> Level:
    good = [s for s in samples if s.ok]
    latencies = [s.seconds * 1000 for s in good] or [math.nan]
    firsts = [s.first_token_s * 1000 for s in good if s.first_token_s is not None]
    gaps = [g * 1000 for s in good for g in s.token_gaps]
    tokens = sum(s.tokens for s in good)
    rate = len(good) / wall_s if wall_s > 0 else 0.0
    tokens_per_s = tokens / wall_s if firsts and wall_s > 0 else None
    per_hour = (tokens_per_s if tokens_per_s else rate) * 3600
    return Level(
        concurrency=concurrency,
        requests=len(samples),
        errors=len(samples) - len(good),
        requests_per_s=rate,
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        ttft_p50_ms=percentile(firsts, 50) if firsts else None,
        ttft_p99_ms=percentile(firsts, 99) if firsts else None,
        itl_p50_ms=percentile(gaps, 50) if gaps else None,
        tokens_per_s=tokens_per_s,
        usd_per_million=usd_per_hour / per_hour * 1e6 if usd_per_hour and per_hour else None,
    )


def run_level(
    make_sender: Callable[[], Send], concurrency: int, requests: int, usd_per_hour: float | None = None
) -> Level:
    """``requests`` requests from ``concurrency`` threads, each with its own sender."""
    senders = [make_sender() for _ in range(concurrency)]
    samples: list[Sample] = []
    lock = threading.Lock()
    remaining = [requests]

    def work(send: Send) -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            sample = send()
            with lock:
                samples.append(sample)

    threads = [threading.Thread(target=work, args=(send,), daemon=True) for send in senders]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summarize(concurrency, samples, time.perf_counter() - start, usd_per_hour)


def stream_sample(lines: Iterable[bytes], start: float) -> Sample:
    """A server-sent-events answer (OpenAI chat chunks): when each piece of content arrived."""
    first, last, gaps, tokens = None, None, [], 0
    for line in lines:
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        choices = json.loads(data).get("choices") or [{}]
        content = (choices[0].get("delta") or {}).get("content") or choices[0].get("text")
        if not content:
            continue
        now = time.perf_counter()
        tokens += 1
        if first is None:
            first = now - start
        else:
            gaps.append(now - last)
        last = now
    return Sample(time.perf_counter() - start, first is not None, first, tuple(gaps), tokens)


def http_sender(url: str, body: bytes, content_type: str, stream: bool) -> Send:
    """POST /invocations on one keep-alive connection."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "localhost", parts.port or 80, timeout=TIMEOUT_S)
    headers = {"Content-Type": content_type, "Accept": "text/event-stream" if stream else "application/json"}

    def send() -> Sample:
        start = time.perf_counter()
        try:
            connection.request("POST", "/invocations", body, headers)
            answer = connection.getresponse()
            if stream and answer.status == 200:
                sample = stream_sample(iter(answer.readline, b""), start)
                answer.read()  # the rest after [DONE]: the connection is reused
                return sample
            answer.read()
            return Sample(time.perf_counter() - start, answer.status == 200)
        except (OSError, http.client.HTTPException, ValueError):
            connection.close()
            return Sample(time.perf_counter() - start, False)

    return send


def endpoint_sender(client, target: dict[str, str], body: bytes, content_type: str, stream: bool) -> Send:
    """InvokeEndpoint (or InvokeEndpointWithResponseStream for chat models) on ``client``."""
    from botocore.exceptions import BotoCoreError, ClientError

    def send() -> Sample:
        start = time.perf_counter()
        try:
            if stream:
                answer = client.invoke_endpoint_with_response_stream(
                    **target, Body=body, ContentType=content_type, Accept="text/event-stream"
                )
                return stream_sample(_event_lines(answer["Body"]), start)
            client.invoke_endpoint(**target, Body=body, ContentType=content_type, Accept="application/json")[
                "Body"
            ].read()
            return Sample(time.perf_counter() - start, True)
        except (BotoCoreError, ClientError, ValueError):
            return Sample(time.perf_counter() - start, False)

    return send


def _event_lines(events: Iterable[dict]) -> Iterator[bytes]:
    """The lines of a response stream, whose parts may split a line anywhere."""
    pending = b""
    for event in events:
        pending += event.get("PayloadPart", {}).get("Bytes", b"")
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


@dataclass
class Run:
    """A sweep's results, as saved."""

    target: str
    instance_type: str
    usd_per_hour: float | None
    chat: bool
    levels: list[Level] = field(default_factory=list)

    def best(self) -> Level:
        """The level with the most throughput (tokens/s for chat models)."""
        return max(self.levels, key=lambda level: (level.tokens_per_s or 0, level.requests_per_s))


def sweep(make_sender: Callable[[], Send], concurrencies: list[int], requests: int, run: Run) -> Run:
    make_sender()()  # a warm-up request: connections, lazy loading
    for concurrency in concurrencies:
        run.levels.append(run_level(make_sender, concurrency, max(requests, concurrency), run.usd_per_hour))
    return run


COLUMNS = (
    ("concurrency", "conc", "{:d}"),
    ("requests_per_s", "req/s", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p90_ms", "p90 ms", "{:.1f}"),
    ("p99_ms", "p99 ms", "{:.1f}"),
    ("errors", "errors", "{:d}"),
)
CHAT_COLUMNS = (
    ("ttft_p50_ms", "TTFT p50", "{:.1f}"),
    ("ttft_p99_ms", "TTFT p99", "{:.1f}"),
    ("itl_p50_ms", "ITL p50", "{:.2f}"),
    ("tokens_per_s", "tok/s", "{:.1f}"),
)


def table(run: Run) -> str:
    columns = [*COLUMNS, *(CHAT_COLUMNS if run.chat else ())]
    if run.usd_per_hour:
        columns.append(("usd_per_million", "$/1M " + ("tok" if run.chat else "req"), "{:.4f}"))
    rows = [[label for _, label, _ in columns]]
    for level in run.levels:
        values = [getattr(level, name) for name, _, _ in columns]
        rows.append(["-" if v is None else form.format(v) for v, (_, _, form) in zip(values, columns, strict=True)])
    price = f", ${run.usd_per_hour:g}/h" if run.usd_per_hour else ""
    return f"{run.target} ({run.instance_type}{price})\n" + aligned(rows)


def save(run: Run, directory: Path) -> tuple[Path, Path]:
    """``benchmark-<UTC time>.json`` and ``.csv`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / time.strftime("benchmark-%Y%m%dT%H%M%SZ", time.gmtime())
    document = {**asdict(run), "levels": [asdict(level) for level in run.levels]}
    stem.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
    with stem.with_suffix(".csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(asdict(run.levels[0])))
        writer.writeheader()
        writer.writerows(asdict(level) for level in run.levels)
    return stem.with_suffix(".json"), stem.with_suffix(".csv")


def load(path: Path) -> Run:
    document = json.loads(path.read_text())
    levels = [Level(**level) for level in document.pop("levels")]
    return Run(**document, levels=levels)


def compare(runs: list[Run]) -> str:
    """Saved runs side by side: each one's best level and what a million requests (or tokens) cost there."""
    rows = [["run", "instance", "$/h", "best conc", "req/s", "tok/s", "p99 ms", "$/1M"]]
    for run in runs:
        best = run.best()
        rows.append(
            [
                run.target,
                run.instance_type,
                f"{run.usd_per_hour:g}" if run.usd_per_hour else "-",
                str(best.concurrency),
                f"{best.requests_per_s:.1f}",
                f"{best.tokens_per_s:.1f}" if best.tokens_per_s else "-",
                f"{best.p99_ms:.1f}",
                f"{best.usd_per_million:.4f}" if best.usd_per_million else "-",
            ]
        )
    return aligned(rows)


def aligned(rows: list[list[str]]) -> str:
    """Rows of cells, each column right-aligned to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows)


def instance_price(table_file: Path, instance_type: str) -> float | None:
    """The instance type's approximate hourly price from do/lib/instance-types.json, where the catalog has one."""
    if not table_file.exists():
        return None
    return (json.loads(table_file.read_text()).get(instance_type) or {}).get("usd_per_hour")


def request_body(payload: Path, chat: bool) -> tuple[bytes, str]:
    """The payload file's bytes and content type; a chat request is made a streamed one."""
    from .invoke import content_type_of

    content_type = content_type_of(payload)
    body = payload.read_bytes()
    if chat:
        body = json.dumps({**json.loads(body), "stream": True}).encode()
    return body, content_type


def command(aws, url: str | None, payload: Path, chat: bool, concurrencies: list[int], requests: int, out: Path,
            table_file: Path) -> Run:  # fmt: skip
    """Sweep a server (``url``) or the project's endpoint; print the table; save JSON and CSV under ``out``."""
    body, content_type = request_body(payload, chat)
    settings = aws.settings
    if url:
        run = Run(url, "this machine", None, chat)
        make_sender = lambda: http_sender(url, body, content_type, chat)  # noqa: E731
    else:
        price = instance_price(table_file, settings.instance_type)
        count = f" x{settings.instance_count}" if settings.instance_count > 1 else ""
        run = Run(f"endpoint {settings.endpoint}", settings.instance_type + count,
                  price * settings.instance_count if price else None, chat)  # fmt: skip
        client = aws.pooled_client("sagemaker-runtime", max(concurrencies))
        target = settings.invocation_target
        make_sender = lambda: endpoint_sender(client, target, body, content_type, chat)  # noqa: E731
    sweep(make_sender, concurrencies, requests, run)
    print(table(run))
    for path in save(run, out):
        print(f"saved {path}")
    return run
