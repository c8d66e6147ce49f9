"""``do/test``: wait for /ping, send a sample payload to /invocations and check the answer: one prediction per
row, and, with ``--expected``, the answer ``mcc new`` recorded for that payload in the image's environment
(labels exactly, numbers to a relative 1e-5).

Standard library only, so it runs with any Python 3.11+::

    python -m mcc_runtime.smoke --url http://127.0.0.1:8080 --payload samples/payload.csv \
        --expected samples/expected.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .schema import SCHEMA_FILE  # standard library only, as this module

CONTENT_TYPES = {".csv": "text/csv", ".json": "application/json", ".jsonl": "application/jsonlines"}
ANSWER_KEYS = ("predictions", "probabilities")
RELATIVE_TOLERANCE = 1e-5  # networks' floats may differ in their last digits between machines
ABSOLUTE_TOLERANCE = 1e-7


def count_rows(payload: bytes, content_type: str, names: tuple[str, ...] = (), header: bool = True) -> int:
    """Rows in a request body (a CSV header row naming the model's columns does not count; ``header``: whether
    the body may have one: not for a model of named inputs, whose CSV rows are its one input's values)."""
    text = payload.decode("utf-8-sig")
    if content_type in ("text/csv", "application/jsonlines"):
        lines = list(csv.reader(text.splitlines())) if content_type == "text/csv" else text.splitlines()
        lines = [line for line in lines if line and "".join(line).strip()]
        if content_type == "text/csv" and lines and header and _is_header(lines[0], names):
            lines = lines[1:]
        return len(lines)
    document = json.loads(text)
    if isinstance(document, dict):
        if "columns" in document and "data" in document:
            return len(document["data"])
        named = document.get("inputs")
        if isinstance(named, dict) and named:  # TF Serving columnar: a batch per named input
            return len(next(iter(named.values())))
        if isinstance(named, list) and named and all(isinstance(t, dict) and "shape" in t for t in named):
            return int(named[0]["shape"][0])  # the Open Inference Protocol: the first dimension is the batch
        if not any(k in document for k in ("instances", "inputs")):
            return 1  # one row keyed by column name
        document = document.get("instances", document.get("inputs"))
    if not isinstance(document, list):
        raise ValueError("the JSON payload holds no list of rows")
    return len(document) if document and isinstance(document[0], (list, dict)) else 1


def _is_header(cells: list[str], names: tuple[str, ...]) -> bool:
    if names:
        return {cell.strip() for cell in cells} <= set(names)
    return not any(c.isdigit() for c in ",".join(cells))


def schema_names() -> tuple[str, ...]:
    """The model's column names from this project's ``code/schema.json`` (none when it names none)."""
    return tuple(column.get("name", "") for column in _schema().get("columns") or ())


def _schema() -> dict:
    try:
        document = json.loads((Path(__file__).resolve().parent.parent / SCHEMA_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def wait_until_ready(url: str, seconds: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll /ping until it answers 200; give up after ``seconds`` or once ``alive()`` is false."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server behind {url} exited before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url}/ping did not answer 200 within {seconds:g} s ({last})")


def invoke(url: str, payload: bytes, content_type: str, accept: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        f"{url}/invocations", data=payload, headers={"Content-Type": content_type, "Accept": accept}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def check(url: str, payload_path: Path, content_type: str | None, wait: float, expected: bytes | None = None) -> dict:
    """Run the smoke test; return the answer or raise AssertionError saying what is wrong."""
    payload = payload_path.read_bytes()
    content_type = content_type or CONTENT_TYPES.get(payload_path.suffix.lower())
    if content_type is None:
        raise AssertionError(f"cannot tell the content type of {payload_path}; pass --content-type")
    wait_until_ready(url, wait)
    status, answer_type, body = invoke(url, payload, content_type, "application/json")
    if status != 200:
        raise AssertionError(f"/invocations answered HTTP {status}: {body[:500].decode(errors='replace')}")
    if not answer_type.startswith("application/json"):
        raise AssertionError(f"expected a JSON answer, got Content-Type {answer_type!r}")
    return check_answer(payload, content_type, body, expected)


def check_answer(payload: bytes, content_type: str, body: bytes, expected_answer: bytes | None = None) -> dict:
    """One prediction (and/or probability row) per payload row, and the expected answer where one is given;
    return the decoded answer."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    inputs = (_schema().get("signature") or {}).get("inputs") or []
    named_inputs = len(inputs) > 1 or any(spec.get("dtype") == "string" for spec in inputs)  # as InputSchema.tensors
    expected = count_rows(payload, content_type, schema_names(), header=not named_inputs)
    if not isinstance(answer, (dict, list)):
        raise AssertionError(f"the answer is not a JSON object or array: {body[:200]!r}")
    answer = answer_columns(answer)
    for key in answered_keys(answer):
        if not isinstance(answer[key], list) or len(answer[key]) != expected:
            raise AssertionError(f"expected {expected} {key}, got {str(answer[key])[:200]}")
    if not answered_keys(answer):
        raise AssertionError(f"expected {' or '.join(ANSWER_KEYS)} in the answer, got {str(answer)[:200]}")
    if expected_answer is not None:
        same_answer(answer, answer_columns(json.loads(expected_answer)))
    return answer


def same_answer(answer: dict, expected: dict) -> None:
    """AssertionError naming the first column and row where ``answer`` differs from ``expected``."""
    if set(answer) != set(expected):
        raise AssertionError(f"the answer has {', '.join(sorted(answer))}; expected {', '.join(sorted(expected))}")
    for key, values in expected.items():
        got = answer[key]
        if not isinstance(got, list) or len(got) != len(values):
            raise AssertionError(f"expected {len(values)} {key}, got {str(got)[:200]}")
        for row, (value, wanted) in enumerate(zip(got, values, strict=True), start=1):
            if not _same(value, wanted):
                raise AssertionError(
                    f"{key}, row {row}: got {json.dumps(value)[:200]}, expected {json.dumps(wanted)[:200]} "
                    "(the answer mcc new recorded for this payload)"
                )


def _same(value: object, wanted: object) -> bool:
    if isinstance(wanted, list):
        return isinstance(value, list) and len(value) == len(wanted) and all(map(_same, value, wanted))
    numbers = (int, float)
    if isinstance(wanted, numbers) and not isinstance(wanted, bool):
        return (
            isinstance(value, numbers)
            and not isinstance(value, bool)
            and math.isclose(value, wanted, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
        )
    return value == wanted


def answered_keys(answer: dict) -> list[str]:
    """The columns that hold one entry per row: predictions and probabilities, else a model's named outputs."""
    known = [k for k in ANSWER_KEYS if k in answer]
    return known or [k for k, v in answer.items() if isinstance(v, list)]


def answer_columns(answer: dict | list, single: str = "predictions") -> dict:
    """A JSON answer in either shape (``json_response``) as named columns: ``{"predictions": [...]}`` and/or
    ``{"probabilities": [...]}``. A bare array is the ``single`` column, or per-row objects of several. A model
    of named outputs: TF Serving's ``{"outputs": ...}`` (its batch, or one per output) and the Open Inference
    Protocol's ``{"outputs": [{"name", "shape", "data"}, ...]}`` give a column per output."""
    if isinstance(answer, dict) and set(answer) == {"outputs"}:
        outputs = answer["outputs"]
        return dict(outputs) if isinstance(outputs, dict) else {single: outputs}
    if isinstance(answer, dict) and "model_name" in answer and isinstance(answer.get("outputs"), list):
        return {t["name"]: _nested(t["data"], t["shape"]) for t in answer["outputs"]}
    if isinstance(answer, dict):
        return answer
    if answer and all(isinstance(row, dict) for row in answer):
        keys = {"prediction": "predictions"}
        return {keys.get(k, k): [row[k] for row in answer] for k in answer[0]}
    return {single: answer}


def _nested(data: list, shape: list[int]) -> list:
    """Flat row-major ``data`` as nested lists of ``shape``."""
    if len(shape) <= 1:
        return list(data)
    step = len(data) // shape[0] if shape[0] else 0
    return [_nested(data[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="do/test", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--payload", type=Path, required=True)
    parser.add_argument("--content-type", default=None)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for /ping (default 60)")
    parser.add_argument("--expected", type=Path, help="the JSON answer the payload must get (samples/expected.json)")
    args = parser.parse_args(argv)
    try:
        expected = args.expected.read_bytes() if args.expected else None
        answer = check(args.url.rstrip("/"), args.payload, args.content_type, args.wait, expected)
    except (AssertionError, TimeoutError, RuntimeError, OSError, ValueError) as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(answer))
    rows = len(answer[answered_keys(answer)[0]])
    same = f", as {args.expected.name} expects" if args.expected else ""
    print(f"OK: {rows} row(s) answered by {args.url}{same}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
