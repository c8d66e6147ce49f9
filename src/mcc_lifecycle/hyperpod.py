"""``DEPLOY_MODE=hyperpod``: deploy, watch and remove the project on a SageMaker HyperPod cluster orchestrated by
Amazon EKS, through kubectl with the project's own kubeconfig (a token botocore presigns: no AWS CLI needed).

Every kubectl call names the project's kubeconfig and namespace; status, logs and clean select the objects by
the project's labels (``hyperpod_manifest.labels``) and nothing else."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

from . import hyperpod_manifest as manifests
from .aws import Aws, is_missing, split_s3_uri
from .hyperpod_manifest import Node, Workload
from .waiting import DeployFailed

MODE = manifests.MODE
TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_EXPIRES_S = 60  # the presigned URL's life; EKS accepts the token for 15 minutes
TOKEN_REFRESH_S = 600  # a kubeconfig older than this is written anew before the next call
KUBECONFIG = ".mcc/hyperpod/kubeconfig"
FIELD_MANAGER = "mcc"
POLL_S = 10.0
DONE_STATE = "DeploymentComplete"
FAILED_STATES = ("DeploymentFailed", "DeletionFailed")


class KubectlError(RuntimeError):
    """kubectl exited with an error; its message is kept."""


def eks_cluster_name(described: dict[str, Any], configured: str, cluster: str) -> str:
    """The EKS cluster a HyperPod cluster runs on (DescribeCluster's answer), or EKS_CLUSTER where it is set."""
    arn = described.get("Orchestrator", {}).get("Eks", {}).get("ClusterArn", "")
    named = arn.rpartition("/")[2]
    if described.get("ClusterStatus") not in (None, "InService", "Updating"):
        raise ValueError(f"HyperPod cluster {cluster} is {described['ClusterStatus']}, not InService")
    if configured and named and configured != named:
        raise ValueError(f"EKS_CLUSTER={configured!r}, but HyperPod cluster {cluster} runs on EKS cluster {named}")
    if not (configured or named):
        raise ValueError(f"HyperPod cluster {cluster} is not orchestrated by Amazon EKS (a Slurm cluster?): "
                         "DEPLOY_MODE=hyperpod needs an EKS-orchestrated one")  # fmt: skip
    return configured or named


def token(aws: Aws, eks_name: str) -> str:
    """A bearer token for the EKS API: a presigned STS GetCallerIdentity URL naming the cluster in a signed header,
    as aws-iam-authenticator checks it."""
    sts = aws.new_client("sts")

    def name_the_cluster(request, **_):
        request.headers[CLUSTER_ID_HEADER] = eks_name

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", name_the_cluster)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=TOKEN_EXPIRES_S, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def kubeconfig(cluster: dict[str, Any], bearer_token: str, namespace: str) -> dict[str, Any]:
    """A kubeconfig for one EKS cluster (DescribeCluster's ``cluster``) and one token."""
    name = cluster["name"]
    server = {"server": cluster["endpoint"], "certificate-authority-data": cluster["certificateAuthority"]["data"]}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": server}],
        "users": [{"name": "mcc", "user": {"token": bearer_token}}],
        "contexts": [{"name": "mcc", "context": {"cluster": name, "user": "mcc", "namespace": namespace}}],
        "current-context": "mcc",
    }


class Kubectl:
    """kubectl on the project's cluster and namespace, its kubeconfig written (0600) and refreshed as needed."""

    def __init__(self, aws: Aws, root: Path):
        self.aws, self.settings = aws, aws.settings
        self.path = root / KUBECONFIG
        described = aws.client("sagemaker").describe_cluster(ClusterName=self.settings.hyperpod_cluster)
        self.eks_name = eks_cluster_name(described, self.settings.eks_cluster, self.settings.hyperpod_cluster)
        self.cluster = aws.client("eks").describe_cluster(name=self.eks_name)["cluster"]
        self.written = 0.0

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        if time.monotonic() - self.written > TOKEN_REFRESH_S:
            self._write_kubeconfig()
        command = [self.settings.kubectl, "--kubeconfig", str(self.path), "--namespace", self.settings.k8s_namespace]
        try:
            done = subprocess.run([*command, *args], input=stdin, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise KubectlError(f"{self.settings.kubectl} not found: install kubectl, or set KUBECTL") from None
        if done.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args[:2])}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def _write_kubeconfig(self) -> None:
        config = kubeconfig(self.cluster, token(self.aws, self.eks_name), self.settings.k8s_namespace)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, scratch = tempfile.mkstemp(prefix=".kubeconfig-", dir=self.path.parent)  # 0600
        with os.fdopen(handle, "w") as out:
            yaml.safe_dump(config, out, sort_keys=False)
        os.replace(scratch, self.path)
        self.written = time.monotonic()


