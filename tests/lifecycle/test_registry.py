"""do/register: the pushed image and its model data as Model Registry versions (against moto's emulator)."""

from __future__ import annotations

import pytest

from tests.lifecycle.conftest import run_do
from tests.lifecycle.test_do_scripts import REGISTRY, REPOSITORY, build_and_push

pytestmark = pytest.mark.slow


def test_register_creates_the_group_then_a_version_per_call(project, aws_env, aws):
    tag = build_and_push(project, aws_env, aws)
    env = {**aws_env, "MODEL_DATA_URL": "s3://models/wine/model.tar.gz", "CONTAINER_ENV": "MCC_WORKERS=2"}
    first = run_do(project, env, "register")
    arn = first.stdout.strip()
    assert arn.startswith("arn:aws:sagemaker:us-east-1:") and "(PendingManualApproval)" in first.stderr
    sagemaker = aws("sagemaker")
    assert sagemaker.describe_model_package_group(ModelPackageGroupName="wine-life")["ModelPackageGroupName"]
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == f"{REGISTRY}/{REPOSITORY}:{tag}"
    assert container["ModelDataUrl"] == "s3://models/wine/model.tar.gz"
    assert container["Environment"] == {"MCC_WORKERS": "2"}
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert "text/csv" in package["InferenceSpecification"]["SupportedContentTypes"]

    second = run_do(project, env, "register", "--approve")
    assert sagemaker.describe_model_package(ModelPackageName=second.stdout.strip())["ModelApprovalStatus"] == (
        "Approved"
    )
    versions = sagemaker.list_model_packages(ModelPackageGroupName="wine-life")["ModelPackageSummaryList"]
    assert sorted(v["ModelPackageVersion"] for v in versions) == [1, 2]


def test_register_refuses_a_bad_group_or_status_before_any_call(project, aws_env, aws):
    bad = run_do(project, {**aws_env, "MODEL_PACKAGE_GROUP": "no_underscores", "IMAGE_TAG": "v1"}, "register",
                 check=False)  # fmt: skip
    assert bad.returncode == 2 and "MODEL_PACKAGE_GROUP='no_underscores' is not a Model Package Group name" in (
        bad.stderr
    )
    status = run_do(project, {**aws_env, "MODEL_APPROVAL_STATUS": "Maybe", "IMAGE_TAG": "v1"}, "register",
                    check=False)  # fmt: skip
    assert status.returncode == 2 and "MODEL_APPROVAL_STATUS='Maybe' must be one of" in status.stderr
    assert aws("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"] == []
