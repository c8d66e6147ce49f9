"""A model.tar.gz as the SageMaker Python SDK packs it (the artifact + code/inference.py, a helper module and
code/requirements.txt) imported unchanged: `mcc new --model-file model.tar.gz` → the project's hooks are the
archive's → served answers equal those hooks called in-process as AWS's containers call them → the project's own
tests pass. Archives that would write outside their folder, corrupt ones and conflicting requirements are refused
with nothing written."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import tarfile
from pathlib import Path

import boto3
import numpy as np
import pytest
import yaml

from mcc.checks import check_project
from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.aws_hooks import AWS_STYLE
from tests.support.frameworks import Case, raw_output, train
from tests.support.moto import CREDENTIALS, MotoServer
from tests.support.projects import own_tests, readable_folder, stderr_text
from tests.support.projects import run_mcc_new as mcc_new
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

LOWER_CREDENTIALS = {k.lower(): v for k, v in CREDENTIALS.items()}
HELPER = "def round_scores(rows):\n    return [[round(float(p), 6) for p in row] for row in rows]\n"
WITH_HELPER = AWS_STYLE.replace("import joblib\n", "import joblib\nfrom helpers import round_scores\n").replace(
    'return json.dumps({"scores": prediction.tolist()})', 'return json.dumps({"scores": round_scores(prediction)})'
)


def pack(target: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, points_to in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, points_to
            archive.addfile(info)
    return target


@pytest.fixture(scope="module")
def workdir():
    with readable_folder("mcc-archive-") as parent:
        yield parent


@pytest.fixture(scope="module")
def archive(workdir, wine_model_file):
    members = {
        "model.joblib": wine_model_file.read_bytes(),
        "code/inference.py": WITH_HELPER.encode(),
        "code/helpers.py": HELPER.encode(),
        "code/requirements.txt": b"# as the SDK user wrote it\nscikit-learn>=1.0\nnumpy\n",
    }
    return pack(workdir / "model.tar.gz", members)


@pytest.fixture(scope="module")
def imported(workdir, archive, wine_payload_file):
    project = workdir / "imported"
    result = mcc_new(project, "--model-file", str(archive), "--sample-payload", str(wine_payload_file))
    assert result.returncode == 0, result.stderr
    return project, result.stdout


def test_the_archives_code_is_the_projects_and_its_requirements_merge_into_the_pins(imported):
    project, output = imported
    assert "imported model.tar.gz: model/model.joblib, code/inference.py hooks: model_fn, input_fn, predict_fn, " \
           "output_fn" in " ".join(output.split())  # fmt: skip
    assert (project / "code" / "inference.py").read_text() == WITH_HELPER
    assert (project / "code" / "helpers.py").read_text() == HELPER
    assert (project / "model" / "model.joblib").is_file() and not (project / "model" / "code").exists()
    pins = (project / "requirements.txt").read_text().split()
    assert "scikit-learn==1.9.1" in pins and "scikit-learn>=1.0" not in pins and "numpy" not in pins
    assert json.loads((project / "code" / "serving.json").read_text())["handler"] == "sklearn"
    assert "Coming from SageMaker's framework containers" in (project / "README.md").read_text()
    assert check_project(project, require_linters=True) == []


def test_the_server_answers_as_the_archives_hooks_do_in_process(imported, wine):
    project, _ = imported
    spec = importlib.util.spec_from_file_location("aws_archive", project / "code" / "inference.py")
    sys.path.insert(0, str(project / "code"))
    try:
        hooks = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hooks)
    finally:
        sys.path.remove(str(project / "code"))
    model = hooks.model_fn(str(project / "model"))
    text = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in wine[0][:25])
    log = (project / "serve.log").open("w")
    with LocalServer(project, python=project_venv(project), log=log) as server:
        status, answer_type, answer = invoke(server.url, text.encode(), "text/csv", "application/json")
    assert (status, answer_type) == (200, "application/json")
    expected = hooks.output_fn(hooks.predict_fn(hooks.input_fn(text, "text/csv"), model), "application/json")
    assert answer.decode() == expected
    assert "code/inference.py defines: input_fn, model_fn, output_fn, predict_fn" in (project / "serve.log").read_text()


def test_the_imported_projects_own_tests_pass(imported):
    project, _ = imported
    python = project_venv(project)
    result = own_tests(project, python)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout or (" passed" in result.stdout and "skipped" not in result.stdout)


@pytest.mark.parametrize("member", ["model/model.joblib", "sklearn-model", "output/sklearn-model"])
def test_every_layout_without_code_is_served_by_the_defaults(workdir, wine_model_file, wine_payload_file, wine,
                                                             wine_model, member):  # fmt: skip
    """Top level or one folder down, with an extension or SageMaker's extension-less name."""
    archive = pack(workdir / "layout.tar.gz", {member: wine_model_file.read_bytes()})
    project = workdir / f"layout-{member.replace('/', '-').replace('.', '-')}"
    result = mcc_new(project, "--model-file", str(archive), "--sample-payload", str(wine_payload_file))
    assert result.returncode == 0, result.stderr
    assert json.loads((project / "code" / "serving.json").read_text())["model_filename"] == member
    rows = wine[0][:5]
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    with LocalServer(project, python=project_venv(project)) as server:
        status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert status == 200 and json.loads(answer)["predictions"] == wine_model.predict(rows).tolist()


