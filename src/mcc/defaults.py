"""Default answers, derived from the answers already given (e.g. the format from the file's extension)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcc_lifecycle.settings import DEPLOY_MODES
from mcc_runtime.settings import PREDICT_OUTPUTS

from .answers import ANSWERS
from .catalog import Catalog
from .errors import FieldError
from .sources import Answers, Given

DEFAULT_MAX_PAYLOAD_MB = 6
ACCELERATORS = ("cpu", "gpu")
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def default_for(key: str, values: Mapping[str, Any], catalog: Catalog, environ: Mapping[str, str]) -> Any:
    """The default for ``key`` given the other ``values``; None when there is none."""
    framework = catalog.frameworks.get(values.get("framework", catalog.default_framework))
    if key == "output_dir":
        return values.get("project_name")  # ./PROJECT_NAME
    if key == "framework":
        return catalog.default_framework
    if key == "sample_model":
        return False
    if key == "model_format" and framework:
        model_file = values.get("model_file")
        return (framework.format_for_path(Path(model_file)) if model_file else None) or framework.default_format
    if key == "predict_output":
        return PREDICT_OUTPUTS[0]
    if key == "accelerator":
        instance = catalog.instance_types.get(values.get("instance_type") or "")
        serverless = values.get("deploy_mode") == "serverless"
        gpu = instance and instance.gpus and framework and framework.gpu and not serverless
        return "gpu" if gpu else "cpu"
    if key == "framework_version" and framework:
        return framework.default_version
    if key == "web_server":
        return catalog.default_server
    if key == "max_payload_mb":
        return DEFAULT_MAX_PAYLOAD_MB
    if key == "deploy_mode":
        return DEPLOY_MODES[0]
    if key == "instance_count":
        return 1
    if key == "instance_type":
        return catalog.default_instance_type
    if key == "region":
        return next((environ[v] for v in REGION_VARIABLES if environ.get(v) in catalog.regions), catalog.default_region)
    if key == "include_tests":
        return True
    return None


def with_defaults(answers: Answers, catalog: Catalog, environ: Mapping[str, str]) -> Answers:
    filled = dict(answers)
    for answer in ANSWERS:
        if answer.key not in filled:
            values = {k: g.value for k, g in filled.items()}
            value = default_for(answer.key, values, catalog, environ)
            if value is not None:
                filled[answer.key] = Given(value, "default")
    return filled


def missing_required(answers: Answers) -> list[FieldError]:
    """Answers with no default: the project name, and a model (a file, or --sample-model)."""
    missing = []
    if "project_name" not in answers:
        missing.append(FieldError("project_name", "required (--project-name or MCC_PROJECT_NAME)"))
    sample = answers.get("sample_model")
    if "model_file" not in answers and not (sample and _truthy(sample.value)):
        missing.append(FieldError("model_file", "required (--model-file FILE, or --sample-model)"))
    return missing


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on", "y", "t"}
