"""``do/bootstrap``: create the project's SageMaker and CodeBuild roles with their scoped policies."""

from __future__ import annotations

import json
import sys

from botocore.exceptions import ClientError

from .aws import Aws, is_missing
from .names import role_names
from .policies import Scope, codebuild_policy, execution_policy, trust_policy


def bootstrap(aws: Aws, out=sys.stderr) -> dict[str, str]:
    """Create (or find) the two roles with their inline policies; return their ARNs."""
    scope = Scope(aws.partition, aws.settings.aws_region, aws.account_id, aws.settings)
    iam = aws.client("iam")
    arns = {}
    for kind, (policy, service) in {
        "sagemaker": (execution_policy(scope), "sagemaker"),
        "codebuild": (codebuild_policy(scope), "codebuild"),
    }.items():
        name = role_names(aws.settings)[kind]
        try:
            arns[kind] = iam.get_role(RoleName=name)["Role"]["Arn"]
            print(f"role {name} exists; updating its policy", file=out)
        except ClientError as exc:
            if not is_missing(exc):
                raise
            arns[kind] = iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust_policy(service)),
                Description=f"{service} role of the {aws.settings.project_name} project (ML Container Creator)",
                Tags=aws.tags,
            )["Role"]["Arn"]
            print(f"created role {name}", file=out)
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    return arns
