"""llama.cpp projects: the GGUF header read without loading weights, the three model sources (a local file built
into the image, a file in a Hub repo, a file in an S3 prefix), sizing from the GGUF's own shape and quantization,
refusals before anything is written, and the generated project's own tests and static checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from mcc.checks import check_project
from mcc.gguf_metadata import FILE_TYPES, GgufError, read_gguf
from mcc_runtime.llm.launch import engine_launch
from tests.support.gguf import write_tiny_llama
from tests.support.projects import own_tests, run_mcc_new, stderr_text


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


def mcc(tmp_path, *args: str) -> subprocess.CompletedProcess:
    engine = ("--framework", "transformers", "--engine", "llamacpp")
    return run_mcc_new(tmp_path / "out", *engine, *args, name="tiny-gguf")


def serving(project):
    return json.loads((project / "code" / "serving.json").read_text())


def test_the_gguf_header_gives_the_models_shape_as_llama_cpps_own_reader_does(tiny_gguf):
    import gguf

    model = read_gguf(tiny_gguf)
    reference = gguf.GGUFReader(str(tiny_gguf))
    assert model.parameters == sum(int(t.n_elements) for t in reference.tensors)
    assert (model.architecture, model.layers, model.kv_heads, model.head_dim) == ("llama", 2, 2, 16)
    assert (model.context_length, model.file_type, model.file_bytes) == (512, "F32", tiny_gguf.stat().st_size)
    assert model.kv_cache_bytes(512) == 2 * 2 * 2 * 16 * 512 * 2


def test_the_quantization_names_are_llama_cpps():
    import gguf

    names = {int(t): t.name.split("_", 1)[1] for t in gguf.LlamaFileType if t.name != "GUESSED"}
    assert names == FILE_TYPES


def test_a_file_that_is_not_gguf_or_is_cut_short_is_refused(tiny_gguf, tmp_path):
    (tmp_path / "weights.gguf").write_bytes(b"PK\x03\x04 not a gguf")
    (tmp_path / "short.gguf").write_bytes(tiny_gguf.read_bytes()[:200])
    for path, message in (("weights.gguf", "is not a GGUF file"), ("short.gguf", "cut short")):
        with pytest.raises(GgufError, match=message):
            read_gguf(tmp_path / path)


def test_a_local_gguf_is_built_into_the_image_and_served_with_its_own_context(tmp_path, tiny_gguf):
    result = mcc(tmp_path, "--gguf-file", str(tiny_gguf))
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out"
    assert (project / "model" / "tiny-llama.gguf").read_bytes() == tiny_gguf.read_bytes()
    generation = serving(project)["generation"]
    assert (generation["gguf_file"], generation["max_model_len"]) == ("tiny-llama.gguf", 512)
    launch = engine_launch(serving(project)["engine"], generation, {"MCC_MODEL_DIR": "/opt/ml/model"})
    assert launch.argv[:3] == ["python3", "-m", "mcc_runtime.llm.llamacpp_server"]
    assert launch.setting("--model") == "/opt/ml/model/tiny-llama.gguf"
    assert (launch.setting("--n_ctx"), launch.setting("--port"), launch.engine_port) == ("512", "8081", 8081)
    assert launch.setting("--interrupt_requests") == "false"  # concurrent requests queue, none is cut short
    dockerfile = (project / "Dockerfile").read_text()
    assert "FROM python:3.11.13-slim-bookworm AS wheels" in dockerfile
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels llama-cpp-python==0.3.36" in dockerfile
    assert "COPY model/ /opt/ml/model/" in dockerfile and "!model/" in (project / ".dockerignore").read_text()
    # the compilers stay in the builder stage: the served image starts from the slim base again
    served_stage = dockerfile.split("FROM python:3.11.13-slim-bookworm\n", 1)[1]
    assert "build-essential" not in served_stage and "COPY --from=wheels /wheels" in served_stage
    assert "llama-cpp-python==0.3.36" in (project / "requirements.txt").read_text().split()
    assert yaml.safe_load((project / "mcc.yaml").read_text())["generation"]["gguf_file"] == "model/tiny-llama.gguf"
    assert [str(f) for f in check_project(project, require_linters=True)] == []
    own = own_tests(project, sys.executable)
    assert own.returncode == 0 and " passed" in own.stdout, own.stdout[-3000:]


def test_on_a_gpu_instance_llama_cpp_is_compiled_for_cuda_and_offloads_every_layer(tmp_path, tiny_gguf):
    result = mcc(tmp_path, "--gguf-file", str(tiny_gguf), "--instance-type", "ml.g5.xlarge")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out"
    settings = serving(project)
    launch = engine_launch(settings["engine"], settings["generation"], {"MCC_MODEL_DIR": "/opt/ml/model"})
    assert launch.setting("--n_gpu_layers") == "-1" and launch.setting("--interrupt_requests") == "false"
    dockerfile = (project / "Dockerfile").read_text()
    builder, served_stage = dockerfile.split("FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04\n", 1)
    assert "FROM nvidia/cuda:12.8.1-devel-ubuntu24.04 AS wheels" in builder and "-DGGML_CUDA=ON" in builder
    assert "CMAKE_CUDA_ARCHITECTURES=75-real;80-real;86-real;89-real;90-real;100-real;120-real" in builder
    # the served stage: CUDA's runtime libraries from the base, Ubuntu's Python in a virtualenv, no compilers
    assert "build-essential" not in served_stage and "nvcc" not in served_stage
    assert "libgomp1=14.*" in served_stage and "python3-venv=3.12.*" in served_stage
    assert 'ENV PATH="/opt/venv/bin:$PATH"' in served_stage
    config = (project / "do" / "config").read_text()
    assert "IMAGE_CUDA=${IMAGE_CUDA:-12.8}" in config and "GPU_REQUIRED=${GPU_REQUIRED:-true}" in config
    assert [str(f) for f in check_project(project, require_linters=True)] == []
    own = own_tests(project, sys.executable)
    assert own.returncode == 0 and " passed" in own.stdout, own.stdout[-3000:]


def test_on_a_cpu_instance_the_image_gets_openmps_runtime_and_no_gpu_offload(tmp_path, tiny_gguf):
    result = mcc(tmp_path, "--gguf-file", str(tiny_gguf))
    assert result.returncode == 0, result.stderr
    settings = serving(tmp_path / "out")
    assert "--n_gpu_layers" not in settings["engine"]["fixed"]
    served_stage = (tmp_path / "out" / "Dockerfile").read_text().split("FROM python:3.11.13-slim-bookworm\n", 1)[1]
    assert "libgomp1=12.*" in served_stage


@pytest.mark.slow
def test_the_pinned_closure_installs_on_the_gpu_images_python_too(catalog):
    """The GPU image runs Ubuntu 24.04's Python 3.12 (glibc 2.39): pip resolves the same pins there."""
    from mcc.resolution import Target, resolve

    version = catalog.engines["llamacpp"].versions["0.3.36"]
    python = next(p.split("=")[1].rstrip(".*") for p in version.gpu_build.python_packages if p.startswith("python3="))
    wheels = tuple(pin for pin in version.requirements if pin.split("==")[0] not in {"llama-cpp-python"})
    assert set(resolve(wheels, Target(python, "2.39"))) == set(wheels)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (["--model-id", "acme/tiny-GGUF"], {"--hf_model_repo_id": "acme/tiny-GGUF", "--model": "tiny-q4_k_m.gguf"}),
        (["--model-s3-uri", "s3://models/tiny/"], {"--model": "/opt/ml/model/tiny-q4_k_m.gguf"}),
    ],
)
def test_a_gguf_in_a_hub_repo_or_an_s3_prefix_is_named_to_the_server(tmp_path, source, expected):
    result = mcc(tmp_path, *source, "--gguf-file", "tiny-q4_k_m.gguf", "--max-model-len", "2048")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out"
    assert not (project / "model").exists() and "COPY model/" not in (project / "Dockerfile").read_text()
    settings = serving(project)
    launch = engine_launch(settings["engine"], settings["generation"], {"MCC_MODEL_DIR": "/opt/ml/model"})
    assert {flag: launch.setting(flag) for flag in expected} == expected
    assert launch.setting("--n_ctx") == "2048"
    own = own_tests(project, sys.executable)
    assert own.returncode == 0 and " passed" in own.stdout, own.stdout[-3000:]


def test_sizing_counts_the_files_weights_and_the_kv_cache_of_its_context(tmp_path):
    huge_context = write_tiny_llama(tmp_path / "long.gguf", context=2**30)  # a 1G-token trained context
    refused = mcc(tmp_path, "--gguf-file", str(huge_context))
    assert refused.returncode == 2 and not (tmp_path / "out").exists()
    stderr = stderr_text(refused)
    assert "cannot hold" in stderr and "in F32" in stderr and "lower --max-model-len" in stderr
    kv_gib = 2 * 2 * 2 * 16 * 2**30 * 2 / 2**30
    assert f"KV cache {kv_gib:.1f} GiB" in stderr
    assert "Smallest CPU instances that hold it" in stderr and "Graviton" not in stderr  # amd64 images only
    on_gpu = stderr_text(mcc(tmp_path, "--gguf-file", str(huge_context), "--instance-type", "ml.g5.xlarge"))
    assert "1 of its 1x 24 GiB GPUs give 21.6 GiB" in on_gpu and "Cheapest that hold it" in on_gpu
    accepted = mcc(tmp_path, "--gguf-file", str(huge_context), "--max-model-len", "4096")
    assert accepted.returncode == 0, accepted.stderr
    assert serving(tmp_path / "out")["generation"]["max_model_len"] == 4096


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model-id", "acme/tiny-GGUF"], "required: the .gguf file"),
        (["--gguf-file", "missing.gguf"], "is not a file"),
        (["--model-id", "acme/tiny-GGUF", "--gguf-file", "/abs/tiny.gguf"], "must be a .gguf file's name in the repo"),
        (["--model-s3-uri", "s3://models/tiny/", "--gguf-file", "tiny.bin"], "in the prefix"),
        (["--gguf-file", "x.gguf", "--engine", "vllm", "--model-id", "acme/m"], "vllm does not serve GGUF (llamacpp"),
        (["--gguf-file", "x.gguf", "--quantization", "awq"], "llamacpp cannot serve quantization awq"),
        (["--gguf-file", "x.gguf", "--instance-type", "ml.c7g.xlarge"], "is a Graviton (arm64) instance type"),
    ],
)
def test_invalid_llamacpp_answers_are_refused_before_anything_is_written(tmp_path, args, message):
    result = mcc(tmp_path, *args)
    assert result.returncode == 2, result.stdout
    assert message in stderr_text(result)
    assert not (tmp_path / "out").exists()
