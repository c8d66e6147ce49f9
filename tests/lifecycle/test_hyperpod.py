"""DEPLOY_MODE=hyperpod through the do/ scripts: SageMaker, EKS, S3 and Secrets Manager on the AWS emulator,
kubectl recorded (as docker is) with its argument lists, stdin and kubeconfig asserted; the written manifest
checked against the operator's CRD. What runs on a real cluster (the operator's reconcile, KEDA, the load
balancer) is not exercised here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.lifecycle.conftest import REGION, run_do
from tests.lifecycle.test_do_scripts import seed_endpoint_answer
from tests.support import crd
from tests.support.moto import ACCOUNT, CREDENTIALS
from tests.unit.test_hyperpod_manifest import sklearn_manifest, verify_token

pytestmark = pytest.mark.slow

IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/wine-life:v1"
RECORDING_KUBECTL = """#!/usr/bin/env bash
# Stands in for kubectl: records each call, what it read on stdin and the kubeconfig it was given; answers
# `get` with $KUBECTL_GET, `delete` with $KUBECTL_DELETED and `logs` with a line.
set -euo pipefail
stdin=""
for arg in "$@"; do if [[ "$arg" == "-" ]]; then stdin="$(cat)"; fi; done
"$RECORDING_PYTHON" - "$stdin" "$@" >>"$KUBECTL_LOG" <<'PY'
import json, sys
argv = sys.argv[2:]
config = open(argv[argv.index("--kubeconfig") + 1]).read() if "--kubeconfig" in argv else ""
print(json.dumps({"argv": argv, "stdin": sys.argv[1], "kubeconfig": config}))
PY
case " $* " in
    *" get "*) cat "$KUBECTL_GET" ;;
    *" delete "*) cat "$KUBECTL_DELETED" ;;
    *" logs "*) echo "[pod/wine-life-7f9c/worker] ready at :8080" ;;
esac
"""


def status_document(state: str, conditions: list[dict] | None = None) -> dict:
    """An InferenceEndpointConfig as the operator reports it (valid under the CRD's status schema)."""
    return {
        "apiVersion": "inference.sagemaker.aws.amazon.com/v1", "kind": "InferenceEndpointConfig",
        "metadata": {"name": "wine-life", "namespace": "default"},
        "spec": {"replicas": 1},
        "status": {
            "state": state, "selector": "app=wine-life",
            "deploymentStatus": {"name": "wine-life", "lastUpdated": "2026-12-07T10:00:00Z",
                                 "status": {"readyReplicas": 1 if state == "DeploymentComplete" else 0}},
            "endpoints": {"sagemaker": {"state": "CreationCompleted"}} if state == "DeploymentComplete" else {},
            "conditions": conditions or [],
        },
    }  # fmt: skip


@pytest.fixture
def cluster(aws, aws_env, tmp_path):
    """A HyperPod cluster and the EKS cluster it runs on, in the emulator; the environment for the scripts."""
    eks = aws("eks").create_cluster(
        name="hp-eks", roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1"]}
    )["cluster"]
    group = {"InstanceGroupName": "workers", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1,
             "ThreadsPerCore": 1, "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/hp",
             "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/", "OnCreate": "on_create.sh"}}  # fmt: skip
    aws("sagemaker").create_cluster(ClusterName="ml-cluster", InstanceGroups=[group],
                                    Orchestrator={"Eks": {"ClusterArn": eks["arn"]}})  # fmt: skip
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(RECORDING_KUBECTL)
    kubectl.chmod(0o755)
    get = tmp_path / "get.json"
    get.write_text(json.dumps(status_document("DeploymentComplete")))
    deleted = tmp_path / "deleted.txt"
    deleted.write_text("inferenceendpointconfig.inference.sagemaker.aws.amazon.com/wine-life\n")
    return {
        **aws_env, "DEPLOY_MODE": "hyperpod", "HYPERPOD_CLUSTER": "ml-cluster", "IMAGE_URI": IMAGE,
        "EKS_CLUSTER": "hp-eks",  # the emulator's DescribeCluster leaves out Orchestrator (a Slurm cluster's answer)
        "KUBECTL": str(kubectl), "KUBECTL_LOG": str(tmp_path / "kubectl.log"), "KUBECTL_GET": str(get),
        "KUBECTL_DELETED": str(deleted), "DEPLOY_TIMEOUT_MIN": "1", "eks": eks,
    }  # fmt: skip


