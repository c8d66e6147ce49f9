"""The project's deployment settings, read from the environment that ``do/config`` exports."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from . import platforms

DEPLOY_MODES = ("realtime", "async", "serverless", "batch", "inference-component", "hyperpod")


@dataclass(frozen=True)
class Settings:
    project_name: str
    aws_region: str
    account_id: str = ""
    image_tag: str = ""
    image_uri: str = ""
    ecr_repository: str = ""
    ecr_tag_mutability: str = "MUTABLE"
    role_arn: str = ""
    endpoint_name: str = ""
    deploy_mode: str = "realtime"
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    gpu_required: bool = False
    model_data_url: str = ""
    model_data_prefix: str = ""
    model_package_group: str = ""  # do/register's Model Package Group (default: the project name)
    model_approval_status: str = "PendingManualApproval"
    gpu_count: int = 0
    hf_token_secret_arn: str = ""
    startup_timeout_s: int = 0
    image_cuda: str = ""
    neuron_cores: int = 0  # NeuronCores of the instance type (AWS Neuron images)
    image_neuron_sdk: str = ""  # an AWS Neuron image's Neuron SDK: do/run maps this machine's /dev/neuron* into it
    inference_ami_version: str = ""
    test_kind: str = "predictive"
    container_env: str = ""
    deploy_timeout_min: int = 30
    inference_component_name: str = ""  # default: the project's name
    ic_copy_count: int = 1
    ic_memory_mb: int = 1024  # each copy's memory reservation
    ic_accelerators: int = 0  # each copy's GPUs (0: GPU_COUNT on a GPU image)
    ic_cpu_cores: int = 0  # each copy's CPU cores (0: no reservation)
    ic_min_copies: int = 1  # autoscaling of copies (IC_MAX_COPIES=0: off); 0 copies: scale to zero
    ic_max_copies: int = 0
    ic_target_concurrency: int = 4  # concurrent requests per copy the scaling aims at
    ic_min_instances: int = 0  # managed instance scaling (IC_MAX_INSTANCES=0: off)
    ic_max_instances: int = 0
    variant_name: str = "AllTraffic"
    volume_size_gb: int = 0  # 0: SageMaker's default storage
    routing_strategy: str = ""  # "": SageMaker's default (random)
    data_capture_percent: int = 0  # 0: off
    data_capture_s3: str = ""  # "": s3://<artifact bucket>/<project>/data-capture
    data_capture_modes: str = "Input Output"
    autoscaling_min: int = 0
    autoscaling_max: int = 0
    autoscaling_target: int = 100
    async_output_path: str = ""
    async_success_topic: str = ""
    async_error_topic: str = ""
    async_max_concurrency: int = 4
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    hyperpod_cluster: str = ""  # hyperpod: the SageMaker HyperPod cluster (orchestrated by EKS)
    eks_cluster: str = ""  # its EKS cluster ("": the one DescribeCluster names)
    k8s_namespace: str = "default"
    hyperpod_fsx_id: str = ""  # the model on an FSx for Lustre file system instead of MODEL_DATA_PREFIX
    hyperpod_fsx_path: str = ""  # …under this path of it
    prometheus_endpoint: str = ""  # an Amazon Managed Prometheus workspace: scale on the engine's queue too
    hyperpod_queue_target: int = 5  # waiting requests per replica the queue trigger aims at
    kubectl: str = "kubectl"
    batch_input: str = ""
    batch_output: str = ""
    batch_content_type: str = "text/csv"
    batch_split_type: str = "Line"
    batch_instance_count: int = 1
    batch_max_payload_mb: int = 6
    batch_accept: str = "text/csv"
    artifact_bucket: str = ""
    codebuild_project: str = ""
    codebuild_role_arn: str = ""
    codebuild_compute_type: str = ""  # empty: the compute type of the platform's CodeBuild host
    codebuild_image: str = ""  # empty: the image of the platform's CodeBuild host
    codebuild_timeout_min: int = 60
    platform: str = ""  # empty: the platform the endpoint runs (platforms.endpoint_platform)
    build_index_url: str = ""  # pip's index inside the image build (a mirror)
    build_extra_index_url: str = ""  # an extra index inside the image build

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every field from the variable of the same name in upper case; empty means the default."""
        env = os.environ if env is None else env
        values = {}
        for field in fields(cls):
            raw = env.get(field.name.upper(), "").strip()
            if not raw:
                continue
            if field.type == "int":
                values[field.name] = _int(field.name, raw)
            elif field.type == "bool":
                values[field.name] = _bool(field.name, raw)
            else:
                values[field.name] = raw
        missing = [name for name in ("project_name", "aws_region") if name not in values]
        if missing:
            raise SettingsError(", ".join(n.upper() for n in missing) + " must be set (do/config sets them)")
        return cls(**values)

    @property
    def target_platform(self) -> str:
        """The platform the endpoint runs images on."""
        return platforms.endpoint_platform(self.deploy_mode, self.instance_type)

    @property
    def image_platform(self) -> str:
        """The platform do/build and do/submit build for: PLATFORM, else the endpoint's."""
        return self.platform or self.target_platform

    @property
    def codebuild_host(self) -> tuple[str, str, str]:
        """CodeBuild's (environment type, image, compute type) that builds the image natively."""
        hosts = platforms.CODEBUILD_HOSTS
        kind, image, compute = hosts.get(self.image_platform, hosts[platforms.AMD64])
        return kind, self.codebuild_image or image, self.codebuild_compute_type or compute

    @property
    def endpoint(self) -> str:
        return self.endpoint_name or self.project_name

    @property
    def inference_component(self) -> str:
        return self.inference_component_name or self.project_name

    @property
    def invocation_target(self) -> dict[str, str]:
        """What InvokeEndpoint names: the endpoint, and on an inference-component endpoint this project's IC."""
        target = {"EndpointName": self.endpoint}
        if self.deploy_mode == "inference-component":
            target["InferenceComponentName"] = self.inference_component
        return target

    @property
    def repository(self) -> str:
        return self.ecr_repository or self.project_name.lower()

    @property
    def codebuild_name(self) -> str:
        return self.codebuild_project or f"{self.project_name}-image"

    def as_dict(self) -> dict:
        return asdict(self)


class SettingsError(ValueError):
    """A setting that cannot work; raised before any AWS call."""


def _bool(name: str, raw: str) -> bool:
    """The same words as the runtime's settings (mcc_runtime.envvalues); a typo is refused, not read as false."""
    word = raw.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name.upper()}={raw!r} must be one of 1/0, true/false, yes/no, on/off")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name.upper()} must be a whole number, not {raw!r}") from None