@pytest.mark.parametrize(
    ("members", "links", "message"),
    [
        ({"../evil.joblib": b"x"}, {}, "'../evil.joblib' points outside the archive"),
        ({"model.joblib": b"\x80x"}, {"code/inference.py": "/etc/passwd"}, "'code/inference.py' is a link"),
        (
            {"notes.txt": b"hi", "data/table.csv": b"1,2"},
            {},
            "no model artifact mcc can read at its top or in one folder (found: data/table.csv, notes.txt)",
        ),
        (
            {"model.joblib": b"\x80x", "code/requirements.txt": b"scikit-learn==1.5.2\n"},
            {},
            "'scikit-learn==1.5.2' conflicts with the image's scikit-learn==1.9.1",
        ),
        ({"model.joblib": b"\x80x", "code/serve": b"#!/bin/sh\n"}, {}, "code/ holds serve"),
    ],
    ids=["dot-dot", "link", "no-artifact", "conflict", "reserved-name"],
)
def test_bad_archives_are_refused_and_nothing_is_written(workdir, members, links, message):
    archive = pack(workdir / "bad.tar.gz", members, links)
    target = workdir / "refused"
    result = mcc_new(target, "--model-file", str(archive))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in stderr_text(result)
    assert not target.exists()


def test_a_truncated_archive_is_refused(workdir, archive):
    truncated = workdir / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    result = mcc_new(workdir / "refused", "--model-file", str(truncated))
    assert result.returncode == 2 and "is not a readable model.tar.gz" in stderr_text(result)
    assert result.stderr.startswith("error: ")
    assert not (workdir / "refused").exists()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


def test_an_archive_in_s3_is_downloaded_and_imported(workdir, archive, moto, wine_payload_file, wine_model_file):
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url, **LOWER_CREDENTIALS)
    s3.create_bucket(Bucket="models")
    s3.upload_file(str(archive), "models", "churn/model.tar.gz")
    target, env = workdir / "from-s3", {**os.environ, **moto.env()}
    uri, payload = "s3://models/churn/model.tar.gz", str(wine_payload_file)
    result = mcc_new(target, "--model-file", uri, "--sample-payload", payload, env=env)
    assert result.returncode == 0, result.stderr
    assert (target / "code" / "inference.py").read_text() == WITH_HELPER
    assert (target / "model" / "model.joblib").read_bytes() == wine_model_file.read_bytes()
    missing = mcc_new(workdir / "refused", "--model-file", "s3://models/none/model.tar.gz", env=env)
    assert missing.returncode == 2
    assert "cannot download s3://models/none/model.tar.gz" in stderr_text(missing)
    assert not (workdir / "refused").exists()


def test_model_data_in_s3_is_checked_served_locally_and_left_out_of_the_image(workdir, archive, moto, wine,
                                                                             wine_payload_file):  # fmt: skip
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url, **LOWER_CREDENTIALS)
    s3.create_bucket(Bucket="attached")
    s3.upload_file(str(archive), "attached", "churn/v3/model.tar.gz")
    target, env = workdir / "attached", {**os.environ, **moto.env()}
    uri = "s3://attached/churn/v3/model.tar.gz"
    result = mcc_new(target, "--model-data", uri, "--sample-payload", str(wine_payload_file), env=env)
    assert result.returncode == 0, result.stderr
    dockerfile = (target / "Dockerfile").read_text()
    assert "COPY model/" not in dockerfile and f"SageMaker unpacks MODEL_DATA_URL ({uri})" in dockerfile
    assert "!model/" not in (target / ".dockerignore").read_text()
    assert f"MODEL_DATA_URL=${{MODEL_DATA_URL:-{uri}}}" in (target / "do" / "config").read_text()
    policy = (target / "iam" / "sagemaker-execution-policy.json").read_text()
    assert '"arn:aws:s3:::attached/churn/v3/model.tar.gz"' in policy
    assert yaml.safe_load((target / "mcc.yaml").read_text())["model"]["model_data"] == uri
    assert [f.severity for f in check_project(target) if f.severity == "error"] == []
    rows = wine[0][:3]
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    with LocalServer(target, python=project_venv(target)) as server:  # model/ holds the archive's files locally
        status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert status == 200 and len(json.loads(answer)["scores"]) == 3
    both = mcc_new(workdir / "refused", "--model-data", uri, "--model-file", str(archive), env=env)
    assert both.returncode == 2 and "give either --model-data or --model-file, not both" in stderr_text(both)
    zipped = mcc_new(workdir / "refused", "--model-data", "s3://attached/churn/model.zip", env=env)
    assert zipped.returncode == 2 and "is not a model.tar.gz in S3" in stderr_text(zipped)
    assert not (workdir / "refused").exists()


