"""The projects of the CI images (tests.support.docker.IMAGES), generated with their reference answers: the
image tests and bench/image_build build the same ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine

from tests.support import tabular
from tests.support.docker import IMAGES
from tests.support.frameworks import CASES, assert_matches, expected_answer, train
from tests.support.llm import greedy_reference, tiny_llama
from tests.support.projects import mcc_new

CHAT = {"messages": [{"role": "user", "content": "say hello in five words please"}], "max_tokens": 12, "temperature": 0}
TORCH_INDEX = "ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/"  # the Dockerfile installs the CPU-only torch


@dataclass
class ImageProject:
    name: str
    project: Path
    image: str
    check: Callable[[dict], None]  # asserts an answer equals the in-process prediction
    body: bytes
    content_type: str = "text/csv"
    malformed: bytes = b"not,a,row\n"

    @property
    def needs_torch_index(self) -> bool:
        return TORCH_INDEX in (self.project / "Dockerfile").read_text()


def image_project(parent: Path, name: str, prefix: str = "img") -> ImageProject:
    """``name``'s project under ``parent``, named ``PREFIX-NAME`` (also its image's repository)."""
    source, web_server = IMAGES[name]
    if source == "tiny-llama":
        return chat_project(parent, name, f"{prefix}-{name}")
    return tabular_project(parent, name, f"{prefix}-{name}", source, web_server)


def tabular_project(parent: Path, name: str, project_name: str, source: str, web_server: str) -> ImageProject:
    """A predictive project on the churn pipeline or a framework case (25 wine rows)."""
    payload = parent / "rows.csv"
    if source == "churn-pipeline":
        model = tabular.churn_pipeline(parent)
        payload.write_bytes(tabular.csv_body(model.rows))
        path, framework = model.path, "sklearn"

        def check(answer):
            assert answer["predictions"] == model.predict(model.rows)
            np.testing.assert_array_equal(answer["probabilities"], model.predict_proba(model.rows))
    else:
        case = next(c for c in CASES if c.id == source)
        path, framework = train(case, parent), case.framework
        rows = load_wine(return_X_y=True)[0][40:65]
        payload.write_text("".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows))

        def check(answer):
            assert_matches(case, answer, expected_answer(case, path, rows))

    project = mcc_new(
        parent / name, project_name, *("--framework", framework, "--model-file", str(path)),
        *("--sample-payload", str(payload), "--predict-output", "both", "--web-server", web_server),
    )  # fmt: skip
    return ImageProject(name, project, f"{project_name}:latest", check, payload.read_bytes())


def chat_project(parent: Path, name: str, project_name: str) -> ImageProject:
    """mcc's CPU Transformers engine with the tiny Llama in model/ (SageMaker's ModelDataUrl, not in the image)."""
    project = mcc_new(
        parent / name, project_name, *("--framework", "transformers", "--engine", "transformers"),
        *("--model-s3-uri", "s3://models-bucket/tiny-llama/", "--max-model-len", "128"),
    )  # fmt: skip
    model = tiny_llama(project / "model")
    for path in model.iterdir():
        path.chmod(0o644)  # safetensors writes owner-only files: unreadable by the workers (code/serve says so)
    expected = greedy_reference(model, CHAT["messages"], None, CHAT["max_tokens"])

    def check(answer):
        assert answer["choices"][0]["message"]["content"] == expected

    body = json.dumps(CHAT).encode()
    return ImageProject(name, project, f"{project_name}:latest", check, body, "application/json", b"{no")
