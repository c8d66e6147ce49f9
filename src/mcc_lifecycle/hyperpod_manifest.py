"""``DEPLOY_MODE=hyperpod``: the ``InferenceEndpointConfig`` the SageMaker HyperPod inference operator turns into
the Deployment, Service, pods and a SageMaker endpoint registration on an EKS-orchestrated cluster.

Built from typed parts (``Workload`` from do/lib/hyperpod.json, ``Settings`` from do/config, the instance row
from do/lib/instance-types.json), never from string templates; ``mcc new`` and ``do/deploy`` build it with the
same function, so the file in k8s/ is what do/deploy applies."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .names import artifact_bucket
from .settings import Settings

MODE = "hyperpod"
API_VERSION = "inference.sagemaker.aws.amazon.com/v1"
KIND = "InferenceEndpointConfig"
RESOURCE = "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com"
MANIFEST_PATH = "k8s/inference-endpoint-config.yaml"
ROLE_PATH = "k8s/deployer-role.yaml"
WORKLOAD_FILE = "hyperpod.json"  # in do/lib/
CONTAINER_PORT = 8080
MODEL_DIR = "/opt/ml/model"
MODEL_VOLUME = "model-weights"
MANAGED_BY = "ml-container-creator"
HF_TOKEN_KEY = "token"
# Kubernetes names: a DNS-1123 label (namespaces, labels' values) and subdomain (Secrets, resources).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
HYPERPOD_CLUSTER = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # SageMaker's ClusterName
FSX_ID = re.compile(r"^fs-[0-9a-f]{8,21}$")
PROMETHEUS_WORKSPACE = re.compile(r"^https://aps-workspaces\.[a-z0-9-]+\.amazonaws\.com/workspaces/ws-[a-zA-Z0-9-]+$")
S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")

# What a node keeps back from pods, as the EKS-optimized AMI computes it (kube-reserved + eviction threshold),
# and an allowance for the daemon sets every HyperPod node runs (health agent, device plugin, CNI, CSI drivers).
KUBE_RESERVED_MAX_PODS = 110
EVICTION_HARD_MIB = 100
DAEMONSETS_MILLICORES = 500
DAEMONSETS_MIB = 1024

# Probes on /ping: the startup probe spans the start-up budget; then short readiness and liveness checks.
PROBE_PERIOD_S = 10
PROBE_TIMEOUT_S = 2  # SageMaker's own ping timeout
DEFAULT_STARTUP_S = 600  # STARTUP_TIMEOUT_S=0: SageMaker's default budget for a container to pass /ping
READINESS_FAILURES = 3
LIVENESS_PERIOD_S = 15
LIVENESS_FAILURES = 4  # a minute without an answer restarts the container


@dataclass(frozen=True)
class Workload:
    """What the project's image serves, written by mcc new as do/lib/hyperpod.json."""

    kind: str = "predictive"  # predictive | generative
    metrics_path: str = ""  # the image's Prometheus route ("": it serves none)
    queue_metric: str = ""  # the engine's gauge of waiting requests (Prometheus autoscaling)
    hf_model_id: str = ""  # a Hugging Face Hub model the engine downloads itself

    @classmethod
    def read(cls, path: Path) -> Workload:
        return cls(**json.loads(path.read_text()))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


@dataclass(frozen=True)
class Node:
    """An instance type's capacity (a row of do/lib/instance-types.json) and its accelerators."""

    vcpus: int
    memory_gib: float
    gpus: int = 0
    neuron_cores: int = 0


def labels(settings: Settings) -> dict[str, str]:
    """The labels every object of this project carries: do/status, do/logs and do/clean select on them."""
    return {"app.kubernetes.io/instance": settings.project_name.lower(), "app.kubernetes.io/managed-by": MANAGED_BY}


def selector(settings: Settings) -> str:
    return ",".join(f"{key}={value}" for key, value in labels(settings).items())


def resource_name(settings: Settings) -> str:
    """The custom resource's name: the project's name in Kubernetes' lower case."""
    return settings.project_name.lower()