def test_a_model_registry_package_is_the_models_source(workdir, archive, moto, wine_model_file, wine_payload_file):
    env = {**os.environ, **moto.env()}
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url, **LOWER_CREDENTIALS)
    s3.create_bucket(Bucket="registry")
    s3.upload_file(str(archive), "registry", "churn/model.tar.gz")
    sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=moto.url, **LOWER_CREDENTIALS)
    sagemaker.create_model_package_group(ModelPackageGroupName="churn-models")
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn-models",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": "s3://registry/churn/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    target = workdir / "registered"
    result = mcc_new(target, "--model-package-arn", arn, "--sample-payload", str(wine_payload_file), env=env)
    assert result.returncode == 0, result.stderr
    assert f"model package {arn}: model data s3://registry/churn/model.tar.gz (its image: {image})" in " ".join(
        result.stdout.split()
    )
    answers = yaml.safe_load((target / "mcc.yaml").read_text())["model"]
    assert (answers["model_package_arn"], answers["model_data"]) == (arn, "s3://registry/churn/model.tar.gz")
    assert "MODEL_PACKAGE_GROUP=${MODEL_PACKAGE_GROUP:-churn-models}" in (target / "do" / "config").read_text()
    assert "COPY model/" not in (target / "Dockerfile").read_text()
    assert (target / "model" / "model.joblib").read_bytes() == wine_model_file.read_bytes()

    baked = sagemaker.create_model_package(ModelPackageGroupName="churn-models", InferenceSpecification={
        "Containers": [{"Image": image}], "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]  # fmt: skip
    refused = mcc_new(workdir / "refused", "--model-package-arn", baked, env=env)
    assert refused.returncode == 2 and "has no ModelDataUrl: its model is inside that image" in stderr_text(refused)
    both = mcc_new(workdir / "refused", "--model-package-arn", arn, "--model-file", str(wine_model_file), env=env)
    assert both.returncode == 2 and "give either --model-package-arn or --model-file, not both" in stderr_text(both)
    malformed = mcc_new(workdir / "refused", "--model-package-arn", "arn:aws:s3:::bucket/model", env=env)
    assert malformed.returncode == 2 and "is not a model package ARN" in stderr_text(malformed)
    assert not (workdir / "refused").exists()


@pytest.mark.parametrize("prefix", ["", "1/"])
def test_a_savedmodel_folder_is_found_at_the_top_or_in_a_version_folder(workdir, wine, prefix):
    """As SageMaker's TensorFlow containers take it: saved_model.pb with variables/, at the top or in model/1/."""
    case = Case("tensorflow", "savedmodel", "savedmodel", network=True)
    folder = train(case, workdir / f"saved-{prefix.strip('/') or 'top'}")
    members = {f"{prefix}{p.relative_to(folder).as_posix()}": p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    archive = pack(workdir / "saved.tar.gz", members)
    project = workdir / f"savedmodel-{prefix.strip('/') or 'top'}"
    result = mcc_new(project, "--model-file", str(archive))
    assert result.returncode == 0, result.stderr
    serving = json.loads((project / "code" / "serving.json").read_text())
    assert (serving["handler"], serving["model_format"]) == ("tensorflow", "savedmodel")
    assert serving["model_filename"] == (prefix.strip("/") or ".")
    rows = wine[0][:4]
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    with LocalServer(project, python=project_venv(project)) as server:
        status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert status == 200, answer
    expected = raw_output(case, folder, rows.astype("float32"))  # a SavedModel's signature output, as it is
    assert np.allclose(json.loads(answer)["predictions"], expected, atol=1e-5)
