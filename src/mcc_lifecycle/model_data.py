"""model/ as SageMaker's model.tar.gz: packed with its files at the archive's top level (SageMaker unpacks it
into /opt/ml/model), and uploaded to S3 for ``MODEL_DATA_URL`` (the model's ``ModelDataUrl``)."""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

from .aws import Aws, ensure_bucket, split_s3_uri

ARCHIVE_NAME = "model.tar.gz"


def pack(model_dir: Path, target: Path) -> Path:
    """Write ``target`` from ``model_dir``'s files (sorted, owned by root, no links), atomically."""
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        raise ValueError(f"{model_dir} holds no model to pack")
    links = [p for p in model_dir.rglob("*") if p.is_symlink()]
    if links:
        raise ValueError(f"{links[0]} is a link; SageMaker's model.tar.gz holds files only")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=".model-", suffix=".tar.gz", dir=target.parent)
    os.close(handle)
    try:
        with tarfile.open(scratch, "w:gz") as archive:
            for path in sorted(model_dir.rglob("*")):
                archive.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False, filter=_owned)
        os.replace(scratch, target)
    finally:
        Path(scratch).unlink(missing_ok=True)
    return target


def upload(aws: Aws, archive: Path, destination: str) -> str:
    """Upload ``archive`` to ``destination`` (s3://bucket/key), or to the project's artifact bucket when empty;
    returns the s3:// URI."""
    if not destination:
        bucket = aws.default_bucket()
        ensure_bucket(aws, bucket)
        destination = f"s3://{bucket}/{aws.settings.project_name}/{ARCHIVE_NAME}"
    bucket, key = split_s3_uri(destination)
    if not key.endswith(".tar.gz"):
        raise ValueError(f"MODEL_DATA_URL={destination!r} must name a .tar.gz object")
    aws.client("s3").upload_file(str(archive), bucket, key)
    return destination


def upload_files(aws: Aws, model_dir: Path, prefix: str) -> str:
    """model/'s files, uncompressed, under ``prefix`` (s3://bucket/prefix/): what HyperPod's S3 volume mounts at
    /opt/ml/model. Objects under it that model/ no longer has are deleted; returns the prefix."""
    bucket, key = split_s3_uri(prefix)
    key = key.rstrip("/") + "/" if key else ""
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        raise ValueError(f"{model_dir} holds no model to upload")
    ensure_bucket(aws, bucket)
    s3 = aws.client("s3")
    wanted = {key + p.relative_to(model_dir).as_posix(): p for p in sorted(model_dir.rglob("*")) if p.is_file()}
    for name, path in wanted.items():
        s3.upload_file(str(path), bucket, name)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    stale = [o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"] not in wanted]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start : start + 1000]]})
    return f"s3://{bucket}/{key}"


def _owned(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member
