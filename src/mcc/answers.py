"""Every answer ``mcc new`` takes: its flat key, where it lives in the spec, its flag and env variable.

Flags are ``--<key with dashes>``, environment variables ``MCC_<KEY>``; config files use the nested
``path`` (the shape of ``mcc.yaml``) or the flat key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["str", "bool", "int", "float", "path", "list"]  # list: a repeatable flag


@dataclass(frozen=True)
class Answer:
    key: str
    path: tuple[str, ...]
    kind: Kind
    help: str
    only: Literal["", "predictive"] = ""  # generative answers live under ``generation`` (see ``project_kind``)
    flag_name: str = ""  # the flag, when not the key's (a repeatable flag is named in the singular)

    @property
    def project_kind(self) -> str:
        """The kind of project the answer belongs to: "predictive", "generative", or "" for both."""
        return "generative" if self.path[0] == "generation" else self.only

    @property
    def flag(self) -> str:
        return "--" + (self.flag_name or self.key.replace("_", "-"))

    @property
    def env(self) -> str:
        return "MCC_" + self.key.upper()


# In the order the interactive decision tree asks them.
ANSWERS: tuple[Answer, ...] = (
    Answer(
        "project_name", ("project_name",), "str", "Project name; becomes the image, SageMaker model and endpoint name"
    ),
    Answer("output_dir", ("output_dir",), "path", "Directory to create [default: ./PROJECT_NAME]"),
    Answer("framework", ("model", "framework"), "str", "Model framework"),
    Answer(
        "model_id",
        ("generation", "model_id"),
        "str",
        "Generative: Hugging Face Hub model id (ORG/NAME) the engine downloads at start",
    ),
    Answer(
        "model_s3_uri",
        ("generation", "model_s3_uri"),
        "str",
        "Generative: the s3:// prefix of the model's files (attached to the SageMaker model, served from "
        "/opt/ml/model)",
    ),
    Answer(
        "gguf_file",
        ("generation", "gguf_file"),
        "str",
        "Generative (llama.cpp): a local .gguf file, or the .gguf file's name in the --model-id repo or "
        "--model-s3-uri prefix",
    ),
    Answer("model_params", ("generation", "model_params"), "str", "Generative: parameter count, e.g. 7B or 500M"),
    Answer("task", ("generation", "task"), "str", "Generative: chat (text generation) or embedding [default: chat]"),
    Answer("engine", ("generation", "engine"), "str", "Generative: the serving engine"),
    Answer("engine_version", ("generation", "engine_version"), "str", "Generative: the engine version (pinned image)"),
    Answer(
        "sample_model",
        ("model", "sample"),
        "bool",
        "Train a small sample model instead of using a model file",
        only="predictive",
    ),
    Answer(
        "model_file",
        ("model", "file"),
        "path",
        "Trained model file (or SavedModel directory) to serve",
        only="predictive",
    ),
    Answer(
        "model_data",
        ("model", "model_data"),
        "str",
        "SageMaker model.tar.gz in S3 (s3://BUCKET/KEY.tar.gz), attached as the model's ModelDataUrl instead of "
        "baked into the image; read once here to check it and to serve it locally",
        only="predictive",
    ),
    Answer(
        "model_package_arn",
        ("model", "model_package_arn"),
        "str",
        "SageMaker Model Registry package (arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION): its "
        "ModelDataUrl is the model (as --model-data), and do/register adds versions to its group",
        only="predictive",
    ),
    Answer(
        "model_format",
        ("model", "format"),
        "str",
        "Model file format [default: from the file's extension]",
        only="predictive",
    ),
    Answer(
        "predict_output",
        ("serving", "predict_output"),
        "str",
        "What /invocations returns: label (predict), proba (class probabilities) or both [default: label]",
        only="predictive",
    ),
    Answer(
        "json_response",
        ("serving", "json_response"),
        "str",
        'JSON answers: object ({"predictions": [...]}) or array (the bare array AWS\'s framework containers '
        "return) [default: object]",
        only="predictive",
    ),
    Answer(
        "feature_names",
        ("model", "feature_names"),
        "str",
        "Comma-separated feature names: CSV may then start with a header row, JSON rows may be objects",
        only="predictive",
    ),
    Answer(
        "signature",
        ("model", "signature"),
        "str",
        "Named inputs of a model that records only their names (TorchScript): 'features: float32[?, 4]; "
        "category: int64[?]' (? is any size; the first dimension is the batch)",
        only="predictive",
    ),
    Answer(
        "framework_version",
        ("model", "framework_version"),
        "str",
        "Framework version pinned in the image (must match the one the model was trained with)",
        only="predictive",
    ),
    Answer(
        "sample_payload",
        ("model", "sample_payload"),
        "path",
        "Example request (.csv rows or .json) used by do/test and the project's tests",
        only="predictive",
    ),
    Answer(
        "code_dir",
        ("model", "code_dir"),
        "path",
        "Folder of your own Python modules the model needs (SageMaker's source_dir), copied into code/",
        only="predictive",
    ),
    Answer(
        "requirements",
        ("model", "requirements"),
        "path",
        "A requirements.txt of extra packages, merged into the pinned requirements (conflicts refused)",
        only="predictive",
    ),
    Answer(
        "optimize",
        ("model", "optimize"),
        "str",
        "onnx: convert a scikit-learn, XGBoost or LightGBM model to ONNX, check it answers as the original, and "
        "serve it with ONNX Runtime [default: none]",
        only="predictive",
    ),
    Answer("web_server", ("serving", "web_server"), "str", "Web server in front of the model"),
    Answer("max_payload_mb", ("serving", "max_payload_mb"), "int", "Largest request body in MB [default: 6]"),
    Answer(
        "max_batch_size",
        ("serving", "max_batch_size"),
        "int",
        "Requests one model call may answer together (adaptive batching; 1: off) [default: 32]",
        only="predictive",
    ),
    Answer(
        "max_batch_wait_ms",
        ("serving", "max_batch_wait_ms"),
        "int",
        "Longest wait in ms for requests already on their way before a batch is predicted [default: 2]",
        only="predictive",
    ),
    Answer(
        "deploy_mode",
        ("deployment", "mode"),
        "str",
        "How do/deploy deploys: an endpoint (real-time, async, serverless), a batch transform job, an "
        "inference component on an endpoint, or a SageMaker HyperPod cluster on Amazon EKS (hyperpod)",
    ),
    Answer(
        "hyperpod_cluster",
        ("deployment", "hyperpod_cluster"),
        "str",
        "hyperpod: the SageMaker HyperPod cluster (orchestrated by Amazon EKS) do/deploy deploys to",
    ),
    Answer(
        "k8s_namespace",
        ("deployment", "k8s_namespace"),
        "str",
        "hyperpod: the Kubernetes namespace of the project's objects [default: default]",
    ),
    Answer("instance_type", ("deployment", "instance_type"), "str", "SageMaker instance type"),
    Answer(
        "base_image",
        ("deployment", "base_image"),
        "str",
        "Your own base for the CPU image (e.g. a company's hardened Debian/Ubuntu Python 3.11+ image), pinned",
        only="predictive",
    ),
    Answer(
        "accelerator",
        ("deployment", "accelerator"),
        "str",
        "The image's accelerator: CPU, GPU (CUDA) or AWS Neuron [default: the instance's accelerator where the "
        "framework or engine has an image for it, else cpu]",
    ),
    Answer(
        "dtype", ("generation", "dtype"), "str", "Generative: weights dtype: auto, float16, bfloat16, float32 [auto]"
    ),
    Answer(
        "quantization",
        ("generation", "quantization"),
        "str",
        "Generative: the checkpoint's quantization: none, awq, gptq, fp8 or bitsandbytes [none]",
    ),
    Answer(
        "max_model_len",
        ("generation", "max_model_len"),
        "int",
        "Generative: longest sequence (prompt + output) in tokens [default: the model's own]",
    ),
    Answer(
        "gpu_memory_utilization",
        ("generation", "gpu_memory_utilization"),
        "float",
        "Generative: share of each GPU's memory the engine may take [0.9]",
    ),
    Answer(
        "tensor_parallel_degree",
        ("generation", "tensor_parallel_degree"),
        "int",
        "Generative: GPUs the model is split across [default: every GPU of the instance, SM_NUM_GPUS]",
    ),
    Answer(
        "max_concurrent_sequences",
        ("generation", "max_concurrent_sequences"),
        "int",
        "Generative: most sequences served at once [default: the engine's]",
    ),
    Answer(
        "batch_size",
        ("generation", "batch_size"),
        "int",
        "Generative (DJL Serving): requests batched together [default: the engine's]",
    ),
    Answer(
        "max_batch_delay_ms",
        ("generation", "max_batch_delay_ms"),
        "int",
        "Generative (DJL Serving): longest wait in ms to fill a batch [default: the engine's]",
    ),
    Answer("enable_lora", ("generation", "enable_lora"), "bool", "Generative: serve LoRA adapters [default: no]"),
    Answer(
        "max_lora_rank",
        ("generation", "max_lora_rank"),
        "int",
        "Generative (with --enable-lora): the largest adapter rank served [default: the engine's]",
    ),
    Answer(
        "max_loras",
        ("generation", "max_loras"),
        "int",
        "Generative (with --enable-lora): adapters in one batch [default: the engine's]",
    ),
    Answer(
        "engine_args",
        ("generation", "engine_args"),
        "list",
        "Generative: any other engine setting, KEY=VALUE (or KEY for a switch), repeatable; passed in the engine's "
        "own style: --KEY VALUE, OPTION_KEY=VALUE or option.KEY=VALUE (env: one per line)",
        flag_name="engine-arg",
    ),
    Answer(
        "trust_remote_code",
        ("generation", "trust_remote_code"),
        "bool",
        "Generative: run the model repository's own Python code [default: no]",
    ),
    Answer(
        "hf_token_secret_arn",
        ("generation", "hf_token_secret_arn"),
        "str",
        "Generative: Secrets Manager ARN holding the Hugging Face token, read by the container at start "
        "(else HF_TOKEN from the container environment); the token itself is never written anywhere",
    ),
    Answer("instance_count", ("deployment", "instance_count"), "int", "Instances behind the endpoint [default: 1]"),
    Answer(
        "role_arn",
        ("deployment", "role_arn"),
        "str",
        "IAM role SageMaker assumes to run the model (settable later in do/config, or made by do/bootstrap)",
    ),
    Answer("region", ("deployment", "region"), "str", "AWS Region [default: $AWS_REGION, else us-east-1]"),
    Answer("include_tests", ("include_tests",), "bool", "Generate the project's tests/ [default: yes]"),
)

BY_KEY: dict[str, Answer] = {a.key: a for a in ANSWERS}
BY_PATH: dict[tuple[str, ...], Answer] = {a.path: a for a in ANSWERS}
PREDICTIVE_KEYS = frozenset(a.key for a in ANSWERS if a.project_kind == "predictive")
GENERATIVE_KEYS = frozenset(a.key for a in ANSWERS if a.project_kind == "generative")


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"framework": "sklearn"}`` -> ``{"model": {"framework": "sklearn"}}``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = BY_KEY[key].path
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested
