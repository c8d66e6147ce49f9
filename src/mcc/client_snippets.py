"""The README's "call it from your application" code: boto3's sagemaker-runtime client with the project's own
endpoint, Region, content types and sample request (tested by running it against the local server)."""

from __future__ import annotations

import json

from .spec import ProjectSpec

CHAT_BODY = {
    "messages": [{"role": "user", "content": "What is Amazon SageMaker AI? One sentence."}],
    "max_tokens": 64,
    "temperature": 0,
}
COMPLETION_BODY = {"prompt": "Amazon SageMaker AI is", "max_tokens": 32, "temperature": 0}
EMBEDDING_BODY = {"input": ["Amazon SageMaker AI", "a machine learning service"]}


def predictive_snippet(spec: ProjectSpec, payload_file: str) -> str:
    """Python that sends the project's sample request (its content type) and prints the JSON answer; for an
    asynchronous endpoint, the request queued from S3; none ("") for a batch transform project."""
    mode = spec.deployment.mode
    if mode == "batch" or not payload_file:
        return ""
    content_type = "application/json" if payload_file.endswith(".json") else "text/csv"
    if mode == "async":
        name = payload_file.rsplit("/", 1)[-1]
        call = _call("queued = runtime.invoke_endpoint_async(", spec, [
            f'ContentType="{content_type}",', 'Accept="application/json",',
            f'InputLocation="s3://BUCKET/requests/{name}",  # aws s3 cp {payload_file} s3://BUCKET/requests/',
        ], indent=0)  # fmt: skip
        return _lines("import boto3", "", _client(spec), call, 'print(queued["OutputLocation"])  # ASYNC_OUTPUT_PATH')
    call = _call("answer = runtime.invoke_endpoint(", spec, [
        f'ContentType="{content_type}",', 'Accept="application/json",', "Body=request.read(),",
    ], indent=4)  # fmt: skip
    opened = f'with open("{payload_file}", "rb") as request:'
    return _lines("import json", "", "import boto3", "", _client(spec), opened, call,
                  'print(json.loads(answer["Body"].read()))')  # fmt: skip


def generative_snippets(spec: ProjectSpec, completions: bool) -> dict[str, str]:
    """Request name -> Python that sends it and prints the generated text (or the vectors' sizes): chat, and a
    plain completion where the engine's /invocations takes one; embeddings for an embedding model."""
    gen = spec.generation
    if gen is None or spec.deployment.mode == "batch":
        return {}
    if gen.task == "embedding":
        return {"embeddings": _generative(spec, EMBEDDING_BODY, '[len(item["embedding"]) for item in answer["data"]]')}
    snippets = {"chat": _generative(spec, CHAT_BODY, 'answer["choices"][0]["message"]["content"]')}
    if completions:
        snippets["completion"] = _generative(spec, COMPLETION_BODY, 'answer["choices"][0]["text"]')
    return snippets


def _generative(spec: ProjectSpec, body: dict, shown: str) -> str:
    call = _call("response = runtime.invoke_endpoint(", spec, [
        'ContentType="application/json",', "Body=json.dumps(request),",
    ], indent=0)  # fmt: skip
    return _lines("import json", "", "import boto3", "", _client(spec), f"request = {json.dumps(body)}", call,
                  'answer = json.loads(response["Body"].read())', f"print({shown})")  # fmt: skip


def _client(spec: ProjectSpec) -> str:
    return f'runtime = boto3.client("sagemaker-runtime", region_name="{spec.deployment.region}")'


def _call(opening: str, spec: ProjectSpec, arguments: list[str], indent: int) -> str:
    """``opening`` with the endpoint (and an inference component, named as do/deploy names them by default)
    and ``arguments``, one per line, indented by ``indent``."""
    name = spec.project_name
    target = [f'EndpointName="{name}",']
    if spec.deployment.mode == "inference-component":
        target.append(f'InferenceComponentName="{name}",')
    pad = " " * indent
    return "\n".join([pad + opening, *(f"{pad}    {line}" for line in [*target, *arguments]), pad + ")"])


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"
