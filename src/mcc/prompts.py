"""The interactive decision tree: asks, in order, only what no flag, env variable or file answered.

Each question shows the default that would otherwise apply and validates with the same rules as
the spec, so a wrong answer is asked again instead of failing at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import questionary

from mcc_lifecycle.settings import DEPLOY_MODES
from mcc_runtime.settings import PREDICT_OUTPUTS

from . import validation
from .catalog import Catalog
from .defaults import default_for
from .sources import Answers, Given

SOURCE = "prompt"
DEPLOY_MODE_LABELS = {
    "realtime": "Real-time endpoint (instances always on)",
    "async": "Asynchronous endpoint (queued requests, results in S3)",
    "serverless": "Serverless endpoint (pay per request, CPU only)",
    "batch": "Batch transform job (files in S3)",
    "inference-component": "Inference component on an endpoint (own reservation and copies; endpoints shared)",
    "hyperpod": "SageMaker HyperPod cluster on Amazon EKS (the inference operator; registered as an endpoint)",
}

PREDICT_OUTPUT_LABELS = {
    "label": "Predictions (model.predict: labels or values)",
    "proba": "Class probabilities (predict_proba)",
    "both": "Both labels and class probabilities",
}


class Aborted(Exception):
    """The user pressed Ctrl-C at a prompt; ``answers`` holds what was answered until then."""

    def __init__(self, answers: Answers | None = None) -> None:
        super().__init__("aborted")
        self.answers = answers or {}


def ask_missing(
    answers: Answers, catalog: Catalog, environ: Mapping[str, str], force: bool, only: Collection[str] | None = None
) -> Answers:
    """Ask, in the tree's order, each relevant question no answer has (of ``only``, when given)."""
    asked = dict(answers)
    for key, question in QUESTIONS.items():
        if key in asked or (only is not None and key not in only):
            continue
        values = {k: g.value for k, g in asked.items()}
        if not _relevant(key, values, catalog):
            continue
        default = default_for(key, values, catalog, environ)
        try:
            value = question(values, default, catalog, force).unsafe_ask()
        except KeyboardInterrupt:
            raise Aborted(asked) from None
        if isinstance(value, str):
            value = value.strip()
        if value == "" and key in OPTIONAL:
            continue  # skipped
        asked[key] = Given(value, SOURCE)
    return asked


def reaskable(fields: Collection[str], answers: Answers, catalog: Catalog) -> list[str]:
    """The questions to ask again for answers that were refused: those the tree asks in this project."""
    values = {k: g.value for k, g in answers.items() if k not in fields}
    return [key for key in QUESTIONS if key in fields and _relevant(key, values, catalog)]


GENERATIVE_QUESTIONS = ("model_id", "engine")
PREDICTIVE_QUESTIONS = ("sample_model", "model_file", "model_format", "sample_payload", "predict_output", "web_server")
OPTIONAL = ("sample_payload",)  # Enter skips them


def _relevant(key: str, values: dict[str, Any], catalog: Catalog) -> bool:
    generative = catalog.is_generative(values.get("framework", ""))
    if key in GENERATIVE_QUESTIONS and not generative:
        return False
    if generative:
        if key in PREDICTIVE_QUESTIONS or (key == "model_id" and ("model_s3_uri" in values or "gguf_file" in values)):
            return False
        if key == "accelerator":
            return False  # the engine decides: GPU engines need a GPU, mcc's own follows the instance
    framework = catalog.frameworks.get(values.get("framework", ""))
    if key == "sample_model":
        return bool(framework and framework.sample) and "model_file" not in values
    if key == "model_file":
        return not values.get("sample_model")
    if key == "sample_payload":
        return bool(framework) and not values.get("sample_model")  # the sample model brings its own
    if key == "instance_type":
        return values.get("deploy_mode") != "serverless"  # serverless endpoints have no instance type
    if key in ("hyperpod_cluster", "k8s_namespace"):
        return values.get("deploy_mode") == "hyperpod"
    if key == "model_format":
        # Asked only when the file's extension (or being a directory) does not already tell.
        model_file = values.get("model_file")
        return bool(framework) and not (model_file and framework.format_for_path(Path(model_file)))
    if key == "accelerator":
        instance = catalog.instance(values.get("instance_type") or "")
        return bool(framework and framework.gpu and instance and instance.gpus)
    return True


def _validator(check: Callable[[str], str | None]) -> Callable[[str], bool | str]:
    return lambda text: True if (message := check(text.strip())) is None else message


def _project_name(values, default, catalog, force):
    return questionary.text(
        "Project name (model and endpoint name):", validate=_validator(validation.project_name_error)
    )


def _output_dir(values, default, catalog, force):
    def check(text: str) -> str | None:
        path = Path(text or default).expanduser()
        if path.exists() and not path.is_dir():
            return "exists and is not a directory"
        if path.is_dir() and any(path.iterdir()) and not force:
            return "exists and is not empty (rerun with --force to overwrite)"
        return None

    return questionary.text("Output directory:", default=default, validate=_validator(check))


def _framework(values, default, catalog, force):
    choices = [questionary.Choice(f.display_name, f.name) for f in catalog.frameworks.values()]
    choices += [questionary.Choice(f.display_name, f.name) for f in catalog.generative.values()]
    return questionary.select("Framework:", choices=choices, default=_choice(choices, default))


