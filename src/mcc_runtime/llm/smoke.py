"""``do/test`` for generative projects: send the sample request (and a streamed copy) and check the answers.

Also used by ``do/test --endpoint`` (through mcc_lifecycle) to check what the endpoint returned.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..smoke import wait_until_ready

TASKS = ("chat", "embedding")


class AnswerError(AssertionError):
    """The answer is not what an OpenAI-compatible server returns."""


def check_completion(answer: dict[str, Any]) -> str:
    """The generated text of a chat completion (or completion) answer."""
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices:
        raise AnswerError(f"no choices in the answer: {str(answer)[:300]}")
    choice = choices[0]
    text = choice.get("message", {}).get("content") if "message" in choice else choice.get("text")
    if not isinstance(text, str):
        raise AnswerError(f"the first choice has no text: {str(choice)[:300]}")
    if choice.get("finish_reason") not in ("stop", "length", "eos", None):
        raise AnswerError(f"unexpected finish_reason {choice.get('finish_reason')!r}")
    return text


def check_stream(body: bytes) -> str:
    """The text assembled from server-sent events that end with ``data: [DONE]``."""
    events = [line[5:].strip() for line in body.decode().splitlines() if line.startswith("data:")]
    if not events or events[-1] != "[DONE]":
        raise AnswerError(f"the stream does not end with data: [DONE]: {body[-200:]!r}")
    text = ""
    for event in events[:-1]:
        chunk = json.loads(event)
        if "error" in chunk:
            raise AnswerError(f"the stream reported an error: {chunk['error']}")
        choice = chunk["choices"][0]
        text += choice.get("delta", {}).get("content") or choice.get("text") or ""
    if len(events) < 2:
        raise AnswerError("the stream holds no chunk")
    return text


def check_embeddings(request: dict[str, Any], answer: dict[str, Any]) -> int:
    """The vectors' dimension; one vector per input, all of it."""
    inputs = request["input"] if isinstance(request["input"], list) else [request["input"]]
    data = answer.get("data")
    if not isinstance(data, list) or len(data) != len(inputs):
        raise AnswerError(f"expected {len(inputs)} embeddings, got {str(data)[:200]}")
    sizes = {len(item.get("embedding") or []) for item in data}
    if len(sizes) != 1 or 0 in sizes:
        raise AnswerError(f"embeddings of uneven or empty size: {sorted(sizes)}")
    return sizes.pop()


def _post(url: str, body: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.read()


def run(url: str, payload: Path, task: str, wait_s: float) -> dict[str, Any]:
    request = json.loads(payload.read_text())
    wait_until_ready(url, wait_s)
    body = _post(f"{url}/invocations", json.dumps(request).encode(), wait_s)
    answer = json.loads(body)
    if task == "embedding":
        return {"embeddings": len(answer["data"]), "dimension": check_embeddings(request, answer)}
    text = check_completion(answer)
    streamed = check_stream(_post(f"{url}/invocations", json.dumps({**request, "stream": True}).encode(), wait_s))
    return {"completion": text, "streamed": streamed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="do/test", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--payload", type=Path, required=True)
    parser.add_argument("--task", choices=TASKS, default="chat")
    parser.add_argument("--wait", type=float, default=300.0, help="seconds to wait for /ping and each answer")
    args = parser.parse_args(argv)
    try:
        result = run(args.url.rstrip("/"), args.payload, args.task, args.wait)
    except (AnswerError, urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    print(f"OK: {args.url} answered the {args.task} request" + (" and streamed it" if args.task == "chat" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
