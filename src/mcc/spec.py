"""ProjectSpec: the validated answers. Built once from the merged sources; everything after reads it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import validation
from .answers import BY_PATH, nest
from .catalog import Catalog, load_catalog
from .errors import FieldError, InvalidAnswers
from .sources import Answers

PAYLOAD_SUFFIXES = (".csv", ".json")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Spec):
    framework: str
    format: str
    framework_version: str
    file: Path | None = None
    sample: bool = False
    sample_payload: Path | None = None

    @field_validator("framework")
    @classmethod
    def _known_framework(cls, value: str) -> str:
        return _check(validation.choice_error(value, load_catalog().frameworks, "framework"), value)


class ServingSpec(_Spec):
    web_server: str
    max_payload_mb: int = Field(ge=1, le=1024)

    @field_validator("web_server")
    @classmethod
    def _known_server(cls, value: str) -> str:
        return _check(validation.choice_error(value, load_catalog().servers, "web server"), value)


class DeploymentSpec(_Spec):
    instance_type: str
    region: str

    @field_validator("instance_type")
    @classmethod
    def _known_instance(cls, value: str) -> str:
        return _check(validation.instance_type_error(value, load_catalog()), value)

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return _check(validation.region_error(value, load_catalog()), value)


class ProjectSpec(_Spec):
    """Everything `mcc new` needs to generate a project (recorded as mcc.yaml)."""

    project_name: str
    output_dir: Path
    include_tests: bool = True
    model: ModelSpec
    serving: ServingSpec
    deployment: DeploymentSpec

    @field_validator("project_name")
    @classmethod
    def _sagemaker_name(cls, value: str) -> str:
        return _check(validation.project_name_error(value), value)


def _check(message: str | None, value: Any) -> Any:
    if message:
        raise ValueError(message)
    return value


def build_spec(answers: Answers, catalog: Catalog, *, force: bool = False) -> ProjectSpec:
    """Validate all answers at once; raise InvalidAnswers listing every problem."""
    try:
        spec = ProjectSpec.model_validate(nest({k: g.value for k, g in answers.items()}))
    except ValidationError as exc:
        raise InvalidAnswers([_field_error(e, answers) for e in exc.errors()]) from None
    errors = consistency_errors(spec, catalog, answers) + target_errors(spec.output_dir, force, answers)
    if errors:
        raise InvalidAnswers(errors)
    return spec


def consistency_errors(spec: ProjectSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """Rules that relate several answers: format vs framework and file, model source, sample payload."""
    model = spec.model
    framework = catalog.frameworks[model.framework]
    errors: list[FieldError] = []

    def fail(key: str, value: Any, message: str) -> None:
        errors.append(FieldError(key, message, value, answers[key].source if key in answers else None))

    if model.format not in framework.formats:
        fail(
            "model_format",
            model.format,
            f"is not a {framework.display_name} format (allowed: {', '.join(framework.formats)})",
        )
    if model.framework_version not in framework.versions:
        fail(
            "framework_version",
            model.framework_version,
            f"is not a {framework.display_name} version the catalog pins (allowed: {', '.join(framework.versions)})",
        )
    if model.file and model.sample:
        fail("sample_model", True, "give either a model file or --sample-model, not both")
    if model.file:
        errors += _model_file_errors(model, framework.formats.get(model.format), answers)
    elif not model.sample:
        fail("model_file", None, "required (--model-file FILE, or --sample-model)")
    if model.sample and not model.file:
        errors += _sample_errors(model, catalog, answers)
    if model.sample_payload:
        payload = model.sample_payload
        if not payload.is_file():
            fail("sample_payload", str(payload), "file not found")
        elif payload.suffix.lower() not in PAYLOAD_SUFFIXES:
            fail("sample_payload", str(payload), f"must be a {' or '.join(PAYLOAD_SUFFIXES)} file")
    return errors


def _model_file_errors(model: ModelSpec, fmt: Any, answers: Answers) -> list[FieldError]:
    source = answers["model_file"].source if "model_file" in answers else None
    path = model.file
    if not path.exists():
        return [FieldError("model_file", "file not found", str(path), source)]
    if not path.is_file():
        return [FieldError("model_file", "must be a file", str(path), source)]
    if fmt and not path.name.lower().endswith(fmt.extensions):
        return [
            FieldError(
                "model_file",
                f"does not match model_format {fmt.name!r}, which expects {' or '.join(fmt.extensions)}",
                str(path),
                source,
            )
        ]
    return []


def _sample_errors(model: ModelSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    framework = catalog.frameworks[model.framework]
    source = answers["sample_model"].source if "sample_model" in answers else None
    if framework.sample is None:
        return [FieldError("sample_model", f"{framework.display_name} has no sample model", True, source)]
    if model.framework_version not in framework.versions:
        return []  # reported already
    package = _pinned_package(catalog, model)
    try:
        installed = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != model.framework_version:
        have = f"found {installed}" if installed else "it is not installed"
        return [
            FieldError(
                "sample_model",
                f"training the sample needs {package}=={model.framework_version} "
                f"here, the version the image pins ({have}); pip install "
                f"'ml-container-creator[sample]'",
                True,
                source,
            )
        ]
    return []


def _pinned_package(catalog: Catalog, model: ModelSpec) -> str:
    """The distribution whose pin equals the framework version (e.g. scikit-learn for sklearn 1.9.1)."""
    pins = catalog.frameworks[model.framework].versions[model.framework_version].requirements
    return next(p.split("==")[0] for p in pins if p.endswith(f"=={model.framework_version}"))


def target_errors(output_dir: Path, force: bool, answers: Answers) -> list[FieldError]:
    source = answers["output_dir"].source if "output_dir" in answers else None
    if output_dir.exists() and not output_dir.is_dir():
        return [FieldError("output_dir", "exists and is not a directory", str(output_dir), source)]
    if output_dir.is_dir() and any(output_dir.iterdir()) and not force:
        return [
            FieldError(
                "output_dir",
                "exists and is not empty; pass --force to overwrite the generated files in it",
                str(output_dir),
                source,
            )
        ]
    return []


def _field_error(error: dict, answers: Answers) -> FieldError:
    loc = tuple(str(part) for part in error["loc"])
    answer = BY_PATH.get(loc)
    key = answer.key if answer else ".".join(loc)
    message = error["msg"].removeprefix("Value error, ")
    given = answers.get(key)
    return FieldError(key, message, given.value if given else error.get("input"), given.source if given else None)
