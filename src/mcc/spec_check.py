"""Answers -> a valid ProjectSpec: the types' own checks, then the rules of the project's kind and the output
directory, every problem collected and raised at once (nothing is written before this passes)."""

from __future__ import annotations

from pydantic import ValidationError

from .answers import BY_PATH, nest
from .catalog import Catalog, InstanceType
from .errors import FieldError, InvalidAnswers
from .generative_rules import generation_errors, generation_warnings, stray_generation_errors
from .predictive_rules import predictive_errors, predictive_warnings
from .sources import Answers
from .spec import ProjectSpec
from .target_dir import target_errors


def build_spec(answers: Answers, catalog: Catalog, *, force: bool = False) -> ProjectSpec:
    """Validate all answers at once; raise InvalidAnswers listing every problem."""
    stray = stray_generation_errors(answers, catalog)
    if stray:
        raise InvalidAnswers(stray)
    try:
        spec = ProjectSpec.model_validate(nest({k: g.value for k, g in answers.items()}))
    except ValidationError as exc:
        raise InvalidAnswers([_field_error(e, answers) for e in exc.errors()]) from None
    errors = consistency_errors(spec, catalog, answers) + target_errors(spec.output_dir, force, answers)
    if errors:
        raise InvalidAnswers(errors)
    return spec


def consistency_errors(spec: ProjectSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """The rules of the project's kind, which relate several answers."""
    if catalog.is_generative(spec.model.framework) or spec.generative:
        return generation_errors(spec, catalog, answers)
    return predictive_errors(spec, catalog, answers)


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
