"""Least-privilege IAM documents for a project, scoped to its own resource names.

The generator writes them to the project's ``iam/`` (account as a placeholder); do/bootstrap attaches them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .names import (
    TRANSFORM_LOG_GROUP,
    artifact_bucket,
    codebuild_log_group,
    endpoint_log_group,
    inference_component_log_group,
    role_names,
)
from .settings import Settings

ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"


@dataclass(frozen=True)
class Scope:
    """What the policies are scoped to: partition, Region, account, this project's names."""

    partition: str
    region: str
    account: str
    settings: Settings

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    @property
    def bucket(self) -> str:
        return artifact_bucket(self.settings, self.account)

    @property
    def project_objects(self) -> str:
        return self.arn("s3", f"{self.bucket}/{self.settings.project_name}/*", region=False, account=False)

    @property
    def repository(self) -> str:
        return self.arn("ecr", f"repository/{self.settings.repository}")

    def sagemaker(self, kind: str, name: str) -> str:
        return self.arn("sagemaker", f"{kind}/{name.lower()}")  # SageMaker ARNs hold lower-case names


def trust_policy(service: str) -> dict[str, Any]:
    return _document(
        {"Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )


def execution_policy(scope: Scope) -> dict[str, Any]:
    """What SageMaker needs to run the container: pull the image, write logs and metrics, read/write S3."""
    endpoint = scope.settings.endpoint
    component_logs = inference_component_log_group(scope.settings.inference_component) + "*"  # and its adapters
    return _document(
        _allow(
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], scope.repository
        ),
        _allow(["ecr:GetAuthorizationToken"], "*", sid="RegistryLoginCannotBeScoped"),
        _allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [
                scope.arn("logs", f"log-group:{endpoint_log_group(endpoint)}:*"),
                scope.arn("logs", f"log-group:{TRANSFORM_LOG_GROUP}:log-stream:{scope.settings.project_name}-*"),
                scope.arn("logs", f"log-group:{component_logs}:*"),
            ],
        ),
        _allow(
            ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            [
                scope.arn("logs", f"log-group:{endpoint_log_group(endpoint)}:*"),
                scope.arn("logs", f"log-group:{TRANSFORM_LOG_GROUP}:*"),
                scope.arn("logs", f"log-group:{component_logs}:*"),
            ],
            sid="TransformJobsShareOneLogGroup",
        ),
        {
            **_allow(["cloudwatch:PutMetricData"], "*"),
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]}},
        },
        _allow(["s3:GetObject", "s3:PutObject"], scope.project_objects),
        _list_bucket(scope),
        *_model_source_statements(scope),
        *_capture_statements(scope),
    )


def _capture_statements(scope: Scope) -> list[dict[str, Any]]:
    """Data capture to a destination of the user's own (the default lies under the project's objects)."""
    destination = scope.settings.data_capture_s3
    if not (scope.settings.data_capture_percent and destination):
        return []
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    objects = f"{bucket}/{prefix.rstrip('/')}/*" if prefix.strip("/") else f"{bucket}/*"
    return [_allow(["s3:PutObject"], scope.arn("s3", objects, region=False, account=False), sid="DataCapture")]


def _model_source_statements(scope: Scope) -> list[dict[str, Any]]:
    """Read the model from S3 (a model.tar.gz, or a generative model's prefix) and the Hugging Face token secret."""
    settings = scope.settings
    statements = []
    if settings.hf_token_secret_arn:
        statements.append(_allow(["secretsmanager:GetSecretValue"], settings.hf_token_secret_arn))
    if settings.model_data_url:
        bucket, _, key = settings.model_data_url.removeprefix("s3://").partition("/")
        statements.append(_allow(["s3:GetObject"], scope.arn("s3", f"{bucket}/{key}", region=False, account=False)))
    if settings.model_data_prefix:
        bucket, _, prefix = settings.model_data_prefix.removeprefix("s3://").partition("/")
        prefix = prefix.rstrip("/")
        objects = f"{prefix}/*" if prefix else "*"
        statements.append(_allow(["s3:GetObject"], scope.arn("s3", f"{bucket}/{objects}", region=False, account=False)))
        statements.append(
            {
                **_allow(["s3:ListBucket"], scope.arn("s3", bucket, region=False, account=False)),
                "Condition": {"StringLike": {"s3:prefix": [objects]}},
            }
        )
    return statements


def codebuild_policy(scope: Scope) -> dict[str, Any]:
    """What the CodeBuild build needs: read its source, write its logs, push to this repository."""
    return _document(
        _allow(["s3:GetObject", "s3:GetObjectVersion"], scope.project_objects),
        _allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [scope.arn("logs", f"log-group:{codebuild_log_group(scope.settings)}:*")],
        ),
        _allow(_ECR_PUSH, scope.repository),
        _allow(["ecr:GetAuthorizationToken"], "*", sid="RegistryLoginCannotBeScoped"),
    )