def token_secret_name(settings: Settings) -> str:
    return f"{resource_name(settings)}-hf-token"


def resources(node: Node) -> dict[str, dict[str, str]]:
    """One replica per node, as one SageMaker instance runs one container: what the node can give a pod. Memory
    is requested and limited alike (the pod is never overcommitted into an OOM kill); CPU is requested, not
    limited (no throttling); GPUs and NeuronCores are whole devices, all of the node's."""
    cpu = max(100, (node.vcpus * 1000 - _reserved_millicores(node.vcpus) - DAEMONSETS_MILLICORES) // 100 * 100)
    reserved_mib = 255 + 11 * KUBE_RESERVED_MAX_PODS + EVICTION_HARD_MIB + DAEMONSETS_MIB
    memory = max(256, int(node.memory_gib * 1024) - reserved_mib)
    requests = {"cpu": f"{cpu}m", "memory": f"{memory}Mi"}
    limits = {"memory": f"{memory}Mi"}
    for name, count in (("nvidia.com/gpu", node.gpus), ("aws.amazon.com/neuroncore", node.neuron_cores)):
        if count:
            requests[name] = limits[name] = str(count)
    return {"requests": requests, "limits": limits}


def _reserved_millicores(vcpus: int) -> int:
    """kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest."""
    shares = [60, 10, 5, 5]
    return math.ceil(sum(shares[:vcpus]) + 2.5 * max(0, vcpus - len(shares)))


def probes(startup_timeout_s: int) -> dict[str, dict[str, Any]]:
    """A startup probe that allows the whole start-up budget, then readiness and liveness with no long delays."""
    budget = startup_timeout_s or DEFAULT_STARTUP_S

    def ping(period: int, timeout: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": "/ping", "port": CONTAINER_PORT, "scheme": "HTTP"},
            "periodSeconds": period,
            "timeoutSeconds": timeout,
            "failureThreshold": failures,
        }

    return {
        "startupProbe": ping(PROBE_PERIOD_S, PROBE_TIMEOUT_S, math.ceil(budget / PROBE_PERIOD_S)),
        "readinessProbe": ping(PROBE_PERIOD_S, PROBE_TIMEOUT_S, READINESS_FAILURES),
        "livenessProbe": ping(LIVENESS_PERIOD_S, PROBE_TIMEOUT_S * 2, LIVENESS_FAILURES),
    }


def with_model_prefix(settings: Settings, workload: Workload, account: str) -> Settings:
    """MODEL_DATA_PREFIX, else where do/package --upload puts model/ (the project's artifact bucket) for a model
    the cluster must read from S3: not on FSx, not a Hub model the engine downloads itself."""
    if settings.model_data_prefix or settings.hyperpod_fsx_id or workload.hf_model_id:
        return settings
    prefix = f"s3://{artifact_bucket(settings, account)}/{settings.project_name}/model/"
    return replace(settings, model_data_prefix=prefix)


def model_source(settings: Settings, workload: Workload) -> dict[str, Any]:
    """Where the operator finds the model: an FSx for Lustre volume, the project's S3 prefix, or the Hub."""
    if settings.hyperpod_fsx_id:
        fsx = {"fileSystemId": settings.hyperpod_fsx_id}
        source: dict[str, Any] = {"modelSourceType": "fsx", "fsxStorage": fsx}
        location = settings.hyperpod_fsx_path.strip("/")
    elif settings.model_data_prefix:
        bucket, _, prefix = settings.model_data_prefix.removeprefix("s3://").partition("/")
        source = {"modelSourceType": "s3", "s3Storage": {"bucketName": bucket, "region": settings.aws_region}}
        location = prefix.strip("/")
    elif workload.hf_model_id:
        hub: dict[str, Any] = {"modelId": workload.hf_model_id}
        if settings.hf_token_secret_arn:
            hub["tokenSecretRef"] = {"name": token_secret_name(settings), "key": HF_TOKEN_KEY}
        return {"modelSourceType": "huggingface", "huggingFaceModel": hub}
    else:
        raise ValueError(
            "DEPLOY_MODE=hyperpod needs the model where the cluster can read it: MODEL_DATA_PREFIX (s3://…/, "
            "do/package --upload puts model/ there) or HYPERPOD_FSX_ID"
        )
    return {**source, "modelLocation": location} if location else source


def environment(settings: Settings, workload: Workload) -> list[dict[str, Any]]:
    """The container's variables: CONTAINER_ENV's, the GPU count, and the Hub token from the Kubernetes Secret."""
    variables = {}
    for pair in settings.container_env.split():
        name, _, value = pair.partition("=")
        variables[name] = value
    if settings.gpu_count:
        variables.setdefault("SM_NUM_GPUS", str(settings.gpu_count))
    env: list[dict[str, Any]] = [{"name": name, "value": value} for name, value in variables.items()]
    if workload.kind == "generative" and settings.hf_token_secret_arn:
        secret = {"name": token_secret_name(settings), "key": HF_TOKEN_KEY}
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": secret}})
    return env


def autoscaling(settings: Settings, workload: Workload) -> dict[str, Any] | None:
    """AUTOSCALING_MAX > 0: KEDA scales replicas on the registered endpoint's CloudWatch Invocations per replica
    per minute (AUTOSCALING_TARGET, as for real-time endpoints); for an engine with a queue gauge, also on its
    waiting requests in Amazon Managed Prometheus (PROMETHEUS_ENDPOINT)."""
    if not settings.autoscaling_max:
        return None
    invocations = {
        "name": f"{resource_name(settings)}-invocations",
        "namespace": "AWS/SageMaker",
        "metricName": "Invocations",
        "dimensions": [
            {"name": "EndpointName", "value": settings.endpoint},
            {"name": "VariantName", "value": settings.variant_name},
        ],
        "metricStat": "Sum",
        "metricType": "Average",
        "targetValue": float(settings.autoscaling_target),
        "metricCollectionPeriod": 60,
    }
    spec: dict[str, Any] = {
        "minReplicaCount": settings.autoscaling_min,
        "maxReplicaCount": settings.autoscaling_max,
        "cloudWatchTrigger": invocations,
    }
    if workload.queue_metric and settings.prometheus_endpoint:
        spec["prometheusTrigger"] = {
            "name": f"{resource_name(settings)}-queue",
            "serverAddress": settings.prometheus_endpoint,
            "query": f'sum({workload.queue_metric}{{namespace="{settings.k8s_namespace}"}})',
            "metricType": "Average",
            "targetValue": float(settings.hyperpod_queue_target),
        }
    return spec


def manifest(settings: Settings, workload: Workload, node: Node, image_uri: str) -> dict[str, Any]:
    """The InferenceEndpointConfig for this project, as a dict (kubectl takes its YAML or JSON)."""
    worker: dict[str, Any] = {
        "image": image_uri,
        "modelInvocationPort": {"containerPort": CONTAINER_PORT, "name": "http"},
        "modelVolumeMount": {"name": MODEL_VOLUME, "mountPath": MODEL_DIR},
        "resources": resources(node),
        "probes": probes(settings.startup_timeout_s),
    }
    env = environment(settings, workload)
    if env:
        worker["environmentVariables"] = env
    spec: dict[str, Any] = {
        "modelName": resource_name(settings),
        "endpointName": settings.endpoint,
        "instanceType": settings.instance_type,
        "replicas": settings.instance_count,
        "invocationEndpoint": "invocations",
        "modelSourceConfig": model_source(settings, workload),
        "worker": worker,
        "loadBalancer": {"healthCheckPath": "/ping"},
        "metrics": _metrics(workload),
        "tags": [{"name": "mcc:project", "value": settings.project_name}],
    }
    scaling = autoscaling(settings, workload)
    if scaling:
        spec["autoScalingSpec"] = scaling
    metadata = {"name": resource_name(settings), "namespace": settings.k8s_namespace, "labels": labels(settings)}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def _metrics(workload: Workload) -> dict[str, Any]:
    """Scraped only where the image serves Prometheus metrics (the LLM engines); predictive images serve none."""
    if not workload.metrics_path:
        return {"enabled": False}
    return {"enabled": True, "modelMetrics": {"path": workload.metrics_path, "port": CONTAINER_PORT}}


def to_yaml(document: dict[str, Any]) -> str:
    """The manifest's file: written by mcc new, and again (with the account and pushed image) by do/deploy."""
    header = "# Written by mcc new and, with the pushed image, by do/deploy: change do/config, not this file.\n"
    return header + yaml.safe_dump(document, sort_keys=False)


def deployer_role(settings: Settings) -> list[dict[str, Any]]:
    """The Kubernetes permissions do/deploy, status, logs and clean need in the namespace, bound to the group an
    EKS access entry maps the deployer's IAM principal to."""
    metadata = {"name": f"{resource_name(settings)}-deployer", "namespace": settings.k8s_namespace,
                "labels": labels(settings)}  # fmt: skip
    verbs = ["get", "list", "watch", "create", "patch", "update", "delete"]
    rules = [
        {"apiGroups": [API_VERSION.split("/")[0]], "resources": ["inferenceendpointconfigs"], "verbs": [*verbs]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": [*verbs]},
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata, "rules": rules}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": metadata["name"]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": deployer_group(settings)}],
    }
    return [role, binding]