def _sample_model(values, default, catalog, force):
    framework = catalog.frameworks[values["framework"]]
    choices = [
        questionary.Choice("My trained model file", False),
        questionary.Choice(f"A sample model: {framework.sample.description}", True),
    ]
    return questionary.select("Model:", choices=choices, default=choices[0])


def _model_file(values, default, catalog, force):
    from .predictive_rules import model_file_problem

    framework = catalog.frameworks[values["framework"]]
    directories = any(f.directory for f in framework.formats.values())

    def check(text: str) -> str | None:
        path = Path(text).expanduser()
        if not text or not (path.is_file() or (directories and path.is_dir())):
            return "no such file" + (f": {path.resolve()}" if text else "")
        return model_file_problem(path, framework)  # checked as a model now, not after the last question

    label = "Model file or SavedModel directory:" if directories else "Model file:"
    return questionary.path(label, validate=_validator(check))


def _sample_payload(values, default, catalog, force):
    from .predictive_rules import PAYLOAD_SUFFIXES

    def check(text: str) -> str | None:
        path = Path(text).expanduser()
        if not text:
            return None
        if not path.is_file():
            return f"no such file: {path.resolve()}"
        return None if path.suffix.lower() in PAYLOAD_SUFFIXES else f"must be a {' or '.join(PAYLOAD_SUFFIXES)} file"

    label = "Sample request for do/test and the tests (.csv rows or .json; Enter to skip):"
    return questionary.path(label, validate=_validator(check))


def _model_id(values, default, catalog, force):
    return questionary.autocomplete(
        "Hugging Face model id (ORG/NAME; type to search the models mcc knows):",
        choices=list(catalog.llm_models),
        validate=_validator(validation.model_id_error),
    )


def _engine(values, default, catalog, force):
    choices = [questionary.Choice(e.display_name, e.name) for e in catalog.engines.values()]
    return questionary.select("Serving engine:", choices=choices, default=_choice(choices, default))


def _model_format(values, default, catalog, force):
    framework = catalog.frameworks[values["framework"]]
    choices = [questionary.Choice(f"{f.name}: {f.description}", f.name) for f in framework.formats.values()]
    return questionary.select("Model format:", choices=choices, default=_choice(choices, default))


def _predict_output(values, default, catalog, force):
    choices = [questionary.Choice(PREDICT_OUTPUT_LABELS[o], o) for o in PREDICT_OUTPUTS]
    return questionary.select("What /invocations returns:", choices=choices, default=_choice(choices, default))


def _accelerator(values, default, catalog, force):
    choices = [
        questionary.Choice("GPU image (CUDA)", "gpu"),
        questionary.Choice("CPU image (the GPUs stay idle)", "cpu"),
    ]
    return questionary.select("Image:", choices=choices, default=_choice(choices, default))


def _web_server(values, default, catalog, force):
    choices = [questionary.Choice(s.display_name, s.name) for s in catalog.servers.values()]
    return questionary.select("Web server:", choices=choices, default=_choice(choices, default))


def _deploy_mode(values, default, catalog, force):
    choices = [questionary.Choice(DEPLOY_MODE_LABELS[mode], mode) for mode in DEPLOY_MODES]
    return questionary.select("Deployment (do/deploy):", choices=choices, default=_choice(choices, default))


def _hyperpod_cluster(values, default, catalog, force):
    return questionary.text(
        "HyperPod cluster (EKS-orchestrated):", validate=_validator(validation.hyperpod_cluster_error)
    )


def _k8s_namespace(values, default, catalog, force):
    return questionary.text("Kubernetes namespace:", default=default or "default",
                            validate=_validator(validation.k8s_namespace_error))  # fmt: skip


def _instance_type(values, default, catalog, force):
    names = list(catalog.instance_types)
    return questionary.autocomplete(
        "Instance type (type to search):",
        choices=names,
        default=default,
        meta_information={n: t.label.split("  ", 1)[1] for n, t in catalog.instance_types.items()},
        validate=_validator(lambda text: validation.instance_type_error(text, catalog)),
    )


def _region(values, default, catalog, force):
    return questionary.autocomplete(
        "AWS Region (type to search):",
        choices=list(catalog.regions),
        default=default,
        meta_information={code: r.name for code, r in catalog.regions.items()},
        validate=_validator(lambda text: validation.region_error(text, catalog)),
    )


def _include_tests(values, default, catalog, force):
    return questionary.confirm("Generate tests?", default=bool(default))


def _choice(choices: list[questionary.Choice], value: Any) -> questionary.Choice | None:
    return next((c for c in choices if c.value == value), None)


# The decision tree, in order; answers not listed here (e.g. framework_version) take their defaults.
QUESTIONS: dict[str, Callable[..., questionary.Question]] = {
    "project_name": _project_name,
    "output_dir": _output_dir,
    "framework": _framework,
    "model_id": _model_id,
    "engine": _engine,
    "sample_model": _sample_model,
    "model_file": _model_file,
    "model_format": _model_format,
    "sample_payload": _sample_payload,
    "predict_output": _predict_output,
    "web_server": _web_server,
    "deploy_mode": _deploy_mode,
    "hyperpod_cluster": _hyperpod_cluster,
    "k8s_namespace": _k8s_namespace,
    "instance_type": _instance_type,
    "accelerator": _accelerator,
    "region": _region,
    "include_tests": _include_tests,
}