def env_of(cluster: dict) -> dict[str, str]:
    return {k: v for k, v in cluster.items() if isinstance(v, str)}


def kubectl_calls(env: dict) -> list[dict]:
    log = Path(env["KUBECTL_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def without_config(argv: list[str], project: Path) -> list[str]:
    """The arguments after the ones every call carries (checked here: the project's kubeconfig and namespace)."""
    assert argv[:4] == ["--kubeconfig", str(project / ".mcc/hyperpod/kubeconfig"), "--namespace", "default"], argv
    return argv[4:]


def test_package_uploads_the_model_files_deploy_applies_the_manifest_and_waits(project, cluster, aws, wine_model, wine):
    env = env_of(cluster)
    refused = run_do(project, env, "deploy", check=False)
    assert refused.returncode == 2 and "do/package --upload" in refused.stderr  # no model in S3 yet
    assert kubectl_calls(env) == []  # refused before any kubectl call

    uploaded = run_do(project, env, "package", "--upload")
    prefix = f"s3://sagemaker-{REGION}-{ACCOUNT}/wine-life/model/"
    assert f"MODEL_DATA_PREFIX={prefix}" in uploaded.stdout
    listed = aws("s3").list_objects_v2(Bucket=f"sagemaker-{REGION}-{ACCOUNT}", Prefix="wine-life/model/")
    local = sorted(p.relative_to(project / "model").as_posix() for p in (project / "model").rglob("*") if p.is_file())
    assert sorted(o["Key"].removeprefix("wine-life/model/") for o in listed["Contents"]) == local

    deployed = run_do(project, env, "deploy")
    assert "DeploymentComplete, 1 of 1 replicas ready, SageMaker endpoint CreationCompleted" in deployed.stderr
    calls = kubectl_calls(env)
    manifest_path = project / "k8s" / "inference-endpoint-config.yaml"
    assert [without_config(c["argv"], project) for c in calls] == [
        ["apply", "--server-side", "--field-manager=mcc", "-f", str(manifest_path)],
        ["get", "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com", "wine-life", "-o", "json"],
    ]
    document = yaml.safe_load(manifest_path.read_text())
    assert crd.errors(document) == []
    assert document["spec"]["worker"]["image"] == IMAGE
    assert document["spec"]["modelSourceConfig"]["s3Storage"]["bucketName"] == f"sagemaker-{REGION}-{ACCOUNT}"

    config = yaml.safe_load(calls[0]["kubeconfig"])
    server = config["clusters"][0]["cluster"]
    assert server["server"] == cluster["eks"]["endpoint"]
    assert server["certificate-authority-data"] == cluster["eks"]["certificateAuthority"]["data"]
    verify_token(config["users"][0]["user"]["token"], "hp-eks", CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    assert (project / ".mcc/hyperpod/kubeconfig").stat().st_mode & 0o077 == 0  # the token is the user's alone

    # do/test --endpoint: through the SageMaker endpoint the operator registers (the emulator answers the model's).
    expected = wine_model.predict(wine[0][:5]).tolist()
    seed_endpoint_answer(env, {"predictions": expected})
    tested = run_do(project, env, "test", "--endpoint")
    assert json.loads(tested.stdout) == {"predictions": expected} and "endpoint wine-life answered" in tested.stderr


def test_a_failed_deployment_names_its_failing_condition(project, cluster):
    env = env_of(cluster)
    run_do(project, env, "package", "--upload")
    failing = [
        {
            "type": "ModelLoaded",
            "status": "False",
            "reason": "StartupProbeFailed",
            "message": "no answer on /ping within 600 s",
            "lastTransitionTime": "2026-12-07T10:05:00Z",
        }
    ]
    document = status_document("DeploymentFailed", failing)
    assert crd.errors({**sklearn_manifest(), "status": document["status"]}) == []  # as the CRD defines a status
    Path(env["KUBECTL_GET"]).write_text(json.dumps(document))
    result = run_do(project, env, "deploy", check=False)
    assert result.returncode == 1
    assert "DeploymentFailed: ModelLoaded: StartupProbeFailed no answer on /ping within 600 s" in result.stderr


def test_without_an_eks_orchestrator_the_cluster_is_refused(project, cluster):
    env = {**env_of(cluster), "EKS_CLUSTER": ""}
    run_do(project, env, "package", "--upload")
    result = run_do(project, env, "deploy", check=False)
    assert result.returncode == 2 and "not orchestrated by Amazon EKS" in result.stderr
    assert kubectl_calls(env) == []


def test_status_logs_and_clean_act_on_the_projects_labels_only(project, cluster):
    env = env_of(cluster)
    Path(env["KUBECTL_GET"]).write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                    "items": [status_document("DeploymentComplete")]}))  # fmt: skip
    status = run_do(project, env, "status")
    assert "InferenceEndpointConfig wine-life: DeploymentComplete, 1 of 1 replicas ready" in status.stdout
    logs = run_do(project, env, "logs", "--no-follow", "--since", "15")
    assert "ready at :8080" in logs.stdout
    cleaned = run_do(project, env, "clean")
    assert "deleted inferenceendpointconfig.inference.sagemaker.aws.amazon.com/wine-life" in cleaned.stderr
    selector = "app.kubernetes.io/instance=wine-life,app.kubernetes.io/managed-by=ml-container-creator"
    resource = "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com"
    assert [without_config(c["argv"], project) for c in kubectl_calls(env)] == [
        ["get", resource, "-l", selector, "-o", "json"],
        ["get", resource, "-l", selector, "-o", "json"],
        ["logs", "-l", "app=wine-life", "--all-containers", "--prefix", "--since=15m", "--max-log-requests=20"],
        ["delete", f"{resource},secrets", "-l", selector, "--ignore-not-found", "-o", "name"],
    ]