def read_node(instance_table: Path, settings) -> Node:
    """The instance type's row of do/lib/instance-types.json, with NEURON_CORES."""
    rows = json.loads(instance_table.read_text())
    if settings.instance_type not in rows:
        raise ValueError(f"INSTANCE_TYPE={settings.instance_type!r} is not in {instance_table.name}")
    row = rows[settings.instance_type]
    return Node(row["vcpus"], row["memory_gib"], row.get("gpus", 0), settings.neuron_cores)


def write_manifest(root: Path, document: dict[str, Any]) -> Path:
    """k8s/inference-endpoint-config.yaml, as do/deploy applies it."""
    path = root / manifests.MANIFEST_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifests.to_yaml(document))
    return path


def model_prefix(aws: Aws, root: Path) -> str:
    """Where the cluster reads the model from S3: MODEL_DATA_PREFIX, else the project's place in its bucket."""
    workload = Workload.read(root / "do" / "lib" / manifests.WORKLOAD_FILE)
    return manifests.with_model_prefix(aws.settings, Workload(workload.kind), aws.account_id).model_data_prefix


def _check_model_uploaded(aws: Aws, settings) -> None:
    if settings.hyperpod_fsx_id or not settings.model_data_prefix:
        return
    bucket, key = split_s3_uri(settings.model_data_prefix)
    try:
        listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except ClientError as exc:
        if not is_missing(exc):
            raise
        listed = {}
    if not listed.get("KeyCount"):
        raise ValueError(f"nothing under MODEL_DATA_PREFIX={settings.model_data_prefix}: the pods would start "
                         "without a model. Upload it: do/package --upload")  # fmt: skip


def deploy(aws: Aws, root: Path, instance_table: Path, image_uri: str, out=sys.stderr) -> dict[str, Any]:
    """Apply the project's token Secret (LLMs with HF_TOKEN_SECRET_ARN) and its InferenceEndpointConfig
    (server-side), then wait until the operator reports the deployment complete."""
    workload = Workload.read(root / "do" / "lib" / manifests.WORKLOAD_FILE)
    settings = manifests.with_model_prefix(aws.settings, workload, aws.account_id)
    _check_model_uploaded(aws, settings)
    document = manifests.manifest(settings, workload, read_node(instance_table, settings), image_uri)
    kubectl = Kubectl(aws, root)
    print(f"cluster: HyperPod {settings.hyperpod_cluster} on EKS {kubectl.eks_name}, "
          f"namespace {settings.k8s_namespace}", file=out)  # fmt: skip
    if workload.kind == "generative" and settings.hf_token_secret_arn:
        from mcc_runtime.llm.secrets import token_from

        value = aws.client("secretsmanager").get_secret_value(SecretId=settings.hf_token_secret_arn)["SecretString"]
        secret = manifests.token_secret(settings, token_from(value, settings.hf_token_secret_arn))
        kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-", stdin=json.dumps(secret))
        print(f"secret {manifests.token_secret_name(settings)}: the Hugging Face token, from Secrets Manager", file=out)
    path = write_manifest(root, document)
    kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", str(path))
    print(f"applied {path.relative_to(root)} ({manifests.KIND} {manifests.resource_name(settings)})", file=out)
    return wait(kubectl, settings, out)


def wait(kubectl: Kubectl, settings, out=sys.stderr, poll_s: float = POLL_S) -> dict[str, Any]:
    """Poll the resource's status until the deployment completes; a failed state names its failing condition."""
    deadline = time.monotonic() + settings.deploy_timeout_min * 60
    last = ""
    while True:
        resource = json.loads(kubectl("get", manifests.RESOURCE, manifests.resource_name(settings), "-o", "json"))
        done, line = progress(resource)
        if line != last:
            print(f"  {time.strftime('%H:%M:%S')} {line}", file=out, flush=True)
            last = line
        if done:
            return resource
        if time.monotonic() > deadline:
            raise TimeoutError(f"{line} after DEPLOY_TIMEOUT_MIN={settings.deploy_timeout_min} minutes; "
                               "do/status and do/logs show why")  # fmt: skip
        time.sleep(poll_s)


