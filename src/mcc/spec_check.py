"""Answers -> a valid ProjectSpec: the types' own checks, then the rules of the project's kind and the output
directory, every problem collected and raised at once (nothing is written before this passes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from .answers import BY_PATH, nest
from .catalog import Catalog, InstanceType
from .errors import FieldError, InvalidAnswers, answer_error
from .generative_rules import generation_errors, generation_warnings, stray_generation_errors
from .predictive_rules import predictive_errors, predictive_warnings
from .sources import Answers
from .spec import ProjectSpec
from .target_dir import target_errors
from .validation import file_not_found

FILE_ANSWERS = ("model_file", "sample_payload", "code_dir", "requirements")  # local paths (or s3:// URIs)


def build_spec(
    answers: Answers, catalog: Catalog, *, force: bool = False, problems: Sequence[FieldError] = ()
) -> ProjectSpec:
    """Validate all answers at once; raise InvalidAnswers listing every problem, with ``problems`` found before
    (unknown settings, missing answers)."""
    earlier = list(problems) + stray_generation_errors(answers, catalog)
    try:
        spec = ProjectSpec.model_validate(nest({k: g.value for k, g in answers.items()}))
    except ValidationError as exc:
        reported = {e.field for e in earlier}
        typed = [e for e in (_field_error(e, answers) for e in exc.errors()) if e.field not in reported]
        typed_fields = {e.field for e in typed}
        files = [e for e in missing_file_errors(answers) if e.field not in reported | typed_fields]
        raise InvalidAnswers(earlier + typed + files) from None
    if earlier:
        raise InvalidAnswers(earlier + missing_file_errors(answers))
    errors = consistency_errors(spec, catalog, answers) + target_errors(spec.output_dir, force, answers)
    if errors:
        raise InvalidAnswers(errors)
    return spec


def missing_file_errors(answers: Answers) -> list[FieldError]:
    """Local files named by path answers that do not exist, each with the path looked for: said with the other
    answers' errors when those stop the full check."""
    errors = []
    for key in FILE_ANSWERS:
        given = answers.get(key)
        if given is None or not isinstance(given.value, str | Path) or str(given.value).startswith("s3://"):
            continue
        if not Path(given.value).expanduser().exists():
            errors.append(FieldError(key, file_not_found(given.value), given.value, given.source))
    return errors


def consistency_errors(spec: ProjectSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """The rules of the project's kind, which relate several answers."""
    if catalog.is_generative(spec.model.framework) or spec.generative:
        return deployment_errors(spec, answers) + generation_errors(spec, catalog, answers)
    return deployment_errors(spec, answers) + predictive_errors(spec, catalog, answers)


def deployment_errors(spec: ProjectSpec, answers: Answers) -> list[FieldError]:
    """A HyperPod deployment names its cluster; the cluster and namespace answers belong to it alone."""
    deployment = spec.deployment
    if deployment.mode == "hyperpod" and not deployment.hyperpod_cluster:
        message = "must be given with --deploy-mode hyperpod: the HyperPod cluster do/deploy deploys to"
        return [answer_error(answers, "hyperpod_cluster", "", message)]
    if deployment.mode != "hyperpod":
        given = {k: g for k, g in answers.items() if k in ("hyperpod_cluster", "k8s_namespace")}
        stray = [key for key, value in given.items() if value.source != "default"]
        return [answer_error(answers, key, answers[key].value, "is for --deploy-mode hyperpod only") for key in stray]
    return []


def spec_warnings(spec: ProjectSpec, catalog: Catalog) -> list[str]:
    """Valid but probably unintended choices, said after generating."""
    if spec.deployment.mode == "serverless":
        return []
    warnings = generation_warnings(spec, catalog) if spec.generative else predictive_warnings(spec, catalog)
    instance = catalog.instance(spec.deployment.instance_type)
    if instance is not None and not instance.listed:
        warnings.insert(0, unlisted_instance_warning(instance))
    return warnings


def unlisted_instance_warning(instance: InstanceType) -> str:
    return (
        f"{instance.name} is a SageMaker instance type mcc has no data for: taken as {instance.vcpus} vCPUs (its "
        f"size) and {instance.memory_gib:g} GiB (its family class's memory per vCPU), with no GPU; check both "
        "on AWS's instance page (do/run --sagemaker uses them as the container's limits)"
    )


def _field_error(error: dict, answers: Answers) -> FieldError:
    loc = tuple(str(part) for part in error["loc"])
    answer = BY_PATH.get(loc)
    key = answer.key if answer else ".".join(loc)
    message = error["msg"].removeprefix("Value error, ")
    given = answers.get(key)
    return FieldError(key, message, given.value if given else error.get("input"), given.source if given else None)
