"""The llama.cpp wrapper's middleware: a body the route's request model rejects gets a 400 before the app runs;
a good body reaches the app byte for byte; other routes and methods pass through."""

from __future__ import annotations

import asyncio
import json

from pydantic import BaseModel

from mcc_runtime.llm.llamacpp_server import ClientErrors, body_problem


class Chat(BaseModel):
    messages: list[dict]
    temperature: float = 0.8


def call(path: str, method: str, body: bytes, chunk: int = 7) -> tuple[list[dict], list[bytes]]:
    """Send ``body`` in pieces through the middleware; (what it sent back, what the app received)."""
    seen: list[bytes] = []

    async def app(scope, receive, send):
        message = await receive()
        seen.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method}
    asyncio.run(ClientErrors(app, {"/v1/chat/completions": Chat})(scope, receive, send))
    return sent, seen


def test_a_body_the_request_model_rejects_gets_a_400_naming_the_field_and_never_reaches_the_app():
    for body, field in ((b"{not json", "not JSON"), (b"[1]", "JSON object"), (b'{"messages": "x"}', "messages")):
        sent, seen = call("/v1/chat/completions", "POST", body)
        assert sent[0]["status"] == 400 and dict(sent[0]["headers"])[b"content-type"] == b"application/json"
        assert field in json.loads(sent[1]["body"])["error"]["message"] and seen == []


def test_a_good_body_reaches_the_app_whole_and_other_routes_pass_through():
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "temperature": 0}).encode()
    sent, seen = call("/v1/chat/completions", "POST", body)
    assert sent[0]["status"] == 200 and seen == [body]
    for path, method in (("/v1/models", "GET"), ("/v1/chat/completions", "GET"), ("/other", "POST")):
        sent, _ = call(path, method, b"{not json")
        assert sent[0]["status"] == 200


def test_body_problem_names_the_first_bad_field():
    assert body_problem(Chat, b'{"messages": [], "temperature": "hot"}').startswith("temperature:")
    assert body_problem(Chat, b'{"messages": []}') is None