def progress(resource: dict[str, Any]) -> tuple[bool, str]:
    """(done, a line saying where the deployment is) from the resource's status; DeployFailed on failure."""
    state, line, reasons = summary(resource)
    if state in FAILED_STATES:
        reported = resource.get("status", {}).get("deploymentStatus", {}).get("message", "no reason given")
        raise DeployFailed(f"{state}: {reasons or reported}")
    return state == DONE_STATE, line


def summary(resource: dict[str, Any]) -> tuple[str, str, str]:
    """The resource's state, a line saying where the deployment is, and its failing conditions (never raises)."""
    status = resource.get("status", {})
    state = status.get("state", "DeploymentPending")
    failing = [c for c in status.get("conditions", []) if c.get("status") == "False"]
    reasons = "; ".join(f"{c['type']}: {c.get('reason', '')} {c.get('message', '')}".strip() for c in failing)
    replicas = status.get("deploymentStatus", {}).get("status", {})
    ready = f"{replicas.get('readyReplicas', 0)} of {resource.get('spec', {}).get('replicas', 1)} replicas ready"
    endpoint = status.get("endpoints", {}).get("sagemaker", {}).get("state", "")
    line = f"{state}, {ready}" + (f", SageMaker endpoint {endpoint}" if endpoint else "")
    if reasons and state != DONE_STATE:
        line += f" (waiting on {reasons})" if state not in FAILED_STATES else f" ({reasons})"
    return state, line, reasons


def status_lines(resources: list[dict[str, Any]]) -> list[str]:
    """do/status: each of the project's resources, its state (a failed one too), replicas, endpoint, conditions."""
    lines = []
    for resource in resources:
        lines.append(f"{manifests.KIND} {resource['metadata']['name']}: {summary(resource)[1]}")
        for condition in resource.get("status", {}).get("conditions", []):
            lines.append(f"  {condition['type']}: {condition['status']} {condition.get('message', '')}".rstrip())
    return lines


def project_resources(kubectl: Kubectl) -> list[dict[str, Any]]:
    """The InferenceEndpointConfigs with the project's labels in its namespace."""
    selector = manifests.selector(kubectl.settings)
    return json.loads(kubectl("get", manifests.RESOURCE, "-l", selector, "-o", "json")).get("items", [])


def print_status(aws: Aws, root: Path, out=sys.stdout) -> int:
    resources = project_resources(Kubectl(aws, root))
    if not resources:
        print(f"nothing of {aws.settings.project_name} on {aws.settings.hyperpod_cluster}: deploy with do/deploy",
              file=out)  # fmt: skip
        return 1
    for line in status_lines(resources):
        print(line, file=out)
    return 0


def print_logs(aws: Aws, root: Path, since_min: float, follow: bool) -> int:
    """The logs of the pods the project's resource runs (the selector its status records)."""
    kubectl = Kubectl(aws, root)
    pods = [item.get("status", {}).get("selector", "") for item in project_resources(kubectl)]
    if not any(pods):
        print(f"no pods of {aws.settings.project_name} yet: do/status says where the deployment is", file=sys.stderr)
        return 1
    since = f"--since={max(1, int(since_min))}m"
    args = ["logs", "-l", pods[0], "--all-containers", "--prefix", since, "--max-log-requests=20"]
    if follow:
        args.append("--follow")
    sys.stdout.write(kubectl(*args))
    return 0


def clean(aws: Aws, root: Path, out=sys.stderr) -> list[str]:
    """Delete the project's resource (the operator removes its pods and endpoint registration) and Secret."""
    kubectl = Kubectl(aws, root)
    kinds = f"{manifests.RESOURCE},secrets"
    deleted = kubectl("delete", kinds, "-l", manifests.selector(aws.settings), "--ignore-not-found", "-o", "name")
    names = [line for line in deleted.splitlines() if line.strip()]
    for name in names:
        print(f"deleted {name}", file=out)
    if not names:
        print("nothing to delete (hyperpod)", file=out)
    return names