def test_an_llm_gets_its_token_as_a_kubernetes_secret_from_secrets_manager(project_python, cluster, aws, tmp_path):
    token = "hf_mccLifecycleToken0123456789"
    arn = aws("secretsmanager").create_secret(Name="hf-token", SecretString=json.dumps({"HF_TOKEN": token}))["ARN"]
    llm = tmp_path / "llm"
    subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "llm-hp", "--framework", "transformers",
         "--model-id", "meta-llama/Llama-3.1-8B-Instruct", "--instance-type", "ml.g5.12xlarge", "--region", REGION,
         "--deploy-mode", "hyperpod", "--hyperpod-cluster", "ml-cluster", "--hf-token-secret-arn", arn,
         "--output-dir", str(llm)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert token not in "".join(p.read_text(errors="ignore") for p in llm.rglob("*") if p.is_file())
    env = {**env_of(cluster), "PYTHON": project_python}  # the do/ scripts' tools: the same pins as the wine project's
    Path(env["KUBECTL_GET"]).write_text(json.dumps(status_document("DeploymentComplete")))
    run_do(llm, env, "deploy")
    apply_secret, apply_config, _ = kubectl_calls(env)
    assert apply_secret["argv"][4:] == ["apply", "--server-side", "--field-manager=mcc", "-f", "-"]
    secret = json.loads(apply_secret["stdin"])
    kubernetes_validate.validate(secret, "1.37.0", strict=True)
    assert secret["stringData"] == {"token": token} and secret["metadata"]["name"] == "llm-hp-hf-token"
    document = yaml.safe_load((llm / "k8s" / "inference-endpoint-config.yaml").read_text())
    assert crd.errors(document) == []
    assert token not in json.dumps(document) and token not in apply_config["stdin"]
    source = document["spec"]["modelSourceConfig"]
    assert source["huggingFaceModel"] == {"modelId": "meta-llama/Llama-3.1-8B-Instruct",
                                          "tokenSecretRef": {"name": "llm-hp-hf-token", "key": "token"}}  # fmt: skip
    assert document["spec"]["metrics"]["enabled"] is True
