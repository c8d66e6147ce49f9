"""``do/test --endpoint``: send the sample payload to the deployed endpoint and check the answer's shape."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

from botocore.exceptions import ClientError

from mcc_runtime.smoke import CONTENT_TYPES, check_answer  # from the project's code/ (on PYTHONPATH)

from .aws import Aws, ensure_bucket, is_missing, split_s3_uri


def content_type_of(payload: Path) -> str:
    try:
        return CONTENT_TYPES[payload.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the content type of {payload} (.csv or .json)") from None


def invoke_sync(aws: Aws, payload: bytes, content_type: str) -> tuple[str, bytes]:
    answer = aws.client("sagemaker-runtime").invoke_endpoint(
        **aws.settings.invocation_target, ContentType=content_type, Accept="application/json", Body=payload
    )
    return answer.get("ContentType", ""), answer["Body"].read()


def invoke_async(aws: Aws, payload: bytes, content_type: str, wait_s: float, poll: float = 2.0) -> tuple[str, bytes]:
    """Upload the payload, invoke asynchronously and wait for the output (or failure) object in S3."""
    s3 = aws.client("s3")
    bucket = aws.default_bucket()
    ensure_bucket(aws, bucket)
    key = f"{aws.settings.project_name}/async-inputs/{uuid.uuid4().hex}"
    s3.put_object(Bucket=bucket, Key=key, Body=payload, ContentType=content_type)
    answer = aws.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=aws.settings.endpoint,
        InputLocation=f"s3://{bucket}/{key}",
        ContentType=content_type,
        Accept="application/json",
    )
    output, failure = answer["OutputLocation"], answer.get("FailureLocation")
    print(f"queued {answer.get('InferenceId', '')}: waiting for {output}", file=sys.stderr)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        found = _read_s3(s3, output)
        if found is not None:
            return found
        failed = _read_s3(s3, failure) if failure else None
        if failed is not None:
            raise AssertionError(f"the async invocation failed: {failed[1][:500].decode(errors='replace')}")
        time.sleep(poll)
    raise TimeoutError(f"no async result at {output} within {wait_s:g} s")


def _read_s3(s3, uri: str) -> tuple[str, bytes] | None:
    bucket, key = split_s3_uri(uri)
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc) or exc.response.get("Error", {}).get("Code") == "NoSuchKey":
            return None
        raise
    return answer.get("ContentType", ""), answer["Body"].read()


def test_endpoint(aws: Aws, payload_path: Path, wait_s: float, expected: Path | None = None) -> dict:
    """Invoke the endpoint with the payload; the answer checked as do/test checks a local one."""
    mode = aws.settings.deploy_mode
    if mode == "batch":
        raise ValueError("DEPLOY_MODE=batch has no endpoint: do/deploy waits for the transform job and reports it")
    payload = payload_path.read_bytes()
    content_type = content_type_of(payload_path)
    if mode == "async":
        _, body = invoke_async(aws, payload, content_type, wait_s)
    else:
        _, body = invoke_sync(aws, payload, content_type)
    return check_answer(payload, content_type, body, expected.read_bytes() if expected else None)


def test_generative_endpoint(aws: Aws, payload_path: Path, task: str, wait_s: float) -> dict:
    """A chat request and the same one streamed (InvokeEndpointWithResponseStream), or an embeddings request;
    an async endpoint gets the request through S3 (InvokeEndpointAsync), which streams nothing."""
    from mcc_runtime.llm import smoke

    request = json.loads(payload_path.read_text())
    runtime = aws.client("sagemaker-runtime")
    mode = aws.settings.deploy_mode
    body = json.dumps(request).encode()
    if mode == "async":
        _, body = invoke_async(aws, body, "application/json", wait_s)
    else:
        _, body = invoke_sync(aws, body, "application/json")
    answer = json.loads(body)
    if task == "embedding":
        return {"embeddings": len(answer["data"]), "dimension": smoke.check_embeddings(request, answer)}
    text = smoke.check_completion(answer)
    if mode == "async":
        return {"completion": text, "streamed": "not offered by async endpoints"}
    streamed = runtime.invoke_endpoint_with_response_stream(
        **aws.settings.invocation_target,
        ContentType="application/json",
        Body=json.dumps({**request, "stream": True}).encode(),
    )
    events = b"".join(part["PayloadPart"]["Bytes"] for part in streamed["Body"] if "PayloadPart" in part)
    return {"completion": text, "streamed": smoke.check_stream(events)}
