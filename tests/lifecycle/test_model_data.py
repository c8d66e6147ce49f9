"""do/package: model/ packed as SageMaker's model.tar.gz and uploaded to S3, then deployed as the model's
ModelDataUrl (against moto's emulator)."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.lifecycle.conftest import run_do
from tests.lifecycle.test_do_scripts import build_and_push
from tests.support.moto import ACCOUNT

pytestmark = pytest.mark.slow
BUCKET = f"sagemaker-us-east-1-{ACCOUNT}"


def test_package_writes_model_tar_gz_with_the_files_at_its_top_level(project, aws_env):
    result = run_do(project, aws_env, "package")
    archive = project / "dist" / "model.tar.gz"
    assert f"packed {archive}" in result.stderr and "MODEL_DATA_URL=" not in result.stdout
    with tarfile.open(archive) as packed:
        members = {m.name: m for m in packed.getmembers()}
    assert set(members) == {p.relative_to(project / "model").as_posix() for p in (project / "model").rglob("*")}
    assert all(m.uid == 0 and not m.issym() for m in members.values())


def test_package_upload_puts_it_in_the_projects_bucket_and_deploy_attaches_it(project, aws_env, aws):
    result = run_do(project, aws_env, "package", "--upload")
    url = f"s3://{BUCKET}/wine-life/model.tar.gz"
    assert result.stdout.strip() == f"MODEL_DATA_URL={url}"
    body = aws("s3").get_object(Bucket=BUCKET, Key="wine-life/model.tar.gz")["Body"].read()
    assert body == (project / "dist" / "model.tar.gz").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(body)) as packed:
        assert packed.getnames() == ["wine.joblib"]

    env = {**aws_env, "MODEL_DATA_URL": url}
    build_and_push(project, env, aws)
    run_do(project, env, "deploy")
    sagemaker = aws("sagemaker")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=sagemaker.describe_endpoint(
        EndpointName="wine-life")["EndpointConfigName"])  # fmt: skip
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == url


def test_package_upload_to_a_named_url_and_a_url_that_is_no_tarball_is_refused(project, aws_env, aws):
    aws("s3").create_bucket(Bucket="my-models")
    named = run_do(project, {**aws_env, "MODEL_DATA_URL": "s3://my-models/wine/v2/model.tar.gz"}, "package", "--upload")
    assert named.stdout.strip() == "MODEL_DATA_URL=s3://my-models/wine/v2/model.tar.gz"
    assert aws("s3").head_object(Bucket="my-models", Key="wine/v2/model.tar.gz")["ContentLength"] > 0
    refused = run_do(project, {**aws_env, "MODEL_DATA_URL": "s3://my-models/wine/model.zip"}, "package", "--upload",
                     check=False)  # fmt: skip
    assert refused.returncode == 2 and "must name a model.tar.gz" in refused.stderr
    assert "Contents" not in aws("s3").list_objects_v2(Bucket="my-models", Prefix="wine/model.zip")
