"""Rules for predictive projects: the model file against its framework and format, the user's code and packages,
what a pickle names, the sample payload and declared names, the accelerator, and the pinned version."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path

from packaging.version import InvalidVersion, Version

from mcc_runtime.schema import Column, InputSchema, width_mismatch

from . import onnx_export, pickle_scan
from .artifacts import artifact_error, recorded_feature_count
from .catalog import Catalog, Framework, ModelFormat
from .errors import FieldError
from .errors import answer_error as _error
from .pinning import machine, pinning, recorded, recorded_framework_version, release_closure
from .requirement_files import read_requirements, requirement_name
from .resolution import ResolutionError
from .sagemaker_archive import reserved_names
from .sources import Answers
from .spec import ModelSpec, ProjectSpec
from .training_version import onnx_versions
from .validation import file_not_found

PAYLOAD_SUFFIXES = (".csv", ".json")
PICKLED_CHECKS = ("pickle", "xgboost_builtin")  # formats whose files may be pickles


def predictive_errors(spec: ProjectSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """Rules that relate several answers: format vs framework and file, model source, sample payload, version."""
    model = spec.model
    framework = catalog.frameworks[model.framework]
    errors: list[FieldError] = []
    if model.format not in framework.formats:
        allowed = ", ".join(framework.formats)
        errors.append(
            _error(
                answers, "model_format", model.format, f"is not a {framework.display_name} format (allowed: {allowed})"
            )
        )
    payload_errors = _payload_errors(model.sample_payload, answers)
    errors += _user_code_errors(model, answers)
    if model.file and model.sample:
        errors.append(_error(answers, "sample_model", True, "give either a model file or --sample-model, not both"))
    if model.file:
        fmt = framework.formats.get(model.format)
        file_errors = _model_file_errors(model.file, framework, fmt, answers)
        file_errors = file_errors or _pickle_errors(model, framework, answers)
        names_checked = fmt and not payload_errors
        errors += file_errors or (_feature_name_errors(model, framework, fmt, answers) if names_checked else [])
    elif not model.sample:
        required = "required (--model-file FILE, --model-data S3_URI, or --sample-model)"
        errors.append(_error(answers, "model_file", None, required))
    else:
        errors += _sample_errors(framework, model.framework_version, answers)
    errors += accelerator_errors(spec, catalog, answers)
    errors += architecture_errors(spec, framework, catalog, answers)
    errors += _optimize_errors(model, answers)
    errors += payload_errors
    return errors or version_errors(spec, framework, catalog, answers)  # pip's resolver runs last, on valid answers


def version_errors(spec: ProjectSpec, framework: Framework, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """The version must be the one the model file records; one the catalog does not pin must resolve with pip
    (CPU images only: GPU images exist for the catalog's versions)."""
    model, version = spec.model, spec.model.framework_version
    tested = ", ".join(framework.versions)
    try:
        Version(version)
    except InvalidVersion:
        return [_error(answers, "framework_version", version, f"is not a version number (tested: {tested})")]
    found = recorded(framework, model.format, model.file) if model.file else None
    saved_with = recorded_framework_version(framework, found)
    if saved_with and saved_with != version:
        return [_error(answers, "framework_version", version,
                       f"contradicts {model.file.name}, which was saved with {framework.display_name} {saved_with} "
                       f"({found.evidence}); leave --framework-version out to pin {saved_with}")]  # fmt: skip
    entry = framework.versions.get(version)
    needs = onnx_versions(model.file) if entry and entry.onnx and model.file and model.file.is_file() else None
    beyond = entry.onnx.unsupported(needs.ir_version, needs.opsets) if needs else []
    if beyond:
        return [_error(answers, "model_file", str(model.file),
                       f"needs {', '.join(beyond)}, newer than {framework.display_name} {version} reads: export it "
                       "for an older opset (torch.onnx.export's opset_version, skl2onnx's target_opset)")]  # fmt: skip
    pinned = pinning(framework, version, found)
    if pinned.tested:
        return []
    if spec.deployment.accelerator == "gpu":
        return [_error(answers, "framework_version", version,
                       f"has no GPU image: GPU images exist for the tested versions only ({tested})")]  # fmt: skip
    try:
        release_closure(pinned, framework, catalog, spec.serving.web_server, machine(spec))
    except ResolutionError as exc:
        where = f"Python {catalog.runtime.python_version}, Linux {machine(spec)}, wheels only"
        return [_error(answers, "framework_version", version,
                       f"is not a version mcc tests ({tested}), and pip could not resolve it for the image "
                       f"({where}): {exc}")]  # fmt: skip
    return []


def _optimize_errors(model: ModelSpec, answers: Answers) -> list[FieldError]:
    """--optimize onnx converts a model file mcc can load, at generation."""
    if model.optimize != "onnx":
        return []
    if model.framework not in onnx_export.FRAMEWORKS:
        frameworks = ", ".join(onnx_export.FRAMEWORKS)
        return [_error(answers, "optimize", "onnx", f"converts {frameworks} models, not {model.framework} ones")]
    if model.model_data or not model.file:
        return [_error(answers, "optimize", "onnx", "converts a model file at generation: pass --model-file (with "
                       "--model-data or --sample-model the model is served as it is)")]  # fmt: skip
    missing = onnx_export.missing_modules(model.framework)
    if missing:
        return [_error(answers, "optimize", "onnx",
                       f"converts the model beside mcc, where {', '.join(missing)} cannot be imported: "
                       f"{onnx_export.EXTRA} and the model's own library (under pipx: pipx install --force "
                       "'ml-container-creator[onnx]', then pipx inject ml-container-creator LIBRARY)")]  # fmt: skip
    return []


def _user_code_errors(model: ModelSpec, answers: Answers) -> list[FieldError]:
    """--code-dir: a folder of Python modules that leaves the project's own code/ names alone; --requirements:
    a file."""
    errors = []
    if model.code_dir and not model.code_dir.is_dir():
        errors.append(_error(answers, "code_dir", str(model.code_dir), "is not a folder"))
    elif model.code_dir:
        clashes = reserved_names(model.code_dir)
        if clashes:
            errors.append(_error(answers, "code_dir", str(model.code_dir),
                                 f"holds {', '.join(clashes)}, which the project's own code/ needs"))  # fmt: skip
        elif not any(model.code_dir.rglob("*.py")):
            errors.append(_error(answers, "code_dir", str(model.code_dir), "holds no Python module (*.py)"))
    if model.requirements and not model.requirements.is_file():
        errors.append(_error(answers, "requirements", str(model.requirements), file_not_found(model.requirements)))
    return errors


def _pickle_errors(model: ModelSpec, framework: Framework, answers: Answers) -> list[FieldError]:
    """What a pickle names that the server could not import: classes of the training script (__main__), another
    framework's classes, or modules nothing in the image provides."""
    fmt = framework.formats.get(model.format)
    if not fmt or fmt.check not in PICKLED_CHECKS or not model.file.is_file():
        return []
    found = pickle_scan.references(model.file)
    problem = _pickle_problem(found, model, framework)
    return [_error(answers, "model_file", str(model.file), problem)] if problem else []


def _pickle_problem(found: Sequence[pickle_scan.Reference], model: ModelSpec, framework: Framework) -> str | None:
    script = pickle_scan.training_script_classes(found)
    if script:
        return (
            f"refers to {', '.join(script)}, defined in the training script (__main__). A pickle records each class "
            "by module and name, and the server has no training script to import it from. Move it into a module of "
            "its own (e.g. features.py), import it from there when training, save the model again, and pass the "
            "folder holding that module with --code-dir DIR"
        )
    needs = pickle_scan.framework_of(found)
    if needs and needs != framework.name:
        example = next(str(r) for r in found if r.module.split(".", 1)[0] == needs)
        return f"holds a model that needs {needs} ({example}), not {framework.display_name}: use --framework {needs}"
    version = framework.versions.get(model.framework_version) or framework.versions[framework.default_version]
    pinned = list(version.requirements)  # an untested release's closure holds the same packages
    extra = (
        read_requirements(model.requirements.read_text()) if model.requirements and model.requirements.is_file() else ()
    )
    missing = sorted({str(r) for r in pickle_scan.unprovided(found, [*pinned, *extra], _own_modules(model.code_dir))})
    if missing:
        return (
            f"refers to {', '.join(missing)}, and nothing the image installs provides the module: pass the folder "
            "that holds your own modules with --code-dir DIR, or their packages with --requirements FILE"
        )
    return None


def _own_modules(code_dir: Path | None) -> set[str]:
    """Top-level module names a --code-dir folder provides (modules and packages)."""
    if not code_dir or not code_dir.is_dir():
        return set()
    return {p.stem for p in code_dir.glob("*.py")} | {
        p.name for p in code_dir.iterdir() if (p / "__init__.py").is_file()
    }


def _payload_errors(payload: Path | None, answers: Answers) -> list[FieldError]:
    if payload and not payload.is_file():
        return [_error(answers, "sample_payload", str(payload), file_not_found(payload))]
    if payload and payload.suffix.lower() not in PAYLOAD_SUFFIXES:
        return [_error(answers, "sample_payload", str(payload), f"must be a {' or '.join(PAYLOAD_SUFFIXES)} file")]
    return []


def _model_file_errors(path: Path, framework: Framework, fmt: ModelFormat | None, answers: Answers) -> list[FieldError]:
    if fmt is None and path.exists():
        return []  # the format itself is reported
    given = answers.get("model_format")
    problem = model_file_problem(path, framework, fmt, format_chosen=given is not None and given.source != "default")
    return [_error(answers, "model_file", str(path), problem)] if problem else []


def model_file_problem(
    path: Path, framework: Framework, fmt: ModelFormat | None = None, format_chosen: bool = False
) -> str | None:
    """What is wrong with ``path`` as the framework's model in format ``fmt`` (by default the format its name or
    being a directory tells), or None; the decision tree asks it of the file as soon as it is given."""
    if not path.exists():
        return file_not_found(path)
    if not format_chosen and framework.format_for_path(path) is None:
        formats = "; ".join(
            f"{f.name}: {'a directory' if f.directory else ' '.join(f.extensions)}" for f in framework.formats.values()
        )
        return f"is not a {framework.display_name} format ({formats})"
    fmt = fmt or framework.formats[framework.format_for_path(path) or ""]
    if fmt.directory != path.is_dir():
        kind = "a directory" if fmt.directory else "a file"
        return f"must be {kind} for model_format {fmt.name!r}"
    if fmt.extensions and not path.name.lower().endswith(fmt.extensions):
        return f"does not match model_format {fmt.name!r}, which expects {' or '.join(fmt.extensions)}"
    return artifact_error(path, fmt.check)


def _feature_name_errors(
    model: ModelSpec, framework: Framework, fmt: ModelFormat, answers: Answers
) -> list[FieldError]:
    """Declared names must be as many as the features the model file's header records (the model check, run in
    the image's environment after these rules, compares them with the model's own names and the sample)."""
    expected = recorded_feature_count(model.file, fmt.check) if model.feature_names else None
    if expected is None or expected == len(model.feature_names):
        return []
    declared = InputSchema(tuple(Column(name) for name in model.feature_names))
    return [_error(answers, "feature_names", ",".join(model.feature_names), width_mismatch(declared, expected))]


def accelerator_errors(spec: ProjectSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """A GPU image needs a GPU instance and a framework that has one; AWS Neuron images are for LLM engines."""
    if spec.deployment.accelerator == "neuron":
        message = "AWS Neuron images serve LLMs (--engine vllm-neuron); a predictive model gets accelerator cpu or gpu"
        return [_error(answers, "accelerator", "neuron", message)]
    if spec.deployment.accelerator != "gpu":
        return []
    if spec.deployment.base_image:
        message = "replaces the CPU image's base; a GPU image keeps the framework's own CUDA base (use accelerator cpu)"
        return [_error(answers, "base_image", spec.deployment.base_image, message)]
    framework = catalog.frameworks[spec.model.framework]
    if not framework.gpu:
        with_gpu = ", ".join(f.name for f in catalog.frameworks.values() if f.gpu)
        return [_error(answers, "accelerator", "gpu", f"{framework.display_name} has no GPU image (only {with_gpu})")]
    if spec.deployment.mode == "serverless":
        return [_error(answers, "accelerator", "gpu", "serverless endpoints have no GPUs; use accelerator cpu")]
    instance = catalog.instance(spec.deployment.instance_type)
    if not instance.gpus:
        suggestions = ", ".join(sorted({f"{i.family}.*" for i in catalog.instance_types.values() if i.gpus}))
        return [
            _error(
                answers,
                "accelerator",
                "gpu",
                f"needs a GPU instance type; {instance.name} has no GPU (GPU families: {suggestions})",
            )
        ]
    return []


def architecture_errors(
    spec: ProjectSpec, framework: Framework, catalog: Catalog, answers: Answers
) -> list[FieldError]:
    """A Graviton (arm64) instance needs a framework version whose pinned packages all have aarch64 wheels (an
    untested version is resolved for aarch64 instead; serverless endpoints run x86_64)."""
    entry = framework.versions.get(spec.model.framework_version)
    if machine(spec) != "aarch64" or entry is None or "arm64" in entry.architectures:
        return []
    on_graviton = ", ".join(
        f.name for f in catalog.frameworks.values() if any("arm64" in v.architectures for v in f.versions.values())
    )
    message = (
        f"is a Graviton (arm64) instance type, and {framework.display_name} {spec.model.framework_version}'s pinned "
        f"packages have no aarch64 wheels; choose an x86_64 type (ml.c7i, ml.m7i …) or a framework that runs on "
        f"Graviton ({on_graviton})"
    )
    return [_error(answers, "instance_type", spec.deployment.instance_type, message)]


def _sample_errors(framework: Framework, version: str, answers: Answers) -> list[FieldError]:
    """Training the sample here must use the version the image pins, or its pickle may not load there."""
    if framework.sample is None:
        return [_error(answers, "sample_model", True, f"{framework.display_name} has no sample model")]
    try:
        installed = importlib.metadata.version(framework.package)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed and installed.split("+")[0] == version:  # 2.13.0+cpu is PyTorch 2.13.0
        return []
    have = f"found {installed}" if installed else "it is not installed"
    return [
        _error(
            answers,
            "sample_model",
            True,
            f"training the sample needs {framework.package}=={version} here, "
            f"the version the image pins ({have}); {sample_install_command(framework, version)} "
            "(under pipx: pipx inject ml-container-creator with the same package)",
        )
    ]


def sample_install_command(framework: Framework, version: str) -> str:
    """The pip command that installs the framework's pinned package (from its extra index, where it has one)."""
    pinned = framework.versions.get(version)
    own = requirement_name(framework.package)
    requirement = (
        next(r for r in pinned.requirements if requirement_name(r) == own)
        if pinned
        else framework.release_requirements(version)[0]
    )
    pinned = pinned or framework.versions[framework.default_version]
    index = f" --extra-index-url {pinned.extra_index_url}" if pinned.extra_index_url else ""
    return f"pip install '{requirement}'{index}"


def predictive_warnings(spec: ProjectSpec, catalog: Catalog) -> list[str]:
    """Valid but probably unintended: GPUs or Neuron accelerators the image will not use."""
    instance = catalog.instance(spec.deployment.instance_type)
    if spec.deployment.mode == "serverless" or spec.deployment.accelerator != "cpu":
        return []
    if instance.neuron_chips:
        return [
            f"{instance.name} has {instance.neuron_chips} {instance.neuron_chip} chip(s) but the image runs on its "
            "CPUs: the Neuron accelerators will sit idle; a CPU instance type costs less"
        ]
    if not instance.gpus:
        return []
    framework = catalog.frameworks[spec.model.framework]
    why = "has no GPU image" if not framework.gpu else "gets the CPU image (accelerator cpu)"
    return [
        f"{instance.name} has {instance.gpus} GPU(s) but {framework.display_name} {why}: "
        "the GPUs will sit idle; a CPU instance type costs less"
    ]
