"""SageMaker batch transform's data path, as its documentation describes it, to run against a real server:
SplitType=Line with BatchStrategy=MultiRecord packs whole lines into mini-batches of at most MaxPayloadInMB,
each POSTed to /invocations; AssembleWith=Line joins the answers so that each ends with a newline."""

from __future__ import annotations

from collections.abc import Callable, Iterator


def mini_batches(body: bytes, max_payload_mb: int) -> Iterator[bytes]:
    """Whole lines of ``body``, packed into chunks of at most ``max_payload_mb`` MB (MultiRecord)."""
    limit, chunk, size = max_payload_mb * 1024 * 1024, [], 0
    for line in body.splitlines(keepends=True):
        if chunk and size + len(line) > limit:
            yield b"".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield b"".join(chunk)


def assemble_lines(answers: list[bytes]) -> bytes:
    """AssembleWith=Line: the answers in order, each ending with a newline."""
    return b"".join(answer if answer.endswith(b"\n") else answer + b"\n" for answer in answers)


def transform(body: bytes, max_payload_mb: int, invoke: Callable[[bytes], tuple[int, bytes]]) -> bytes:
    """The assembled output of one input object; an answer other than 200 fails the job, as it does on SageMaker."""
    answers = []
    for number, batch in enumerate(mini_batches(body, max_payload_mb), start=1):
        status, answer = invoke(batch)
        if status != 200:
            raise AssertionError(f"mini-batch {number} ({len(batch)} bytes) got {status}: {answer[:300]!r}")
        answers.append(answer)
    return assemble_lines(answers)
