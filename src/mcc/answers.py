"""Every answer ``mcc new`` takes: its flat key, where it lives in the spec, its flag and env variable.

Flags are ``--<key with dashes>``, environment variables ``MCC_<KEY>``; config files use the nested
``path`` (the shape of ``mcc.yaml``) or the flat key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["str", "bool", "int", "path"]


@dataclass(frozen=True)
class Answer:
    key: str
    path: tuple[str, ...]
    kind: Kind
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def env(self) -> str:
        return "MCC_" + self.key.upper()


# In the order the interactive decision tree asks them.
ANSWERS: tuple[Answer, ...] = (
    Answer(
        "project_name", ("project_name",), "str", "Project name; becomes the image, SageMaker model and endpoint name"
    ),
    Answer("output_dir", ("output_dir",), "path", "Directory to create [default: ./PROJECT_NAME]"),
    Answer("framework", ("model", "framework"), "str", "Model framework"),
    Answer("sample_model", ("model", "sample"), "bool", "Train a small sample model instead of using a model file"),
    Answer("model_file", ("model", "file"), "path", "Trained model file (or SavedModel directory) to serve"),
    Answer("model_format", ("model", "format"), "str", "Model file format [default: from the file's extension]"),
    Answer(
        "predict_output",
        ("serving", "predict_output"),
        "str",
        "What /invocations returns: label (predict), proba (class probabilities) or both [default: label]",
    ),
    Answer(
        "feature_names",
        ("model", "feature_names"),
        "str",
        "Comma-separated feature names: CSV may then start with a header row, JSON rows may be objects",
    ),
    Answer(
        "framework_version",
        ("model", "framework_version"),
        "str",
        "Framework version pinned in the image (must match the one the model was trained with)",
    ),
    Answer(
        "sample_payload",
        ("model", "sample_payload"),
        "path",
        "Example request (.csv rows or .json) used by do/test and the project's tests",
    ),
    Answer("web_server", ("serving", "web_server"), "str", "Web server in front of the model"),
    Answer("max_payload_mb", ("serving", "max_payload_mb"), "int", "Largest request body in MB [default: 6]"),
    Answer(
        "deploy_mode",
        ("deployment", "mode"),
        "str",
        "How do/deploy deploys: realtime, async, serverless or batch [default: realtime]",
    ),
    Answer("instance_type", ("deployment", "instance_type"), "str", "SageMaker instance type"),
    Answer(
        "accelerator",
        ("deployment", "accelerator"),
        "str",
        "cpu or gpu image [default: gpu on a GPU instance for frameworks with a GPU image, else cpu]",
    ),
    Answer("instance_count", ("deployment", "instance_count"), "int", "Instances behind the endpoint [default: 1]"),
    Answer(
        "role_arn",
        ("deployment", "role_arn"),
        "str",
        "IAM role SageMaker assumes to run the model (settable later in do/config, or made by do/bootstrap)",
    ),
    Answer("region", ("deployment", "region"), "str", "AWS Region [default: $AWS_REGION, else us-east-1]"),
    Answer("include_tests", ("include_tests",), "bool", "Generate the project's tests/ [default: yes]"),
)

BY_KEY: dict[str, Answer] = {a.key: a for a in ANSWERS}
BY_PATH: dict[tuple[str, ...], Answer] = {a.path: a for a in ANSWERS}


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"framework": "sklearn"}`` -> ``{"model": {"framework": "sklearn"}}``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = BY_KEY[key].path
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested
