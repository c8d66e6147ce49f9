"""The exact engine command line code/serve builds, per engine, for the SageMaker environments it meets."""

from __future__ import annotations

import pytest

from mcc.catalog import load_catalog
from mcc_runtime.llm.launch import LaunchError, engine_launch

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
BASE = {
    "model_id": MODEL,
    "model_s3_uri": "",
    "served_model_name": MODEL,
    "dtype": "auto",
    "quantization": "none",
    "max_model_len": 8192,
    "gpu_memory_utilization": 0.9,
    "tensor_parallel_degree": None,
    "max_concurrent_sequences": 64,
    "enable_lora": False,
    "trust_remote_code": False,
}
ONE_GPU = {"SM_NUM_GPUS": "1"}
FOUR_GPUS = {"SM_NUM_GPUS": "4", "SAGEMAKER_BIND_TO_PORT": "8080"}
QUANTIZED = {**BASE, "quantization": "awq", "dtype": "float16"}
LORA = {**BASE, "enable_lora": True, "trust_remote_code": True}


def engine(name: str) -> dict:
    return load_catalog().engines[name].model_dump(mode="json")


COMMON_VLLM = [
    "--host", "0.0.0.0", "--port", "8080", "--served-model-name", MODEL,
]  # fmt: skip

CASES = {
    ("vllm", "1 GPU"): (BASE, ONE_GPU, [
        "vllm", "serve", MODEL, *COMMON_VLLM, "--tensor-parallel-size", "1", "--max-model-len", "8192",
        "--gpu-memory-utilization", "0.9", "--max-num-seqs", "64",
    ]),
    ("vllm", "4 GPUs"): (BASE, FOUR_GPUS, [
        "vllm", "serve", MODEL, *COMMON_VLLM, "--tensor-parallel-size", "4", "--max-model-len", "8192",
        "--gpu-memory-utilization", "0.9", "--max-num-seqs", "64",
    ]),
    ("vllm", "quantized"): (QUANTIZED, ONE_GPU, [  # AWQ: vLLM reads it from the checkpoint (Marlin kernels stay on)
        "vllm", "serve", MODEL, *COMMON_VLLM, "--tensor-parallel-size", "1", "--max-model-len", "8192",
        "--dtype", "float16", "--gpu-memory-utilization", "0.9", "--max-num-seqs", "64",
    ]),
    ("vllm", "LoRA"): (LORA, FOUR_GPUS, [
        "vllm", "serve", MODEL, *COMMON_VLLM, "--tensor-parallel-size", "4", "--max-model-len", "8192",
        "--gpu-memory-utilization", "0.9", "--max-num-seqs", "64", "--enable-lora", "--trust-remote-code",
    ]),
    ("sglang", "1 GPU"): (BASE, ONE_GPU, [
        "python3", "-m", "sglang.launch_server", "--model-path", MODEL, "--host", "0.0.0.0", "--port", "8080",
        "--served-model-name", MODEL, "--tp-size", "1", "--context-length", "8192", "--mem-fraction-static", "0.9",
        "--max-running-requests", "64", "--enable-metrics",
    ]),
    ("sglang", "4 GPUs"): (BASE, FOUR_GPUS, [
        "python3", "-m", "sglang.launch_server", "--model-path", MODEL, "--host", "0.0.0.0", "--port", "8080",
        "--served-model-name", MODEL, "--tp-size", "4", "--context-length", "8192", "--mem-fraction-static", "0.9",
        "--max-running-requests", "64", "--enable-metrics",
    ]),
    ("sglang", "quantized"): (QUANTIZED, ONE_GPU, [
        "python3", "-m", "sglang.launch_server", "--model-path", MODEL, "--host", "0.0.0.0", "--port", "8080",
        "--served-model-name", MODEL, "--tp-size", "1", "--context-length", "8192", "--dtype", "float16",
        "--quantization", "awq", "--mem-fraction-static", "0.9", "--max-running-requests", "64", "--enable-metrics",
    ]),
    ("sglang", "LoRA"): (LORA, FOUR_GPUS, [
        "python3", "-m", "sglang.launch_server", "--model-path", MODEL, "--host", "0.0.0.0", "--port", "8080",
        "--served-model-name", MODEL, "--tp-size", "4", "--context-length", "8192", "--mem-fraction-static", "0.9",
        "--max-running-requests", "64", "--enable-lora", "--trust-remote-code", "--enable-metrics",
    ]),
    ("trtllm", "1 GPU"): (BASE, ONE_GPU, [
        "trtllm-serve", MODEL, "--host", "127.0.0.1", "--port", "8081", "--served_model_name", MODEL,
        "--tp_size", "1", "--max_seq_len", "8192", "--kv_cache_free_gpu_memory_fraction", "0.9",
        "--max_batch_size", "64", "--backend", "pytorch",
    ]),
    ("trtllm", "4 GPUs"): (BASE, {**FOUR_GPUS, "SAGEMAKER_SAFE_PORT_RANGE": "20000-20999"}, [
        "trtllm-serve", MODEL, "--host", "127.0.0.1", "--port", "20000", "--served_model_name", MODEL,
        "--tp_size", "4", "--max_seq_len", "8192", "--kv_cache_free_gpu_memory_fraction", "0.9",
        "--max_batch_size", "64", "--backend", "pytorch",
    ]),
    ("trtllm", "bfloat16"): ({**BASE, "dtype": "bfloat16", "trust_remote_code": True}, ONE_GPU, [
        "trtllm-serve", MODEL, "--host", "127.0.0.1", "--port", "8081", "--served_model_name", MODEL,
        "--tp_size", "1", "--max_seq_len", "8192", "--kv_cache_free_gpu_memory_fraction", "0.9",
        "--max_batch_size", "64", "--trust_remote_code", "--backend", "pytorch",
        "--extra_llm_api_options", "engine-options.yaml",
    ]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES), ids=lambda c: f"{c[0]}-{c[1]}")
def test_argv_engines_get_exactly_this_command_line(case):
    generation, environ, expected = CASES[case]
    assert engine_launch(engine(case[0]), generation, environ).argv == expected


def test_tensorrt_llm_takes_its_dtype_from_an_options_file_behind_nginx():
    launch = engine_launch(engine("trtllm"), {**BASE, "dtype": "bfloat16"}, FOUR_GPUS)
    assert launch.files == {"engine-options.yaml": 'dtype: "bfloat16"\n'}
    assert (launch.port, launch.engine_port) == (8080, 8081)


LMI_FIXED = {
    "OPTION_ROLLING_BATCH": "vllm",
    "OPTION_ASYNC_MODE": "true",
    "OPTION_ENTRYPOINT": "djl_python.lmi_vllm.vllm_async_service",
}


@pytest.mark.parametrize(
    ("generation", "environ", "expected"),
    [
        (BASE, ONE_GPU, {"OPTION_TENSOR_PARALLEL_DEGREE": "1"}),
        (BASE, FOUR_GPUS, {"OPTION_TENSOR_PARALLEL_DEGREE": "4"}),
        (QUANTIZED, ONE_GPU, {"OPTION_TENSOR_PARALLEL_DEGREE": "1", "OPTION_DTYPE": "fp16", "OPTION_QUANTIZE": "awq"}),
        (LORA, FOUR_GPUS, {"OPTION_TENSOR_PARALLEL_DEGREE": "4", "OPTION_ENABLE_LORA": "true",
                           "OPTION_TRUST_REMOTE_CODE": "true"}),
    ],
    ids=["1 GPU", "4 GPUs", "quantized", "LoRA"],
)  # fmt: skip
def test_djl_lmi_is_configured_through_exactly_these_variables(generation, environ, expected):
    launch = engine_launch(engine("djl-lmi"), generation, environ)
    assert launch.argv == ["/usr/local/bin/dockerd-entrypoint.sh", "serve"]
    assert launch.env == {
        "HF_MODEL_ID": MODEL,
        "OPTION_SERVED_MODEL_NAME": MODEL,
        "OPTION_MAX_MODEL_LEN": "8192",
        "OPTION_GPU_MEMORY_UTILIZATION": "0.9",
        "OPTION_MAX_ROLLING_BATCH_SIZE": "64",
        **LMI_FIXED,
        **expected,
    }


def test_a_pinned_degree_beats_sm_num_gpus_and_mcc_overrides_beat_both():
    pinned = {**BASE, "tensor_parallel_degree": 2}
    argv = engine_launch(engine("vllm"), pinned, FOUR_GPUS).argv
    assert argv[argv.index("--tensor-parallel-size") + 1] == "2"
    argv = engine_launch(engine("vllm"), pinned, {**FOUR_GPUS, "MCC_TENSOR_PARALLEL_DEGREE": "4"}).argv
    assert argv[argv.index("--tensor-parallel-size") + 1] == "4"
    argv = engine_launch(engine("vllm"), BASE, {"MCC_MAX_MODEL_LEN": "4096", "MCC_ENABLE_LORA": "true"}).argv
    assert argv[argv.index("--max-model-len") + 1] == "4096" and "--enable-lora" in argv


def test_only_catalog_options_reach_the_engine_never_prefixed_variables():
    stray = {"VLLM_SOMETHING": "1", "SM_VLLM_MAX_MODEL_LEN": "9", "OPTION_FOO": "x", "MCC_FOO": "bar", **ONE_GPU}
    for name in ("vllm", "sglang", "trtllm", "djl-lmi", "djl"):
        launch = engine_launch(engine(name), BASE, stray)
        rendered = " ".join([*launch.argv, *launch.files.values(), *(f"{k}={v}" for k, v in launch.env.items())])
        assert "FOO" not in rendered and "SOMETHING" not in rendered and " 9" not in rendered


def test_an_s3_model_is_served_from_the_model_directory():
    s3 = {**BASE, "model_id": "", "model_s3_uri": "s3://bucket/llama/"}
    assert engine_launch(engine("vllm"), s3, ONE_GPU).argv[2] == "/opt/ml/model"
    assert engine_launch(engine("djl-lmi"), s3, {"MCC_MODEL_DIR": "/models"}).env["HF_MODEL_ID"] == "/models"


@pytest.mark.parametrize(
    "environ",
    [{"SM_NUM_GPUS": "zero"}, {"MCC_MAX_MODEL_LEN": "-5"}, {"MCC_GPU_MEMORY_UTILIZATION": "1.5"},
     {"MCC_ENABLE_LORA": "maybe"}, {"SAGEMAKER_BIND_TO_PORT": "http"}],
)  # fmt: skip
def test_bad_environment_values_are_refused_with_the_variable_named(environ):
    with pytest.raises(LaunchError, match=next(iter(environ))):
        engine_launch(engine("vllm"), BASE, environ)


def test_an_engine_refuses_a_quantization_it_cannot_serve_at_start():
    with pytest.raises(LaunchError, match="quantization"):
        engine_launch(engine("trtllm"), {**BASE, "quantization": "awq"}, ONE_GPU)


DJL_SERVER = "inference_address=http://0.0.0.0:{port}\nmanagement_address=http://0.0.0.0:{port}\n" \
    "model_store=@WORKDIR@/models\nload_models=ALL\n"  # fmt: skip


@pytest.mark.parametrize(
    ("generation", "environ", "port", "properties"),
    [
        (BASE, ONE_GPU, 8080, [f"option.model_id={MODEL}", "option.task=text-generation",
                               "option.tensor_parallel_degree=1", "engine=Python"]),
        ({**BASE, "dtype": "bfloat16", "batch_size": 8, "max_batch_delay_ms": 0, "trust_remote_code": True},
         {**FOUR_GPUS, "SAGEMAKER_BIND_TO_PORT": "9000"}, 9000,
         [f"option.model_id={MODEL}", "option.task=text-generation", "option.tensor_parallel_degree=4",
          "option.dtype=bf16", "batch_size=8", "max_batch_delay=0", "option.trust_remote_code=true",
          "engine=Python"]),
        ({**BASE, "model_id": "", "model_s3_uri": "s3://bucket/minilm/", "task": "embedding", "batch_size": 16,
          "max_batch_delay_ms": 20}, {}, 8080,
         ["option.model_id=/opt/ml/model", "option.task=feature-extraction", "option.tensor_parallel_degree=1",
          "batch_size=16", "max_batch_delay=20", "engine=Python"]),
    ],
    ids=["1 GPU", "4 GPUs, bfloat16, batching, port 9000", "CPU embeddings from S3"],
)  # fmt: skip
def test_djl_serving_gets_exactly_this_serving_properties(generation, environ, port, properties):
    launch = engine_launch(engine("djl"), generation, environ)
    assert launch.argv == ["/usr/local/bin/dockerd-entrypoint.sh", "serve", "-f", "@WORKDIR@/config.properties"]
    assert launch.files == {
        "config.properties": DJL_SERVER.format(port=port),
        "models/model/serving.properties": "".join(f"{line}\n" for line in properties),
    }
    assert launch.env == {}


def test_the_workdir_is_filled_in_when_the_files_are_written(tmp_path):
    from mcc_runtime.llm.launch import materialize

    argv = materialize(engine_launch(engine("djl"), BASE, ONE_GPU), tmp_path)
    assert argv[-1] == f"{tmp_path}/config.properties"
    assert f"model_store={tmp_path}/models\n" in (tmp_path / "config.properties").read_text()
    assert (tmp_path / "models" / "model" / "serving.properties").read_text().startswith("option.model_id=")


def test_the_launcher_needs_only_the_standard_library():
    """Engine images bring their own Python: the launcher must import without any site package."""
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    code = "import mcc_runtime.llm.serve, mcc_runtime.llm.launch, mcc_runtime.llm.secrets"
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], env={"PYTHONPATH": str(src)}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


TUNED = {
    **BASE,
    "engine_args": ["enable-prefix-caching", "max-num-batched-tokens=8192", "tool-call-parser=llama3_json"],
}


def test_engine_arguments_reach_each_engine_in_its_own_style():
    vllm = engine_launch(engine("vllm"), TUNED, ONE_GPU)
    assert vllm.argv[-5:] == ["--enable-prefix-caching", "--max-num-batched-tokens", "8192", "--tool-call-parser",
                              "llama3_json"]  # fmt: skip
    lmi = engine_launch(engine("djl-lmi"), TUNED, ONE_GPU)
    assert lmi.env["OPTION_ENABLE_PREFIX_CACHING"] == "true" and lmi.env["OPTION_MAX_NUM_BATCHED_TOKENS"] == "8192"
    assert lmi.setting("OPTION_TOOL_CALL_PARSER") == "llama3_json"
    djl = engine_launch(engine("djl"), {**BASE, "engine_args": ["rolling_batch=disable", "option.entryPoint=x.py"]}, {})
    properties = djl.files["models/model/serving.properties"].splitlines()
    assert "option.rolling_batch=disable" in properties and "option.entryPoint=x.py" in properties


def test_mcc_engine_args_at_start_replace_the_projects_engine_arguments():
    lines = engine_launch(engine("vllm"), TUNED, {**ONE_GPU, "MCC_ENGINE_ARGS": "enable-chunked-prefill\nseed=7\n"})
    assert (
        lines.argv[-3:] == ["--enable-chunked-prefill", "--seed", "7"] and "--enable-prefix-caching" not in lines.argv
    )
    listed = engine_launch(engine("vllm"), TUNED, {**ONE_GPU, "MCC_ENGINE_ARGS": '["speculative-config={\\"n\\": 2}"]'})
    assert listed.setting("--speculative-config") == '{"n": 2}'
    with pytest.raises(LaunchError, match="not a JSON list"):
        engine_launch(engine("vllm"), TUNED, {**ONE_GPU, "MCC_ENGINE_ARGS": "[oops"})


def test_an_engine_argument_cannot_take_over_one_of_mccs_own_settings():
    with pytest.raises(LaunchError, match="--max-model-len is mcc's own setting"):
        engine_launch(engine("vllm"), BASE, {**ONE_GPU, "MCC_ENGINE_ARGS": "max-model-len=4096"})


def test_local_lora_adapters_reach_vllm_by_name_with_their_rank_and_count(tmp_path):
    for name in ("sql", "chat-de"):
        (tmp_path / "adapters" / name).mkdir(parents=True)
        (tmp_path / "adapters" / name / "adapter_config.json").write_text("{}")
    (tmp_path / "adapters" / "notes").mkdir()  # no adapter_config.json: not an adapter
    generation = {**LORA, "max_lora_rank": 64, "max_loras": 4}
    launch = engine_launch(engine("vllm"), generation, {**ONE_GPU, "MCC_MODEL_DIR": str(tmp_path)})
    at = launch.argv.index("--lora-modules")
    assert launch.argv[at + 1 : at + 3] == [f"chat-de={tmp_path}/adapters/chat-de", f"sql={tmp_path}/adapters/sql"]
    assert (launch.setting("--max-lora-rank"), launch.setting("--max-loras")) == ("64", "4")
    elsewhere = {**ONE_GPU, "MCC_LORA_DIR": str(tmp_path / "adapters"), "MCC_MODEL_DIR": "/nowhere"}
    assert "--lora-modules" in engine_launch(engine("vllm"), generation, elsewhere).argv
    assert "--lora-modules" not in engine_launch(engine("vllm"), {**generation, "enable_lora": False}, elsewhere).argv
    lmi = engine_launch(engine("djl-lmi"), generation, ONE_GPU)
    assert (lmi.env["OPTION_MAX_LORA_RANK"], lmi.env["OPTION_MAX_LORAS"]) == ("64", "4")
