"""ProjectSpec: the validated answers, as types (each field's own rule); mcc/spec_check.py builds it once from
the merged sources and applies the rules that relate several answers. Everything after reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mcc_runtime.settings import DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_WAIT_MS, DEFAULT_MAX_PAYLOAD_MB

from . import validation
from .catalog import load_catalog
from .model_registry import package_arn_error


def _rule(check: Callable[[str], str | None]) -> AfterValidator:
    """A pydantic validator from a validation rule (message or None)."""

    def validate(value: str) -> str:
        message = check(value)
        if message:
            raise ValueError(message)
        return value

    return AfterValidator(validate)


SageMakerName = Annotated[str, _rule(validation.project_name_error)]
FrameworkName = Annotated[str, _rule(lambda v: validation.choice_error(v, load_catalog().framework_names, "framework"))]
WebServerName = Annotated[str, _rule(lambda v: validation.choice_error(v, load_catalog().servers, "web server"))]
InstanceTypeName = Annotated[str, _rule(lambda v: validation.instance_type_error(v, load_catalog()))]
DeployMode = Annotated[str, _rule(validation.deploy_mode_error)]
RoleArn = Annotated[str, _rule(validation.role_arn_error)]
SecretArn = Annotated[str, _rule(validation.secret_arn_error)]
RegionName = Annotated[str, _rule(lambda v: validation.region_error(v, load_catalog()))]
FeatureNames = Annotated[
    tuple[str, ...], BeforeValidator(validation.split_names), AfterValidator(validation.checked_feature_names)
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Spec):
    framework: FrameworkName
    format: str = ""  # predictive frameworks only
    framework_version: str = ""  # predictive frameworks only
    file: Path | None = None
    model_data: Annotated[str, _rule(validation.model_data_error)] = ""  # s3://…/model.tar.gz, not baked in
    model_package_arn: Annotated[str, _rule(package_arn_error)] = ""  # the Model Registry package it came from
    sample: bool = False
    sample_payload: Path | None = None
    optimize: Literal["none", "onnx"] = "none"  # onnx: converted at generation, checked, served by onnxruntime
    feature_names: FeatureNames = ()
    signature: Annotated[str, _rule(validation.signature_error)] = ""  # named inputs a TorchScript file does not type
    code_dir: Path | None = None  # the user's own modules (SageMaker's source_dir), copied into code/
    requirements: Path | None = None  # extra packages, merged into the pinned requirements


class ServingSpec(_Spec):
    web_server: WebServerName
    max_payload_mb: int = Field(default=DEFAULT_MAX_PAYLOAD_MB, ge=1, le=1024)  # SageMaker's real-time limit
    max_batch_size: int = Field(default=DEFAULT_MAX_BATCH_SIZE, ge=1, le=1024)  # adaptive batching; 1: off
    max_batch_wait_ms: int = Field(default=DEFAULT_MAX_BATCH_WAIT_MS, ge=0, le=1000)
    predict_output: Literal["label", "proba", "both"] = "label"
    json_response: Literal["object", "array"] = "object"


class DeploymentSpec(_Spec):
    mode: DeployMode = "realtime"
    instance_type: InstanceTypeName
    accelerator: Literal["cpu", "gpu", "neuron"] = "cpu"
    base_image: Annotated[str, _rule(lambda v: validation.base_image_error(v) if v else None)] = ""  # CPU base
    instance_count: int = Field(default=1, ge=1, le=100)
    region: RegionName
    role_arn: RoleArn = ""
    hyperpod_cluster: Annotated[str, _rule(lambda v: validation.hyperpod_cluster_error(v) if v else None)] = ""
    k8s_namespace: Annotated[str, _rule(validation.k8s_namespace_error)] = "default"


EngineArgs = Annotated[
    tuple[str, ...], BeforeValidator(validation.split_engine_args), AfterValidator(validation.checked_engine_args)
]


class GenerationSpec(_Spec):
    """A generative model: where it comes from, the engine that serves it, and the engine's options."""

    engine: str
    engine_version: str
    task: str = "chat"
    model_id: str = ""
    model_s3_uri: str = ""
    gguf_file: str = ""  # llama.cpp: a local .gguf path, or the file's name in the model id's repo or S3 prefix
    model_params: Annotated[float | None, BeforeValidator(validation.params_or_none)] = None  # billions
    dtype: str = "auto"
    quantization: str = "none"
    max_model_len: int | None = Field(default=None, ge=16, le=10_000_000)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    tensor_parallel_degree: int | None = Field(default=None, ge=1, le=64)
    max_concurrent_sequences: int | None = Field(default=None, ge=1, le=65536)
    batch_size: int | None = Field(default=None, ge=1, le=1024)
    max_batch_delay_ms: int | None = Field(default=None, ge=0, le=60_000)
    enable_lora: bool = False
    max_lora_rank: int | None = Field(default=None, ge=1, le=512)
    max_loras: int | None = Field(default=None, ge=1, le=256)
    trust_remote_code: bool = False
    hf_token_secret_arn: SecretArn = ""
    engine_args: EngineArgs = ()  # KEY=VALUE (or KEY), passed in the engine's own style

    @property
    def source(self) -> str:
        """Where the model comes from, as the user named it (a GGUF file's name goes with its repo or prefix; a
        local one is shown where the project holds it, model/NAME, not where the laptop had it)."""
        where = self.model_id or self.model_s3_uri
        if self.gguf_file:
            return f"{where.rstrip('/')}/{self.gguf_file}" if where else f"model/{Path(self.gguf_file).name}"
        return where


class ProjectSpec(_Spec):
    """Everything `mcc new` needs to generate a project (recorded as mcc.yaml)."""

    project_name: SageMakerName
    output_dir: Path
    include_tests: bool = True
    model: ModelSpec
    serving: ServingSpec
    deployment: DeploymentSpec
    generation: GenerationSpec | None = None  # generative frameworks only

    @property
    def generative(self) -> bool:
        return self.generation is not None


def field_default(path: tuple[str, ...]) -> object:
    """The spec's own default for the answer at ``path`` (None where it has none): each default is stated once,
    on its field."""
    default = _field(path).default
    return None if default is PydanticUndefined else default


def field_choices(path: tuple[str, ...]) -> tuple[str, ...]:
    """The values the spec's type allows for the answer at ``path``, where it is a fixed list (a Literal)."""
    annotation = _field(path).annotation
    return tuple(get_args(annotation)) if get_origin(annotation) is Literal else ()


def _field(path: tuple[str, ...]) -> FieldInfo:
    model: type[BaseModel] = ProjectSpec
    for part in path[:-1]:
        annotation = model.model_fields[part].annotation
        model = next(t for t in (annotation, *getattr(annotation, "__args__", ())) if isinstance(t, type)
                     and issubclass(t, BaseModel))  # fmt: skip
    return model.model_fields[path[-1]]