def deployer_policy(scope: Scope) -> dict[str, Any]:
    """What the person or CI job running do/ needs."""
    settings = scope.settings
    prefix = settings.project_name
    roles = role_names(settings)
    return _document(
        _allow(
            [
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:InvokeEndpoint",
                "sagemaker:InvokeEndpointAsync",
                "sagemaker:InvokeEndpointWithResponseStream",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:CreateInferenceComponent",
                "sagemaker:UpdateInferenceComponent",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:DeleteInferenceComponent",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            [
                scope.sagemaker("model", f"{prefix}-*"),
                scope.sagemaker("endpoint-config", f"{prefix}-*"),
                scope.sagemaker("endpoint", settings.endpoint),
                scope.sagemaker("transform-job", f"{prefix}-*"),
                scope.sagemaker("inference-component", settings.inference_component),
                scope.sagemaker("inference-component", f"{settings.inference_component}-*"),  # its adapters
            ],
        ),
        _allow(
            [
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:CreateModelPackage",
                "sagemaker:DescribeModelPackage",
                "sagemaker:AddTags",
            ],
            [
                scope.sagemaker("model-package-group", settings.model_package_group or prefix),
                scope.sagemaker("model-package", f"{settings.model_package_group or prefix}/*"),
            ],
        ),
        _allow(
            ["sagemaker:ListModels", "sagemaker:ListEndpointConfigs", "sagemaker:ListInferenceComponents"],
            "*",
            sid="ListingCannotBeScoped",
        ),
        {
            **_allow(["iam:PassRole"], [scope.arn("iam", f"role/{name}", region=False) for name in roles.values()]),
            "Condition": {
                "StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "codebuild.amazonaws.com"]}
            },
        },
        _allow(
            [
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DeleteScalingPolicy",
            ],
            "*",
            sid="AutoscalingHasNoResourceScope",
        ),
        _allow(
            ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
            scope.arn("cloudwatch", f"alarm:{settings.inference_component}-*"),
            sid="ScaleOutFromZeroAlarm",
        ),
        _allow(
            [
                "ecr:CreateRepository",
                "ecr:DescribeRepositories",
                "ecr:DescribeImages",
                "ecr:DeleteRepository",
                "ecr:TagResource",
                *_ECR_PUSH,
            ],
            scope.repository,
        ),
        _allow(["ecr:GetAuthorizationToken", "sts:GetCallerIdentity"], "*", sid="AccountWideReads"),
        _allow(
            [
                "codebuild:CreateProject",
                "codebuild:UpdateProject",
                "codebuild:DeleteProject",
                "codebuild:BatchGetProjects",
                "codebuild:StartBuild",
                "codebuild:BatchGetBuilds",
            ],
            scope.arn("codebuild", f"project/{settings.codebuild_name}"),
        ),
        _allow(
            ["s3:CreateBucket", "s3:ListBucket"],
            scope.arn("s3", scope.bucket, region=False, account=False),
            sid="SharedArtifactBucket",
        ),
        _allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"], scope.project_objects),
        _allow(
            ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DeleteLogGroup"],
            [
                scope.arn("logs", f"log-group:{endpoint_log_group(settings.endpoint)}:*"),
                scope.arn("logs", f"log-group:{codebuild_log_group(settings)}:*"),
            ],
        ),
    )


def documents(scope: Scope) -> dict[str, dict[str, Any]]:
    """File name -> policy document, as written to the project's iam/ directory."""
    documents = {
        "sagemaker-execution-trust.json": trust_policy("sagemaker"),
        "sagemaker-execution-policy.json": execution_policy(scope),
        "codebuild-trust.json": trust_policy("codebuild"),
        "codebuild-policy.json": codebuild_policy(scope),
        "deployer-policy.json": deployer_policy(scope),
    }
    if scope.settings.deploy_mode == "hyperpod":
        documents["hyperpod-deployer-policy.json"] = hyperpod_deployer_policy(scope)
    return documents


def hyperpod_deployer_policy(scope: Scope) -> dict[str, Any]:
    """DEPLOY_MODE=hyperpod, beside deployer-policy.json: find the cluster and its EKS API (the Kubernetes side is
    the EKS access entry and k8s/deployer-role.yaml), read the token secret, invoke the registered endpoint."""
    settings = scope.settings
    statements = [
        _allow(["sagemaker:DescribeCluster"], scope.arn("sagemaker", "cluster/*"), sid="HyperPodClusterById"),
        _allow(["eks:DescribeCluster"], scope.arn("eks", f"cluster/{settings.eks_cluster or '*'}")),
        _allow(
            ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream", "sagemaker:DescribeEndpoint"],
            scope.sagemaker("endpoint", settings.endpoint),
        ),
    ]
    if settings.hf_token_secret_arn:
        statements.append(_allow(["secretsmanager:GetSecretValue"], settings.hf_token_secret_arn))
    return _document(*statements)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


_ECR_PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
]


def _allow(actions: list[str], resources: str | list[str], sid: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    return {"Sid": sid, **statement} if sid else statement


def _list_bucket(scope: Scope) -> dict[str, Any]:
    return {
        **_allow(["s3:ListBucket"], scope.arn("s3", scope.bucket, region=False, account=False)),
        "Condition": {"StringLike": {"s3:prefix": [f"{scope.settings.project_name}/*"]}},
    }


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}
