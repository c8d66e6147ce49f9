"""Default answers, derived from the answers already given (e.g. the format from the file's extension)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import pickle_scan
from .answers import ANSWERS, BY_KEY, GENERATIVE_KEYS, PREDICTIVE_KEYS
from .artifacts import pickle_file
from .catalog import Catalog, Framework
from .errors import FieldError
from .generative_rules import OPTION_DEFAULTS, default_instance_type
from .pinning import recorded, recorded_framework_version
from .sources import Answers, Given
from .spec import field_default

REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def default_for(key: str, values: Mapping[str, Any], catalog: Catalog, environ: Mapping[str, str]) -> Any:
    """The default for ``key`` given the other ``values``; None when there is none."""
    generative = catalog.generative.get(values.get("framework", ""))
    if generative:
        found = _generative_default(key, values, catalog, generative.default_engine)
        if found is not None or key in GENERATIVE_KEYS or key in PREDICTIVE_KEYS:
            return found
    elif key in GENERATIVE_KEYS:
        return None
    framework = catalog.frameworks.get(values.get("framework", catalog.default_framework))
    if key == "output_dir":
        return values.get("project_name")  # ./PROJECT_NAME
    if key == "framework":  # from the model file: its name (model.keras: TensorFlow), or what a pickle names
        model_file = values.get("model_file")
        return (framework_for_file(Path(model_file), catalog) if model_file else None) or catalog.default_framework
    if key == "model_format" and framework:
        model_file = values.get("model_file")
        return (framework.format_for_path(Path(model_file)) if model_file else None) or framework.default_format
    if key == "accelerator":
        instance = catalog.instance(values.get("instance_type") or "")
        serverless = values.get("deploy_mode") == "serverless"
        gpu = instance and instance.gpus and framework and framework.gpu and not serverless
        return "gpu" if gpu else "cpu"
    if key == "framework_version" and framework:  # the release the model file records it was saved with
        return _recorded_version(framework, values) or framework.default_version
    if key == "web_server":
        return catalog.default_server
    if key == "instance_type":
        return catalog.default_instance_type
    if key == "region":
        return next((environ[v] for v in REGION_VARIABLES if environ.get(v) in catalog.regions), catalog.default_region)
    return _stated(key)


def _stated(key: str) -> Any:
    """A default that depends on nothing: the spec field's own (empty text stays unanswered)."""
    default = field_default(BY_KEY[key].path) if key in BY_KEY else None
    return None if default == "" else default


def _recorded_version(framework: Framework, values: Mapping[str, Any]) -> str | None:
    model_file = values.get("model_file")
    if not model_file:
        return None
    path = Path(model_file)
    model_format = values.get("model_format") or framework.format_for_path(path) or ""
    return recorded_framework_version(framework, recorded(framework, model_format, path))


def framework_for_file(path: Path, catalog: Catalog) -> str | None:
    """The framework a model file's name says; for a pickle or joblib file, the one whose classes it names."""
    by_name = catalog.framework_for_path(path)
    if by_name == catalog.default_framework and path.is_file() and pickle_file(path) is None:
        return pickle_scan.framework_of(pickle_scan.references(path)) or by_name
    return by_name


def _generative_default(key: str, values: Mapping[str, Any], catalog: Catalog, default_engine: str) -> Any:
    instance = catalog.instance(values.get("instance_type") or "")
    if instance and instance.accelerator == "neuron":  # only Neuron engines run there
        default_engine = next((n for n, e in catalog.engines.items() if "neuron" in e.accelerators), default_engine)
    engine = catalog.engines.get(values.get("engine") or default_engine)
    if key == "engine":
        return default_engine
    if key == "engine_version":
        return engine.default_version if engine else None
    if key in OPTION_DEFAULTS or key == "task":
        return _stated(key)
    if key == "instance_type":
        return default_instance_type(dict(values), catalog)
    if key == "accelerator":
        if not instance or values.get("deploy_mode") == "serverless" or engine is None:
            return "cpu"
        return instance.accelerator if instance.accelerator in engine.accelerators else "cpu"
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


def missing_required(answers: Answers, catalog: Catalog) -> list[FieldError]:
    """Answers with no default: the project name, and a model (a file, --sample-model, or a model id)."""
    missing = []
    if "project_name" not in answers:
        missing.append(FieldError("project_name", "required (--project-name or MCC_PROJECT_NAME)"))
    framework = answers.get("framework")
    if framework and catalog.is_generative(framework.value):
        if not any(key in answers for key in ("model_id", "model_s3_uri", "gguf_file")):
            missing.append(FieldError("model_id", "required (--model-id ORG/NAME, --model-s3-uri s3://…, or a "
                                      "local --gguf-file for llama.cpp)"))  # fmt: skip
        return missing
    sample = answers.get("sample_model")
    sources = ("model_file", "model_data", "model_package_arn")
    if not any(key in answers for key in sources) and not (sample and _truthy(sample.value)):
        missing.append(FieldError("model_file", "required (--model-file, --model-data, --model-package-arn or "
                                  "--sample-model)"))  # fmt: skip
    return missing


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on", "y", "t"}
