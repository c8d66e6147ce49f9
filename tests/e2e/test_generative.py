"""mcc's Transformers engine end to end: `mcc new --framework transformers --engine transformers` → pinned
requirements installed → code/serve (nginx + gunicorn) → OpenAI chat, completions, streaming and embedding
requests answered like the model in-process; malformed bodies get 400 and the server keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mcc.checks import check_project
from mcc_runtime.llm.smoke import check_stream
from mcc_runtime.local import LocalServer
from tests.support.client_snippets import readme_snippets, run_snippet, runtime_forwarder
from tests.support.llm import greedy_reference, minilm_directory, post, tiny_llama
from tests.support.projects import own_tests, readable_folder, run_script
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

CHAT = {"messages": [{"role": "user", "content": "say hello in five words please"}], "max_tokens": 12, "temperature": 0}
TEXTS = ["SageMaker serves this sentence.", "A second, different sentence about foxes."]


def generate(parent: Path, name: str, *flags: str) -> Path:
    project = parent / name
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mcc", "new", "--yes", "--project-name", name, "--framework", "transformers"),
            *("--engine", "transformers", "--output-dir", str(project), *flags),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return project


@pytest.fixture(scope="module")
def workdir():
    with readable_folder("mcc-llm-") as parent:
        yield parent


@pytest.fixture(scope="module")
def chat_server(workdir):
    model = tiny_llama(workdir / "tiny-llama")
    project = generate(
        workdir, "tiny-chat", "--model-s3-uri", "s3://models-bucket/tiny-llama/", "--max-model-len", "128"
    )
    python = project_venv(project)
    with LocalServer(project, python=python, env={"MCC_MODEL_DIR": str(model)}, ready_timeout=180) as server:
        yield project, model, python, server


@pytest.fixture(scope="module")
def embedding_server(workdir):
    project = generate(workdir, "minilm", "--model-id", "sentence-transformers/all-MiniLM-L6-v2", "--task", "embedding")
    python = project_venv(project)
    env = {"MCC_MODEL_ID": str(minilm_directory()), "HF_HUB_OFFLINE": "1"}
    with LocalServer(project, python=python, env=env, ready_timeout=180) as server:
        yield project, python, server


def test_ping_answers_200(chat_server):
    with urllib.request.urlopen(f"{chat_server[3].url}/ping", timeout=5) as answer:
        assert answer.status == 200


def test_a_chat_request_gets_the_models_own_greedy_completion(chat_server):
    _, model, _, server = chat_server
    status, content_type, body = post(server.url, json.dumps(CHAT).encode())
    assert (status, content_type) == (200, "application/json"), body
    answer = json.loads(body)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["role"] == "assistant"
    assert answer["choices"][0]["finish_reason"] in ("stop", "length")
    assert answer["usage"]["completion_tokens"] >= 1
    assert answer["choices"][0]["message"]["content"] == greedy_reference(model, CHAT["messages"], None, 12)


def test_a_completions_request_gets_the_models_own_greedy_text(chat_server):
    _, model, _, server = chat_server
    body = {"prompt": "hello world", "max_tokens": 10, "temperature": 0}
    status, _, raw = post(server.url, json.dumps(body).encode())
    assert status == 200, raw
    answer = json.loads(raw)
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"] == greedy_reference(model, None, "hello world", 10)


def test_a_streamed_chat_sends_events_that_add_up_to_the_completion(chat_server):
    server = chat_server[3]
    _, _, whole = post(server.url, json.dumps(CHAT).encode())
    status, content_type, raw = post(server.url, json.dumps({**CHAT, "stream": True}).encode())
    assert status == 200 and content_type.startswith("text/event-stream"), raw
    events = [line for line in raw.decode().splitlines() if line.startswith("data:")]
    assert len(events) >= 3  # role, at least one piece, the finish; then [DONE]
    assert json.loads(events[0][5:])["choices"][0]["delta"]["role"] == "assistant"
    assert check_stream(raw) == json.loads(whole)["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        json.dumps({"messages": [{"content": "no role"}]}).encode(),
        json.dumps({"messages": []}).encode(),
        json.dumps({**CHAT, "max_tokens": 0}).encode(),
        json.dumps({**CHAT, "temperature": "hot"}).encode(),
        json.dumps({**CHAT, "n": 3}).encode(),
        json.dumps({"input": ["an embedding request to a chat model"]}).encode(),
        json.dumps({"prompt": "word " * 400, "max_tokens": 4}).encode(),  # longer than --max-model-len 128
        json.dumps({"prompt": "word " * 400, "max_tokens": 4, "stream": True}).encode(),
        json.dumps({"something": "else"}).encode(),
    ],
)
def test_malformed_bodies_get_400_and_the_server_keeps_serving(chat_server, body):
    server = chat_server[3]
    status, content_type, raw = post(server.url, body)
    assert (status, content_type) == (400, "application/json"), raw
    assert json.loads(raw)["error"]["message"]
    assert post(server.url, json.dumps(CHAT).encode())[0] == 200


def test_do_test_sends_a_chat_and_a_streamed_chat(chat_server):
    project, _, python, server = chat_server
    result = run_script(project, "test", "--url", server.url, python=python)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "streamed" in result.stdout


def test_the_readmes_chat_and_completion_code_gets_the_models_text(chat_server):
    project, _, python, server = chat_server
    chat, completion = readme_snippets((project / "README.md").read_text())
    with runtime_forwarder(server.url) as forwarder:
        printed = [run_snippet(code, project, python, forwarder) for code in (chat, completion)]
    assert [p.returncode for p in printed] == [0, 0], [p.stderr for p in printed]
    for result, request in zip(printed, forwarder.requests, strict=True):
        assert request["path"] == "/endpoints/tiny-chat/invocations"
        status, _, direct = post(server.url, request["body"])  # the same bytes, straight to the server
        answer = json.loads(direct)
        text = answer["choices"][0].get("message", {}).get("content") or answer["choices"][0].get("text")
        assert status == 200 and result.stdout.rstrip("\n") == text
    assert "messages" in json.loads(forwarder.requests[0]["body"]) and "prompt" in json.loads(
        forwarder.requests[1]["body"]
    )


def test_the_readmes_embedding_code_prints_a_vector_size_per_text(embedding_server):
    project, python, server = embedding_server
    (code,) = readme_snippets((project / "README.md").read_text())
    with runtime_forwarder(server.url) as forwarder:
        result = run_snippet(code, project, python, forwarder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[384, 384]"


def test_embeddings_equal_the_in_process_ones(embedding_server):
    from sentence_transformers import SentenceTransformer

    server = embedding_server[2]
    status, _, raw = post(server.url, json.dumps({"input": TEXTS}).encode())
    assert status == 200, raw
    answer = json.loads(raw)
    assert [item["index"] for item in answer["data"]] == [0, 1]
    served = np.array([item["embedding"] for item in answer["data"]])
    expected = SentenceTransformer(str(minilm_directory()), device="cpu").encode(TEXTS)
    assert served.shape == (2, 384)
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert post(server.url, json.dumps(CHAT).encode())[0] == 400  # a chat body to an embedding model
    assert post(server.url, json.dumps({"input": []}).encode())[0] == 400
    assert post(server.url, json.dumps({"input": "one text"}).encode())[0] == 200


def test_the_generated_projects_pass_their_own_tests_and_static_checks(chat_server, embedding_server):
    for project, python in ((chat_server[0], chat_server[2]), (embedding_server[0], embedding_server[1])):
        assert [str(f) for f in check_project(project) if f.severity == "error"] == []
        result = own_tests(project, python)
        assert result.returncode == 0, result.stdout + result.stderr