def deployer_group(settings: Settings) -> str:
    """The Kubernetes group of the EKS access entry (aws eks create-access-entry --kubernetes-groups)."""
    return f"{resource_name(settings)}-deployers"


def token_secret(settings: Settings, token: str) -> dict[str, Any]:
    """The Kubernetes Secret holding the Hugging Face token (created by do/deploy from Secrets Manager)."""
    metadata = {"name": token_secret_name(settings), "namespace": settings.k8s_namespace, "labels": labels(settings)}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata,
            "stringData": {HF_TOKEN_KEY: token}}  # fmt: skip


def settings_errors(settings: Settings) -> list[str]:
    """What DEPLOY_MODE=hyperpod needs of do/config, checked before any call."""
    errors = []
    if not HYPERPOD_CLUSTER.match(settings.hyperpod_cluster):
        errors.append(f"HYPERPOD_CLUSTER={settings.hyperpod_cluster!r} must name the HyperPod cluster (1-63 "
                      "letters, digits and hyphens)")  # fmt: skip
    if not DNS_LABEL.match(settings.k8s_namespace):
        errors.append(f"K8S_NAMESPACE={settings.k8s_namespace!r} is not a Kubernetes namespace (lower-case letters, "
                      "digits and hyphens, at most 63)")  # fmt: skip
    if not DNS_LABEL.match(resource_name(settings)):
        errors.append(f"PROJECT_NAME={settings.project_name!r} is longer than a Kubernetes name allows (63)")
    if settings.hyperpod_fsx_id and not FSX_ID.match(settings.hyperpod_fsx_id):
        errors.append(f"HYPERPOD_FSX_ID={settings.hyperpod_fsx_id!r} is not an FSx file system ID (fs-…)")
    if settings.model_data_prefix and not S3_PREFIX.match(settings.model_data_prefix):
        errors.append(f"MODEL_DATA_PREFIX={settings.model_data_prefix!r} must be s3://bucket/prefix/")
    if settings.prometheus_endpoint and not PROMETHEUS_WORKSPACE.match(settings.prometheus_endpoint):
        errors.append(f"PROMETHEUS_ENDPOINT={settings.prometheus_endpoint!r} must be an Amazon Managed Prometheus "
                      "workspace URL (https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-…)")  # fmt: skip
    if settings.autoscaling_max and not 0 <= settings.autoscaling_min <= settings.autoscaling_max:
        errors.append(f"AUTOSCALING_MIN={settings.autoscaling_min} must be 0 to AUTOSCALING_MAX")
    return errors
