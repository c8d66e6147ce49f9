"""Generative projects: sizing, validation before anything is written, and every engine's generated files."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from mcc import sizing
from mcc.checks import check_project
from mcc_runtime import nginx
from mcc_runtime.llm import secrets
from mcc_runtime.llm.launch import engine_launch
from mcc_runtime.serving_file import ServingFile
from tests.support import crd
from tests.support.projects import own_tests

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
GPU_ENGINES = ("vllm", "sglang", "trtllm", "djl-lmi", "djl")
TOKEN = "hf_mccTestTokenValue0123456789abcdefXYZ"


@pytest.mark.parametrize(
    ("params", "dtype", "quantization", "model", "max_len", "instance", "gpus", "fits"),
    [
        ("8B", "float16", "none", LLAMA_8B, None, "ml.g5.xlarge", 1, False),  # 128k context: KV cache too big
        ("8B", "float16", "none", LLAMA_8B, None, "ml.g5.12xlarge", 4, True),  # tensor parallel 4
        ("8B", "float16", "none", LLAMA_8B, 8192, "ml.g5.xlarge", 1, True),  # a shorter context fits one GPU
        ("8B", "float16", "none", None, None, "ml.g4dn.xlarge", 1, False),  # 14.9 GiB of weights on 16 GiB
        ("8B", "float16", "awq", None, None, "ml.g4dn.xlarge", 1, True),  # 4-bit weights
        ("70B", "bfloat16", "none", "meta-llama/Llama-3.1-70B-Instruct", 8192, "ml.g5.48xlarge", 8, True),
        ("70B", "bfloat16", "none", "meta-llama/Llama-3.1-70B-Instruct", 8192, "ml.g5.12xlarge", 4, False),
        ("70B", "float32", "none", None, None, "ml.p4de.24xlarge", 8, True),
        ("7B", "float16", "fp8", None, None, "ml.g6.xlarge", 1, True),
    ],
)
def test_sizing_table(catalog, params, dtype, quantization, model, max_len, instance, gpus, fits):
    known = catalog.llm_models.get(model) if model else None
    need = sizing.estimate(sizing.parse_params(params), dtype, quantization, known, max_len)
    assert sizing.fits(need, catalog.instance_types[instance], gpus, 0.9) is fits


def test_parameter_counts_parse():
    assert sizing.parse_params("7B") == 7.0
    assert sizing.parse_params("1.5b") == 1.5
    assert sizing.parse_params("500M") == 0.5
    assert sizing.parse_params(13) == 13.0
    for bad in ("seven", "-1B", "0", "7T"):
        with pytest.raises(ValueError):
            sizing.parse_params(bad)


def test_cheapest_instances_that_hold_the_model_come_first(catalog):
    need = sizing.estimate(70.6, "bfloat16", "none", catalog.llm_models["meta-llama/Llama-3.1-70B-Instruct"], 8192)
    offered = sizing.cheapest_fitting(catalog, need, 0.9)
    prices = [t.usd_per_hour for t in offered]
    assert prices == sorted(prices) and offered
    assert all(sizing.fits(need, t, t.gpus, 0.9) for t in offered)


def mcc(tmp_path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "llm", "--framework", "transformers",
         "--output-dir", str(tmp_path / "out"), *args],
        capture_output=True, text=True, env=env,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model-id", LLAMA_8B, "--instance-type", "ml.g5.xlarge"], "Cheapest that hold it: ml.g6e.xlarge"),
        (["--model-id", LLAMA_8B, "--instance-type", "ml.m5.large"], "has no GPU; vllm runs on GPUs"),
        (["--model-id", LLAMA_8B, "--deploy-mode", "serverless"], "serverless endpoints have no GPUs"),
        (["--model-id", LLAMA_8B, "--deploy-mode", "batch"], "generative projects deploy as"),
        (["--model-id", "acme/unknown-model", "--instance-type", "ml.g5.xlarge"], "give --model-params"),
        (["--model-id", LLAMA_8B, "--engine", "trtllm", "--quantization", "awq"], "trtllm cannot serve quantization"),
        (["--model-id", LLAMA_8B, "--engine", "trtllm", "--enable-lora"], "trtllm has no such option"),
        (["--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge", "--tensor-parallel-degree", "8"], "has 4 GPU"),
        (["--model-id", LLAMA_8B, "--model-s3-uri", "s3://b/p/"], "give one model source"),
        (["--model-id", "not a/valid id!"], "is not a Hugging Face Hub model id"),
        (["--model-s3-uri", "https://example/x"], "is not an S3 prefix"),
        (["--model-id", LLAMA_8B, "--hf-token-secret-arn", "hf_abc"], "is not a Secrets Manager secret ARN"),
        (["--model-id", LLAMA_8B, "--task", "embedding"], "vllm serves chat here"),
        (["--model-id", LLAMA_8B, "--dtype", "int3"], "is not a dtype"),
        (["--model-id", LLAMA_8B, "--model-file", "x.joblib"], "generative models come from --model-id"),
        ([], "model_id: required"),
        (
            ["--model-id", LLAMA_8B, "--engine", "djl-lmi", "--region", "eu-central-2"],
            "AWS publishes no deep learning container images (the djl-lmi image) in Europe (Zurich)",
        ),
        (
            ["--model-id", LLAMA_8B, "--engine", "djl", "--instance-type", "ml.g5.2xlarge"],
            "or transformers, which take --max-model-len (djl does not)",
        ),
        (
            ["--model-id", LLAMA_8B, "--engine-arg", "enable-prefix-cache"],
            "--enable-prefix-cache is not an option of vllm 0.32.0; did you mean '--enable-prefix-caching'",
        ),
        (["--model-id", LLAMA_8B, "--quantization", "bitsandbytes"], "vllm cannot serve quantization bitsandbytes"),
        (["--model-id", LLAMA_8B, "--max-lora-rank", "64"], "sizes LoRA serving: give --enable-lora too"),
        (["--model-id", LLAMA_8B, "--engine", "trtllm", "--enable-lora", "--max-loras", "2"], "no such option"),
    ],
)
def test_invalid_generative_answers_are_refused_before_anything_is_written(tmp_path, args, message):
    result = mcc(tmp_path, *args)
    assert result.returncode == 2, result.stdout
    assert message in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("region", "registry"),
    [
        ("us-east-1", "763104351884.dkr.ecr.us-east-1.amazonaws.com"),
        ("af-south-1", "626614931356.dkr.ecr.af-south-1.amazonaws.com"),
        ("ap-east-1", "871362719292.dkr.ecr.ap-east-1.amazonaws.com"),
        ("eu-south-1", "692866216735.dkr.ecr.eu-south-1.amazonaws.com"),
        ("cn-north-1", "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_the_lmi_image_comes_from_the_regions_own_deep_learning_container_registry(tmp_path, region, registry):
    args = ("--engine", "djl-lmi", "--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge", "--region", region)
    result = mcc(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert f"FROM {registry}/djl-inference:0.36.0-lmi27.0.0-cu130-v1.1" in (tmp_path / "out" / "Dockerfile").read_text()


def test_engine_arguments_are_recorded_and_reach_the_engine(tmp_path):
    args = ("--model-id", LLAMA_8B, "--engine-arg", "--enable-prefix-caching", "--engine-arg", "seed=7")
    result = mcc(tmp_path, *args, env={**os.environ, "MCC_ENGINE_ARGS": "ignored=1"})  # flags win over env
    assert result.returncode == 0, result.stderr
    record = yaml.safe_load((tmp_path / "out" / "mcc.yaml").read_text())
    assert record["generation"]["engine_args"] == ["enable-prefix-caching", "seed=7"]
    served = ServingFile.read(tmp_path / "out" / "code")
    assert served.generation["engine_args"] == ["enable-prefix-caching", "seed=7"]
    env = {**os.environ, "MCC_ENGINE_ARGS": "seed=1\nenable-chunked-prefill"}
    from_env = mcc(tmp_path / "env", "--model-id", LLAMA_8B, env=env)
    assert from_env.returncode == 0, from_env.stderr
    assert "- enable-chunked-prefill" in (tmp_path / "env" / "out" / "mcc.yaml").read_text()


def test_an_engine_version_without_a_recorded_option_list_takes_any_engine_argument(tmp_path):
    args = ("--model-id", LLAMA_8B, "--engine-version", "0.19.1", "--engine-arg", "some-future-flag=1")
    result = mcc(tmp_path, *args, "--quantization", "bitsandbytes")  # still in vLLM 0.19.1's tree
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("quantization", "passed"), [("awq", None), ("gptq", None), ("fp8", "fp8")])
def test_vllm_reads_awq_and_gptq_from_the_checkpoint_so_its_fast_kernels_stay_on(tmp_path, quantization, passed):
    result = mcc(tmp_path, "--model-id", LLAMA_8B, "--quantization", quantization)
    assert result.returncode == 0, result.stderr
    served = ServingFile.read(tmp_path / "out" / "code")
    launch = engine_launch(served.engine, served.generation, {"SM_NUM_GPUS": "1"})
    assert launch.setting("--quantization") == passed


def test_engine_answers_are_refused_for_predictive_frameworks(tmp_path, wine_model_file):
    result = subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "p", "--model-file", str(wine_model_file),
         "--engine", "vllm", "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and "is for generative frameworks only" in result.stderr


def test_a_gpu_engine_defaults_to_the_cheapest_instance_that_holds_the_model(tmp_path):
    result = mcc(tmp_path, "--model-id", LLAMA_8B, "--max-model-len", "8192")
    assert result.returncode == 0, result.stderr
    assert "instance_type: ml.g6.xlarge" in (tmp_path / "out" / "mcc.yaml").read_text()


@pytest.fixture(scope="module", params=GPU_ENGINES)
def engine_project(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(request.param)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
    env = {"PATH": "/usr/bin:/bin", "HF_TOKEN": TOKEN, "HUGGING_FACE_HUB_TOKEN": TOKEN}
    result = mcc(
        tmp_path, "--engine", request.param, "--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge",
        "--hf-token-secret-arn", arn, "--quantization", "none", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return request.param, tmp_path / "out"


def test_every_engine_projects_serving_json_reads_back_as_the_runtimes_typed_file(engine_project):
    _, project = engine_project
    served = ServingFile.read(project / "code")
    assert served.kind == "generative" and served.engine["name"] and served.generation["served_model_name"]


def test_every_engine_project_passes_its_own_tests(engine_project):
    _, project = engine_project
    result = own_tests(project, sys.executable)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_every_engine_project_passes_the_static_checks(engine_project):
    name, project = engine_project
    assert [str(f) for f in check_project(project, require_linters=True)] == []
    dockerfile = (project / "Dockerfile").read_text()
    assert "\nFROM " in dockerfile and ":latest" not in dockerfile
    assert ("LABEL com.mcc.runs-as-root" in dockerfile) == (name == "djl-lmi")
    assert ("ENV MCC_RUN_AS_USER=djl" in dockerfile) == (name == "djl")


def test_no_generated_file_holds_the_token(engine_project):
    _, project = engine_project
    for path in project.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    policy = (project / "iam" / "sagemaker-execution-policy.json").read_text()
    assert "secretsmanager:GetSecretValue" in policy and "hf-token-AbCdEf" in policy


def test_proxied_engines_get_an_nginx_config_nginx_accepts(engine_project, tmp_path):
    name, project = engine_project
    has_nginx = (project / "nginx.conf").exists()
    assert has_nginx == (name == "trtllm")
    if not has_nginx:
        return
    template = (project / "nginx.conf").read_text()
    assert "proxy_pass http://engine/health;" in template
    assert "proxy_pass http://engine/v1/chat/completions;" in template
    assert "proxy_pass http://engine/metrics;" in template  # trtllm-serve's Prometheus metrics
    values = {"PORT": "8080", "LISTEN": "127.0.0.1:8080", "ENGINE_PORT": "8081", "RUN_DIR": str(tmp_path),
              "USER_DIRECTIVE": "", "MAX_BODY_BYTES": "6291456", "MAX_BODY_MB": "6", "TIMEOUT_S": "60",
              "ACCESS_LOG": "off"}  # fmt: skip
    (tmp_path / "nginx.conf").write_text(nginx.render(template, values))
    result = subprocess.run(
        [nginx.find_nginx(), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", "stderr"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_project_pins_sm_num_gpus_and_a_startup_budget(engine_project):
    _, project = engine_project
    config = (project / "do" / "config").read_text()
    assert "GPU_COUNT=${GPU_COUNT:-4}" in config
    assert "STARTUP_TIMEOUT_S=${STARTUP_TIMEOUT_S:-899}" in config  # 600 s + 20 s per GiB of weights


def test_secret_token_forms():
    assert secrets.token_from("hf_abc\n", "arn") == "hf_abc"
    assert secrets.token_from('{"HF_TOKEN": "hf_x"}', "arn") == "hf_x"
    with pytest.raises(secrets.SecretError):
        secrets.token_from('{"other": 1}', "arn")
    assert secrets.token_environment("arn:x", {"HF_TOKEN": "set"}) == {}
    assert secrets.token_environment("", {}) == {}


@pytest.mark.parametrize(
    ("engine", "model", "task", "refused_with"),
    [
        ("trtllm", "google/gemma-2-9b-it", "chat", "engines that do: vllm, sglang, djl-lmi, djl"),
        ("vllm", "google/gemma-2-9b-it", "chat", None),
        ("vllm", "sentence-transformers/all-MiniLM-L6-v2", "chat", "does not serve BertModel"),
        ("djl", "sentence-transformers/all-MiniLM-L6-v2", "embedding", None),
        ("djl-lmi", "mistralai/Mixtral-8x7B-Instruct-v0.1", "chat", None),
        ("sglang", "microsoft/Phi-3-mini-4k-instruct", "chat", None),
    ],
)
def test_a_model_architecture_the_engine_lacks_is_refused_with_the_engines_that_serve_it(
    tmp_path, engine, model, task, refused_with
):
    result = mcc(
        tmp_path, "--engine", engine, "--model-id", model, "--task", task, "--instance-type", "ml.p4de.24xlarge"
    )
    if refused_with is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2 and refused_with in " ".join(result.stderr.split()), result.stderr


@pytest.mark.parametrize(("instance", "ok"), [("ml.g4dn.12xlarge", False), ("ml.g5.12xlarge", True)])
def test_bfloat16_needs_an_ampere_or_newer_gpu(tmp_path, instance, ok):
    result = mcc(tmp_path, "--model-id", LLAMA_8B, "--dtype", "bfloat16", "--max-model-len", "8192",
                 "--instance-type", instance)  # fmt: skip
    assert (result.returncode == 0) is ok, result.stderr
    if not ok:
        assert "T4 GPUs (ml.g4dn.12xlarge) have no bfloat16" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("engine", "cuda", "ami", "startup"),
    [
        ("vllm", "13.0", "al2023-ami-sagemaker-inference-gpu-4-1", 899),
        ("sglang", "13.0", "al2023-ami-sagemaker-inference-gpu-4-1", 899),
        ("trtllm", "13.0", "al2023-ami-sagemaker-inference-gpu-4-1", 899),
        ("djl-lmi", "13.0", "al2023-ami-sagemaker-inference-gpu-4-1", 899),
        ("djl", "12.4", "al2-ami-sagemaker-inference-gpu-3-1", 899),
        ("transformers", "12.8", "al2023-ami-sagemaker-inference-gpu-4-1", 899),
    ],
)
def test_each_engine_gets_the_ami_its_cuda_needs_and_a_startup_budget(tmp_path, engine, cuda, ami, startup):
    result = mcc(tmp_path, "--engine", engine, "--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "out" / "do" / "config").read_text()
    assert f"IMAGE_CUDA=${{IMAGE_CUDA:-{cuda}}}" in config
    assert f"INFERENCE_AMI_VERSION=${{INFERENCE_AMI_VERSION:-{ami}}}" in config
    assert f"STARTUP_TIMEOUT_S=${{STARTUP_TIMEOUT_S:-{startup}}}" in config


@pytest.mark.parametrize(
    ("engine", "refused_with"),
    [
        ("vllm", None),
        ("djl-lmi", None),
        ("djl", "its image is built for CUDA 12.4; RTX PRO 6000 Blackwell GPUs (ml.g7e.2xlarge) need CUDA 12.8"),
    ],
)
def test_blackwell_gpus_take_only_engine_images_built_for_cuda_12_8_or_newer(tmp_path, engine, refused_with):
    result = mcc(tmp_path, "--engine", engine, "--model-id", LLAMA_8B, "--instance-type", "ml.g7e.2xlarge")
    if refused_with is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2 and refused_with in " ".join(result.stderr.split()), result.stderr


MINILM = ("--model-id", "sentence-transformers/all-MiniLM-L6-v2", "--task", "embedding")


@pytest.mark.parametrize(
    ("engine", "version", "flags", "image"),
    [
        ("djl-lmi", "0.36.0-lmi20.0.0", ("--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"),
         "djl-inference:0.36.0-lmi20.0.0-cu128"),
        ("djl", "0.35.0", ("--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"),
         "FROM deepjavalibrary/djl-serving:0.35.0-pytorch-gpu"),
        ("djl", "0.35.0", (*MINILM, "--instance-type", "ml.m5.xlarge"),
         "FROM deepjavalibrary/djl-serving:0.35.0-cpu-full"),
    ],
)  # fmt: skip
def test_an_older_engine_version_builds_on_its_own_image(tmp_path, engine, version, flags, image):
    result = mcc(tmp_path, "--engine", engine, "--engine-version", version, *flags)
    assert result.returncode == 0, result.stderr
    assert image in (tmp_path / "out" / "Dockerfile").read_text()


def test_an_engine_image_no_sagemaker_ami_can_run_is_refused(catalog, tmp_path):
    from mcc.defaults import with_defaults
    from mcc.errors import InvalidAnswers
    from mcc.sources import Given
    from mcc.spec_check import build_spec

    vllm = catalog.engines["vllm"]
    future = vllm.versions[vllm.default_version].model_copy(update={"cuda": "13.2"})
    versions = {**vllm.versions, vllm.default_version: future}
    engines = {**catalog.engines, "vllm": vllm.model_copy(update={"versions": versions})}
    patched = catalog.model_copy(update={"engines": engines})
    answers = {
        "project_name": Given("llm", "flag"),
        "framework": Given("transformers", "flag"),
        "model_id": Given(LLAMA_8B, "flag"),
        "instance_type": Given("ml.p4de.24xlarge", "flag"),
        "output_dir": Given(str(tmp_path / "out"), "flag"),
    }
    with pytest.raises(InvalidAnswers, match=r"needs CUDA 13\.2; the newest SageMaker inference AMI"):
        build_spec(with_defaults(answers, patched, {}), patched)


def test_djl_serving_on_a_cpu_instance_uses_its_cpu_image(tmp_path):
    result = mcc(tmp_path, "--engine", "djl", "--model-id", "sentence-transformers/all-MiniLM-L6-v2",
                 "--task", "embedding", "--instance-type", "ml.m5.xlarge")  # fmt: skip
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out"
    assert check_project(project, require_linters=True) == []
    dockerfile = (project / "Dockerfile").read_text()
    assert "FROM deepjavalibrary/djl-serving:0.36.0-cpu-full\n" in dockerfile and "NVIDIA" not in dockerfile
    config = (project / "do" / "config").read_text()
    assert "INFERENCE_AMI_VERSION=${INFERENCE_AMI_VERSION:-''}" in config and "GPU_COUNT=${GPU_COUNT:-0}" in config


def test_a_gated_model_or_any_model_id_without_a_token_source_is_warned_about_naming_the_flag(tmp_path):
    gated = mcc(tmp_path, "--model-id", LLAMA_8B)
    assert gated.returncode == 0, gated.stderr
    text = " ".join(gated.stdout.split())
    assert f"warning: {LLAMA_8B} is gated on the Hugging Face Hub: without a token the endpoint cannot download it; " \
           "pass --hf-token-secret-arn ARN" in text  # fmt: skip
    other = mcc(tmp_path / "2", "--model-id", "Qwen/Qwen2.5-0.5B-Instruct")
    assert "warning: no Hugging Face token is given for Qwen/Qwen2.5-0.5B-Instruct" in " ".join(other.stdout.split())
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
    given = mcc(tmp_path / "3", "--model-id", LLAMA_8B, "--hf-token-secret-arn", arn)
    assert given.returncode == 0 and "--hf-token-secret-arn" not in given.stdout
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "A chat request (OpenAI messages):" in readme and "A completion (a prompt, no chat template):" in readme


@pytest.mark.parametrize("mode", ["realtime", "serverless", "async", "inference-component", "batch"])
def test_the_readme_calls_the_endpoint_as_the_deploy_mode_takes_requests(tmp_path, wine_model_file,
                                                                         wine_payload_file, mode):  # fmt: skip
    from tests.support.client_snippets import SECTION, readme_snippets

    project = tmp_path / "wine"
    result = subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "wine", "--model-file", str(wine_model_file),
         "--sample-payload", str(wine_payload_file), "--deploy-mode", mode, "--output-dir", str(project)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    readme = (project / "README.md").read_text()
    if mode == "batch":  # no endpoint to call: do/deploy runs the transform job
        assert SECTION not in readme
        return
    (code,) = readme_snippets(readme)
    compile(code, "README.md", "exec")
    assert 'EndpointName="wine"' in code and 'region_name="us-east-1"' in code
    assert ('InferenceComponentName="wine"' in code) == (mode == "inference-component")
    assert ("invoke_endpoint_async(" in code) == (mode == "async")


HYPERPOD_ENGINES = {
    "vllm": ["--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"],
    "sglang": ["--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"],
    "trtllm": ["--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"],
    "djl-lmi": ["--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"],
    "djl": ["--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge"],
    "vllm-neuron": ["--model-id", LLAMA_8B],
    "lmi-neuron": ["--model-id", LLAMA_8B],
    "llamacpp": ["--model-s3-uri", "s3://models/tiny/", "--gguf-file", "tiny-q4_k_m.gguf", "--max-model-len", "2048"],
    "transformers": ["--model-id", "sentence-transformers/all-MiniLM-L6-v2", "--task", "embedding",
                     "--instance-type", "ml.m5.xlarge"],
}  # fmt: skip


@pytest.mark.parametrize("engine", sorted(HYPERPOD_ENGINES))
def test_every_engine_writes_a_hyperpod_manifest_the_operators_schema_takes(tmp_path, catalog, engine):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
    hyperpod = ("--deploy-mode", "hyperpod", "--hyperpod-cluster", "ml-cluster", "--k8s-namespace", "llm-team")
    result = mcc(tmp_path, "--engine", engine, *HYPERPOD_ENGINES[engine], *hyperpod, "--hf-token-secret-arn", arn)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out"
    document = yaml.safe_load((project / "k8s" / "inference-endpoint-config.yaml").read_text())
    assert crd.errors(document) == []
    spec, recorded = document["spec"], yaml.safe_load((project / "mcc.yaml").read_text())["deployment"]
    instance = catalog.instance(recorded["instance_type"])
    assert spec["instanceType"] == instance.name and document["metadata"]["namespace"] == "llm-team"
    limits = spec["worker"]["resources"]["limits"]
    assert limits.get("nvidia.com/gpu") == (str(instance.gpus) if instance.gpus else None)
    assert limits.get("aws.amazon.com/neuroncore") == (str(instance.neuron_cores) if instance.neuron_cores else None)
    startup = spec["worker"]["probes"]["startupProbe"]
    budget = int(shell_value(project / "do" / "config", "STARTUP_TIMEOUT_S") or 0) or 600
    assert startup["periodSeconds"] * startup["failureThreshold"] >= budget
    assert spec["metrics"]["enabled"] == bool(catalog.engines[engine].metrics)
    source = spec["modelSourceConfig"]
    if engine == "llamacpp":
        assert source["s3Storage"]["bucketName"] == "models" and source["modelLocation"] == "tiny"
    else:  # the engine downloads from the Hub with the token from the Secret do/deploy makes
        assert source["huggingFaceModel"]["tokenSecretRef"]["name"] == "llm-hf-token"
    assert "hf_" not in (project / "k8s" / "inference-endpoint-config.yaml").read_text().replace("hf-token", "")


def shell_value(config, name: str) -> str:
    """A do/config default: NAME=${NAME:-value}."""
    line = next(line for line in config.read_text().splitlines() if line.startswith(f"{name}="))
    return line.split(":-", 1)[1].split("}", 1)[0].strip("'\"")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deploy-mode", "hyperpod"], "hyperpod_cluster = '': must be given with --deploy-mode hyperpod"),
        (["--deploy-mode", "hyperpod", "--hyperpod-cluster", "ml_cluster!"], "is not a HyperPod cluster name"),
        (["--deploy-mode", "hyperpod", "--hyperpod-cluster", "c1", "--k8s-namespace", "Team_A"],
         "is not a Kubernetes namespace"),
        (["--hyperpod-cluster", "c1"], "hyperpod_cluster = 'c1' (from flag --hyperpod-cluster): is for --deploy-mode"),
    ],
)  # fmt: skip
def test_hyperpod_answers_are_refused_before_anything_is_written(tmp_path, args, message):
    result = mcc(tmp_path, "--model-id", LLAMA_8B, "--instance-type", "ml.g5.12xlarge", *args)
    assert result.returncode == 2, result.stdout
    assert message in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "out").exists()
