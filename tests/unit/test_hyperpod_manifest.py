"""The HyperPod InferenceEndpointConfig: built from typed parts, valid under the operator's own CRD schema with
unknown fields refused, and a validator that refuses what the API server would (planted errors of each kind)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import urllib.parse

import boto3
import kubernetes_validate
import pytest
from botocore.validate import ParamValidator

from mcc_lifecycle import hyperpod, hyperpod_manifest
from mcc_lifecycle.aws import Aws
from mcc_lifecycle.hyperpod_manifest import Node, Workload
from mcc_lifecycle.settings import Settings
from mcc_lifecycle.waiting import DeployFailed
from tests.support import crd

G5_12XL = Node(vcpus=48, memory_gib=192, gpus=4)
VLLM = Workload("generative", "/metrics", "vllm:num_requests_waiting", "meta-llama/Llama-3.1-8B-Instruct")
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"


def settings(**overrides) -> Settings:
    base = {
        "project_name": "wine-hp",
        "aws_region": "us-east-1",
        "deploy_mode": "hyperpod",
        "hyperpod_cluster": "ml-cluster",
        "instance_type": "ml.c5.xlarge",
        "model_data_prefix": "s3://models-bucket/wine-hp/model/",
    }
    return Settings(**{**base, **overrides})


def sklearn_manifest(**overrides) -> dict:
    return hyperpod_manifest.manifest(settings(**overrides), Workload(), Node(4, 8), "1.dkr.ecr/wine-hp:v1")


def test_a_predictive_manifest_is_valid_and_mounts_the_s3_prefix_at_opt_ml_model():
    document = sklearn_manifest()
    assert crd.errors(document) == []
    spec = document["spec"]
    assert spec["modelSourceConfig"] == {
        "modelSourceType": "s3",
        "modelLocation": "wine-hp/model",
        "s3Storage": {"bucketName": "models-bucket", "region": "us-east-1"},
    }
    assert spec["worker"]["modelVolumeMount"]["mountPath"] == "/opt/ml/model"
    assert spec["worker"]["modelInvocationPort"]["containerPort"] == 8080
    assert spec["metrics"] == {"enabled": False}  # predictive images serve no /metrics
    assert "autoScalingSpec" not in spec


def test_an_llm_manifest_takes_the_token_from_the_kubernetes_secret_and_scrapes_the_engines_metrics():
    document = hyperpod_manifest.manifest(
        settings(
            model_data_prefix="",
            hf_token_secret_arn=SECRET_ARN,
            gpu_count=4,
            startup_timeout_s=1200,
            instance_type="ml.g5.12xlarge",
        ),
        VLLM,
        G5_12XL,
        "img",
    )
    assert crd.errors(document) == []
    spec = document["spec"]
    source = spec["modelSourceConfig"]
    assert source["modelSourceType"] == "huggingface"
    assert source["huggingFaceModel"]["tokenSecretRef"] == {"name": "wine-hp-hf-token", "key": "token"}
    env = {e["name"]: e for e in spec["worker"]["environmentVariables"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "wine-hp-hf-token"
    assert "value" not in env["HF_TOKEN"] and SECRET_ARN not in str(document)  # only a reference
    assert env["SM_NUM_GPUS"]["value"] == "4"
    assert spec["metrics"] == {"enabled": True, "modelMetrics": {"path": "/metrics", "port": 8080}}


def test_resources_are_what_the_node_gives_a_pod_all_its_gpus_and_memory_limited_as_requested():
    resources = hyperpod_manifest.resources(G5_12XL)
    reserved_cpu = 60 + 10 + 5 + 5 + 2.5 * 44 + 500  # kube-reserved (EKS AMI) + the daemon sets' allowance
    assert resources["requests"]["cpu"] == f"{int((48_000 - reserved_cpu) // 100 * 100)}m"
    memory = 192 * 1024 - (255 + 11 * 110 + 100 + 1024)
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == f"{memory}Mi"
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "4"
    assert "cpu" not in resources["limits"]  # no CPU throttling
    neuron = hyperpod_manifest.resources(Node(4, 16, neuron_cores=2))
    assert neuron["limits"]["aws.amazon.com/neuroncore"] == "2" and "nvidia.com/gpu" not in neuron["limits"]


@pytest.mark.parametrize(("budget", "failures"), [(0, 60), (1200, 120), (3600, 360), (45, 5)])
def test_the_startup_probe_spans_the_start_up_budget_then_short_probes_take_over(budget, failures):
    probes = hyperpod_manifest.probes(budget)
    startup = probes["startupProbe"]
    assert startup["failureThreshold"] == failures
    assert startup["periodSeconds"] * startup["failureThreshold"] >= (budget or hyperpod_manifest.DEFAULT_STARTUP_S)
    for probe in probes.values():
        assert "initialDelaySeconds" not in probe  # no fixed long delay: the startup probe gates the others
        assert probe["httpGet"] == {"path": "/ping", "port": 8080, "scheme": "HTTP"}
    assert probes["readinessProbe"]["periodSeconds"] * probes["readinessProbe"]["failureThreshold"] <= 30


def test_autoscaling_maps_to_the_endpoints_invocations_and_the_engines_queue():
    workload = VLLM
    chosen = settings(
        autoscaling_min=1,
        autoscaling_max=4,
        autoscaling_target=300,
        prometheus_endpoint="https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1a2b",
    )
    document = hyperpod_manifest.manifest(chosen, workload, G5_12XL, "img")
    assert crd.errors(document) == []
    scaling = document["spec"]["autoScalingSpec"]
    assert (scaling["minReplicaCount"], scaling["maxReplicaCount"]) == (1, 4)
    trigger = scaling["cloudWatchTrigger"]
    assert (trigger["namespace"], trigger["metricName"], trigger["targetValue"]) == (
        "AWS/SageMaker",
        "Invocations",
        300,
    )
    assert {"name": "EndpointName", "value": "wine-hp"} in trigger["dimensions"]
    assert "vllm:num_requests_waiting" in scaling["prometheusTrigger"]["query"]
    plain = hyperpod_manifest.manifest(chosen, Workload(), G5_12XL, "img")["spec"]["autoScalingSpec"]
    assert "prometheusTrigger" not in plain  # a predictive image has no queue gauge


def test_fsx_replaces_s3_as_the_model_source():
    document = sklearn_manifest(hyperpod_fsx_id="fs-0123456789abcdef0", hyperpod_fsx_path="/models/wine")
    assert crd.errors(document) == []
    assert document["spec"]["modelSourceConfig"] == {
        "modelSourceType": "fsx",
        "fsxStorage": {"fileSystemId": "fs-0123456789abcdef0"},
        "modelLocation": "models/wine",
    }


def test_a_model_the_cluster_cannot_read_is_refused():
    with pytest.raises(ValueError, match="MODEL_DATA_PREFIX"):
        sklearn_manifest(model_data_prefix="")


def _planted(path: tuple, value=None, delete: bool = False) -> dict:
    document = copy.deepcopy(sklearn_manifest())
    node = document
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_planted(("spec", "endpointName"), "wine_hp!"), "spec.endpointName: 'wine_hp!' does not match"),
        (_planted(("spec", "worker", "image"), delete=True), "spec.worker: 'image' is a required property"),
        (_planted(("spec", "worker", "imagePullSecrets"), ["x"]), "Additional properties are not allowed"),
        (_planted(("spec", "replicas"), "two"), "spec.replicas: 'two' is not of type 'integer'"),
        (_planted(("spec", "modelSourceConfig", "modelSourceType"), "gcs"), "is not one of"),
        (_planted(("spec", "worker", "probes", "startupProbe", "httpGet", "paht"), "/ping"), "'paht' was unexpected"),
        (_planted(("metadata", "name"), "Wine_HP"), "metadata.name: 'Wine_HP' is not a DNS-1123 subdomain"),
        (_planted(("kind",), "InferenceEndpoint"), "no schema for kind 'InferenceEndpoint'"),
        (_planted(("apiVersion",), "inference.sagemaker.aws.amazon.com/v9"), "not 'v9'"),
    ],
    ids=["pattern", "required", "unknown-field", "type", "enum", "nested-unknown", "metadata", "kind", "version"],
)
def test_the_validator_refuses_each_kind_of_error(document, message):
    found = crd.errors(document)
    assert any(message in line for line in found), found


def test_a_validator_that_skips_unknown_kinds_would_have_passed_the_custom_resource():
    """kubernetes-validate has no schema for the CRD (its CLI warns and exits 0): only crd.errors checks it."""
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(sklearn_manifest(), "1.37.0", strict=True)


def test_the_token_secret_is_a_valid_secret_in_strict_mode_and_a_stray_field_is_refused():
    secret = hyperpod_manifest.token_secret(settings(), "hf_token")
    kubernetes_validate.validate(secret, "1.37.0", strict=True)
    assert secret["metadata"]["labels"] == hyperpod_manifest.labels(settings())
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**secret, "stringDatum": {}}, "1.37.0", strict=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hyperpod_cluster": ""}, "HYPERPOD_CLUSTER=''"),
        ({"hyperpod_cluster": "ml_cluster"}, "HYPERPOD_CLUSTER='ml_cluster'"),
        ({"k8s_namespace": "Team-A"}, "K8S_NAMESPACE='Team-A'"),
        ({"hyperpod_fsx_id": "fsx-1"}, "HYPERPOD_FSX_ID='fsx-1'"),
        ({"model_data_prefix": "s3:/bucket"}, "MODEL_DATA_PREFIX='s3:/bucket'"),
        ({"prometheus_endpoint": "http://prometheus:9090"}, "PROMETHEUS_ENDPOINT="),
        ({"autoscaling_max": 2, "autoscaling_min": 3}, "AUTOSCALING_MIN=3"),
    ],
)
def test_hyperpod_settings_are_checked_before_any_call(overrides, message):
    from mcc_lifecycle import rules

    errors = rules.settings_errors(settings(**overrides), "deploy")
    assert any(message in e for e in errors), errors
    assert not any("ROLE_ARN" in e for e in errors)  # the operator's own role registers the endpoint


def _described_cluster(orchestrated: bool) -> dict:
    """A DescribeCluster answer as SageMaker's service model shapes it (checked against botocore's)."""
    answer = {
        "ClusterArn": "arn:aws:sagemaker:us-east-1:123456789012:cluster/abc123",
        "ClusterName": "ml-cluster",
        "ClusterStatus": "InService",
        "InstanceGroups": [],
    }
    if orchestrated:
        answer["Orchestrator"] = {"Eks": {"ClusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/hp-eks"}}
    model = boto3.client("sagemaker", region_name="us-east-1").meta.service_model
    report = ParamValidator().validate(answer, model.operation_model("DescribeCluster").output_shape)
    assert not report.has_errors(), report.generate_report()
    return answer


def test_the_eks_cluster_comes_from_describe_cluster_and_a_slurm_cluster_is_refused():
    assert hyperpod.eks_cluster_name(_described_cluster(True), "", "ml-cluster") == "hp-eks"
    with pytest.raises(ValueError, match="runs on EKS cluster hp-eks"):
        hyperpod.eks_cluster_name(_described_cluster(True), "other", "ml-cluster")
    with pytest.raises(ValueError, match="not orchestrated by Amazon EKS"):
        hyperpod.eks_cluster_name(_described_cluster(False), "", "ml-cluster")


def test_progress_names_the_failing_condition():
    resource = {
        "spec": {"replicas": 2},
        "status": {
            "state": "DeploymentInProgress",
            "deploymentStatus": {
                "name": "wine-hp",
                "lastUpdated": "2026-12-07T10:00:00Z",
                "status": {"readyReplicas": 1},
            },
            "conditions": [
                {
                    "type": "ModelSourceReady",
                    "status": "False",
                    "reason": "S3AccessDenied",
                    "message": "cannot list s3://models-bucket",
                    "lastTransitionTime": "2026-12-07T10:00:00Z",
                }
            ],
        },
    }
    done, line = hyperpod.progress(resource)
    assert not done and "1 of 2 replicas ready" in line and "ModelSourceReady: S3AccessDenied" in line
    resource["status"]["state"] = "DeploymentFailed"
    with pytest.raises(DeployFailed, match="DeploymentFailed: ModelSourceReady: S3AccessDenied cannot list"):
        hyperpod.progress(resource)
    assert crd.errors({**sklearn_manifest(), "status": resource["status"]}) == []  # the status the CRD defines
    shown = hyperpod.status_lines([{**resource, "metadata": {"name": "wine-hp"}}])  # do/status says it, not raises
    assert shown[0].startswith("InferenceEndpointConfig wine-hp: DeploymentFailed, 1 of 2 replicas ready")
    assert "S3AccessDenied" in shown[0]


def verify_token(token: str, cluster: str, secret_key: str) -> dict[str, str]:
    """Recompute the presigned URL's SigV4 signature (query auth) from its own parameters: the token is a real
    presigned STS GetCallerIdentity that names ``cluster`` in a signed header. Returns the query."""
    assert token.startswith(hyperpod.TOKEN_PREFIX)
    encoded = token.removeprefix(hyperpod.TOKEN_PREFIX)
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert query["Action"] == "GetCallerIdentity" and query["X-Amz-Expires"] == str(hyperpod.TOKEN_EXPIRES_S)
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    signed = {k: v for k, v in query.items() if k != "X-Amz-Signature"}
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(signed.items())
    )
    canonical = "\n".join(
        [
            "GET",
            parts.path or "/",
            canonical_query,
            f"host:{parts.netloc}",
            f"x-k8s-aws-id:{cluster}",
            "",
            "host;x-k8s-aws-id",
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    _, date, region, service, _ = query["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    assert hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest() == query["X-Amz-Signature"]
    assert service == "sts"
    return query


def test_the_token_is_a_presigned_get_caller_identity_naming_the_cluster(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAMCCTESTKEY000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mcc-test-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    token = hyperpod.token(Aws(settings()), "hp-eks")
    query = verify_token(token, "hp-eks", "mcc-test-secret")
    assert query["X-Amz-Credential"].startswith("AKIAMCCTESTKEY000001/")
    stamp = dt.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 120
    with pytest.raises(AssertionError):
        verify_token(token, "another-cluster", "mcc-test-secret")  # the cluster's name is part of the signature


def test_the_deployer_role_is_valid_rbac_in_strict_mode_and_bound_to_the_access_entrys_group():
    role, binding = hyperpod_manifest.deployer_role(settings(k8s_namespace="team-a"))
    for part in (role, binding):
        kubernetes_validate.validate(part, "1.37.0", strict=True)
        assert part["metadata"]["namespace"] == "team-a"
    assert {"inferenceendpointconfigs", "secrets", "pods/log"} <= {
        r for rule in role["rules"] for r in rule["resources"]
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "wine-hp-deployers"}
    ]


def test_the_hyperpod_policy_grants_the_cluster_lookups_and_the_token_secret_only():
    from mcc_lifecycle import policies

    scope = policies.Scope("aws", "us-east-1", "123456789012", settings(hf_token_secret_arn=SECRET_ARN))
    document = policies.documents(scope)["hyperpod-deployer-policy.json"]
    actions = {action: s["Resource"] for s in document["Statement"] for action in s["Action"]}
    assert actions["secretsmanager:GetSecretValue"] == SECRET_ARN
    assert actions["eks:DescribeCluster"] == "arn:aws:eks:us-east-1:123456789012:cluster/*"
    assert actions["sagemaker:InvokeEndpoint"] == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/wine-hp"
    assert "hyperpod-deployer-policy.json" not in policies.documents(
        policies.Scope("aws", "us-east-1", "123456789012", settings(deploy_mode="realtime"))
    )
