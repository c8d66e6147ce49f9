"""llama.cpp end to end on the CPU: a tiny random Llama written as GGUF → `mcc new --engine llamacpp --gguf-file` →
the pinned requirements installed (llama-cpp-python compiled from PyPI's source) → code/serve (nginx in front of
llama-cpp-python's server, with exactly the argv mcc writes) → /ping, chats equal to llama.cpp's own greedy
completion in-process, streaming, do/test, and bad requests answered 4xx while the server keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mcc.checks import check_project
from mcc_runtime.llm.smoke import check_stream
from mcc_runtime.local import LocalServer
from tests.support.gguf import write_tiny_llama
from tests.support.llm import post
from tests.support.projects import mcc_new, own_tests, readable_folder, run_script
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

CHAT = {"messages": [{"role": "user", "content": "hello world"}], "max_tokens": 12, "temperature": 0}
# llama.cpp in-process, with the request defaults its server applies (greedy, and its repeat penalty)
IN_PROCESS = """
import json, sys
from llama_cpp import Llama
from llama_cpp.server.types import CreateChatCompletionRequest
llm = Llama(model_path=sys.argv[1], n_ctx=int(sys.argv[2]), verbose=False)
penalty = CreateChatCompletionRequest.model_fields["repeat_penalty"].default
answer = llm.create_chat_completion(**json.loads(sys.argv[3]), repeat_penalty=penalty)
print(json.dumps(answer["choices"][0]["message"]["content"]))
"""


@pytest.fixture(scope="module")
def llamacpp_server():
    with readable_folder("mcc-llamacpp-") as parent:
        model = write_tiny_llama(parent / "tiny-llama.gguf")
        project = mcc_new(parent / "tiny-gguf", "tiny-gguf", "--framework", "transformers", "--engine", "llamacpp",
                          "--gguf-file", str(model))  # fmt: skip
        python = project_venv(project)
        # The launcher runs the engine's `python3`: the project's virtualenv, as the image's Python.
        env = {"PATH": f"{Path(python).parent}:{os.environ['PATH']}"}
        with LocalServer(project, python=python, env=env, ready_timeout=180) as server:
            yield project, python, server


def test_ping_answers_200_once_the_model_is_loaded(llamacpp_server):
    with urllib.request.urlopen(f"{llamacpp_server[2].url}/ping", timeout=5) as answer:
        assert answer.status == 200


def test_a_chat_gets_llama_cpps_own_greedy_completion(llamacpp_server):
    project, python, server = llamacpp_server
    status, content_type, body = post(server.url, json.dumps(CHAT).encode())
    assert (status, content_type) == (200, "application/json"), body
    answer = json.loads(body)
    assert answer["object"] == "chat.completion" and answer["usage"]["completion_tokens"] >= 1
    model = project / "model" / "tiny-llama.gguf"
    reference = subprocess.run(
        [python, "-c", IN_PROCESS, str(model), "512", json.dumps(CHAT)], capture_output=True, text=True, check=True
    )
    assert answer["choices"][0]["message"]["content"] == json.loads(reference.stdout)


def test_a_streamed_chat_adds_up_to_the_completion(llamacpp_server):
    server = llamacpp_server[2]
    _, _, whole = post(server.url, json.dumps(CHAT).encode())
    status, content_type, raw = post(server.url, json.dumps({**CHAT, "stream": True}).encode())
    assert status == 200 and content_type.startswith("text/event-stream"), raw
    assert check_stream(raw) == json.loads(whole)["choices"][0]["message"]["content"]


def test_concurrent_streams_each_run_to_the_end(llamacpp_server):
    """llama-cpp-python cuts a stream short when another request arrives unless told not to (mcc tells it)."""
    server = llamacpp_server[2]
    long_chat = {**CHAT, "max_tokens": 48}
    _, _, whole = post(server.url, json.dumps(long_chat).encode())
    expected = json.loads(whole)["choices"][0]["message"]["content"]
    streamed = json.dumps({**long_chat, "stream": True}).encode()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(server.url, streamed), range(4)))
    assert [check_stream(raw) for _, _, raw in answers] == [expected] * 4


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        json.dumps({"messages": "not a list"}).encode(),
        json.dumps({**CHAT, "temperature": "hot"}).encode(),
        json.dumps({"messages": [{"role": "user", "content": "word " * 600}], "max_tokens": 4}).encode(),  # > n_ctx
    ],
)
def test_bad_requests_get_a_4xx_json_answer_and_the_server_keeps_serving(llamacpp_server, body):
    server = llamacpp_server[2]
    status, content_type, raw = post(server.url, body)
    assert 400 <= status < 500 and content_type == "application/json", (status, raw)
    assert json.loads(raw)
    assert post(server.url, json.dumps(CHAT).encode())[0] == 200


def test_do_test_sends_a_chat_and_a_streamed_chat(llamacpp_server):
    project, python, server = llamacpp_server
    result = run_script(project, "test", "--url", server.url, python=python)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "streamed" in result.stdout


def test_the_project_passes_its_own_tests_and_static_checks(llamacpp_server):
    project, python, _ = llamacpp_server
    assert [str(f) for f in check_project(project) if f.severity == "error"] == []
    result = own_tests(project, python)
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout + result.stderr


def test_do_benchmark_streams_chats_and_reports_time_to_first_token_and_tokens(llamacpp_server):
    project, python, server = llamacpp_server
    result = run_script(project, "benchmark", "--url", server.url, "--concurrency", "1,2", "--requests", "6",
                        python=python)  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "TTFT p50" in result.stdout and "tok/s" in result.stdout
    (saved,) = (project / "dist" / "benchmark").glob("*.json")
    run = json.loads(saved.read_text())
    assert run["chat"] is True
    for level in run["levels"]:
        assert level["errors"] == 0 and level["requests"] == 6
        assert 0 < level["ttft_p50_ms"] <= level["p50_ms"] and level["tokens_per_s"] > 0
        assert level["itl_p50_ms"] is not None


def test_the_gpu_projects_launcher_argv_is_taken_by_llama_cpp_and_answers_the_same(llamacpp_server):
    """The GPU project's argv (--n_gpu_layers -1 beside everything else) through real llama-cpp-python: this CPU
    build parses and serves it (with no GPU backend the layers stay on the CPU), answering as the CPU project."""
    project, python, server = llamacpp_server
    gpu_project = mcc_new(project.parent / "tiny-gguf-gpu", "tiny-gguf-gpu", "--framework", "transformers",
                          "--engine", "llamacpp", "--gguf-file", str(project / "model" / "tiny-llama.gguf"),
                          "--instance-type", "ml.g5.xlarge")  # fmt: skip
    fixed = json.loads((gpu_project / "code" / "serving.json").read_text())["engine"]["fixed"]
    assert fixed[-2:] == ["--n_gpu_layers", "-1"]
    # beside the CPU project's server: its engine on a port of its own
    env = {"PATH": f"{Path(python).parent}:{os.environ['PATH']}", "SAGEMAKER_SAFE_PORT_RANGE": "18181-18190"}
    with LocalServer(gpu_project, python=python, env=env, ready_timeout=180) as gpu_server:
        on_gpu_project = post(gpu_server.url, json.dumps(CHAT).encode())
    on_cpu_project = post(server.url, json.dumps(CHAT).encode())
    assert on_gpu_project[0] == 200, on_gpu_project
    answer = json.loads(on_gpu_project[2])["choices"][0]["message"]["content"]
    assert answer == json.loads(on_cpu_project[2])["choices"][0]["message"]["content"]


# In every Debian/Ubuntu base already (the C and C++ runtimes); anything else llama.cpp links needs its package.
BASE_LIBRARIES = (
    "linux-vdso",
    "ld-linux",
    "libc.so",
    "libm.so",
    "libstdc++.so",
    "libgcc_s.so",
    "libpthread",
    "libdl.so",
)
PACKAGE_OF = {"libgomp.so.1": "libgomp1"}  # OpenMP's runtime (llama.cpp's CPU backend)


def test_every_system_library_llama_cpp_links_is_installed_in_the_served_image(llamacpp_server):
    project, python, _ = llamacpp_server
    libraries = list(Path(python).parent.parent.glob("lib/python3*/site-packages/llama_cpp/lib/*.so"))
    assert libraries
    needed = set()
    for library in libraries:
        for line in subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=True).stdout.split(
            "\n"
        ):
            name = Path(line.split()[0]).name if line.split() else ""
            if name and "site-packages" not in line and not name.startswith(BASE_LIBRARIES):
                needed.add(name)
    served_stage = (project / "Dockerfile").read_text().split("FROM python:3.11.13-slim-bookworm\n", 1)[1]
    installed = served_stage.split("apt-get install", 1)[1].split("&&", 1)[0]
    assert needed and all(f" {PACKAGE_OF.get(name, name)}=" in installed for name in needed), (needed, installed)
