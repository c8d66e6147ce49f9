"""Decide every file of the project from a valid spec: rendered templates, the verbatim runtime,
generated data files and the model. Nothing touches the target directory here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mcc_lifecycle import names, policies
from mcc_lifecycle.settings import Settings
from mcc_runtime.schema import SCHEMA_FILE, InputSchema
from mcc_runtime.serving_file import ServerSection, ServingFile

from . import __version__, samples
from .catalog import Catalog
from .examples import REQUEST_TYPE_NOTES, request_examples, synthetic_payload
from .input_schema import schema_or_declared
from .model_registry import package_group
from .pinning import Pinning, pinning, recorded, release_closure
from .render import TEMPLATES_DIR, render_template
from .requirement_files import merge_requirements, read_requirements
from .sagemaker_archive import SageMakerArchive, defined_hooks
from .spec import ProjectSpec

PREDICTIVE = "predictive"
GENERATIVE = "generative"
COMMON = "common"
RUNTIME_PACKAGE = "mcc_runtime"
LIFECYCLE_PACKAGE = "mcc_lifecycle"
SKIPPED_NAMES = {"__pycache__", ".DS_Store"}
EXECUTABLES = {"code/serve"}
SCRIPTS_DIR = "do/"
SOURCED_SCRIPTS = {"do/config"}
USER_OWNED = {"code/inference.py"}  # customised by users: regenerating keeps an existing copy
IMPORTED_TESTS = "imported/test_imported_hooks.py"  # the user's own hooks: served answers = in-process ones


@dataclass(frozen=True)
class PlannedFile:
    """One file of the project: either ``content`` or a ``source`` file to copy."""

    path: str
    content: bytes | None = None
    source: Path | None = None
    executable: bool = False
    user_owned: bool = False


def plan_project(spec: ProjectSpec, catalog: Catalog, archive: SageMakerArchive | None = None) -> list[PlannedFile]:
    if spec.generative:
        from .generative_plan import plan_generative

        return plan_generative(spec, catalog)
    schema = project_input_schema(spec, catalog)
    model_files, model_filename, payload_files = _model_and_payloads(spec, catalog, schema)
    if archive:
        model_files, model_filename = _archive_model_files(archive)
    context = template_context(spec, catalog, model_filename, payload_files, schema)
    context["imported"] = {"name": archive.source.name, "hooks": archive.hooks} if archive else None
    files = _with_user_code(_templates(PREDICTIVE, context, include_tests=spec.include_tests), spec, archive)
    pinned = requirements(spec, catalog, schema)
    if archive:
        pinned = merge_requirements(pinned, archive.requirements, f"{archive.source.name}'s code/requirements.txt")
    if spec.model.requirements:
        pinned = merge_requirements(pinned, read_requirements(spec.model.requirements.read_text()), "--requirements")
    files += _package_files(RUNTIME_PACKAGE, "code")
    files += _package_files(LIFECYCLE_PACKAGE, "do/lib")
    files += _iam_files(spec, catalog)
    files += model_files + payload_files
    files += [
        PlannedFile("requirements.txt", _lines(pinned)),
        PlannedFile(f"code/{SCHEMA_FILE}", schema.to_json().encode()),
        PlannedFile("requirements-dev.txt", _lines(["-r requirements.txt", *catalog.dev_requirements()])),
        PlannedFile("code/serving.json", _json(serving_settings(spec, catalog, model_filename))),
        inference_amis_file(catalog),
        instance_types_file(catalog),
        PlannedFile("mcc.yaml", answers_record(spec, model_filename, payload_files)),
    ]
    return sorted(files, key=lambda f: f.path)


def template_context(
    spec: ProjectSpec,
    catalog: Catalog,
    model_filename: str,
    payload_files: list[PlannedFile],
    schema: InputSchema | None = None,
) -> dict[str, Any]:
    framework = catalog.frameworks[spec.model.framework]
    image = catalog.image(spec.model.framework, spec.model.framework_version, spec.deployment.accelerator)
    if spec.deployment.base_image:
        image = image.model_copy(update={"base_image": spec.deployment.base_image})
    ami = catalog.inference_ami_for(image.cuda) if image.cuda else None
    return {
        "mcc_version": __version__,
        "project_name": spec.project_name,
        "framework": framework,
        "model_format": framework.formats[spec.model.format],
        "framework_version": spec.model.framework_version,
        "pinning": project_pinning(spec, catalog),
        "image": image,
        "predict_output": spec.serving.predict_output,
        "schema": schema or InputSchema(),
        "examples": request_examples(schema or InputSchema(), payload_files),
        "synthetic_payload": bool(schema and schema.columns) and not (spec.model.sample or spec.model.sample_payload),
        "json_response": spec.serving.json_response,
        "extra_request_types": [(media, REQUEST_TYPE_NOTES[media]) for media in framework.input_types],
        "server": catalog.servers[spec.serving.web_server],
        "instance": catalog.instance_types[spec.deployment.instance_type],
        "region": catalog.regions[spec.deployment.region],
        "runtime": catalog.runtime,
        "model_filename": model_filename,
        "payload_file": payload_files[0].path if payload_files else "",
        "max_payload_mb": spec.serving.max_payload_mb,
        "include_tests": spec.include_tests,
        "deployment": spec.deployment,
        "role_names": names.role_names(lifecycle_settings(spec)),
        "test_kind": "predictive",
        "inference_ami": ami.name if ami else "",
        "cuda": image.cuda or "",
        "model_data_prefix": "",
        "model_data_url": spec.model.model_data,
        "model_package_group": package_group(spec.model.model_package_arn),
        "hf_token_secret_arn": "",
        "startup_timeout_s": 0,
    }


def lifecycle_settings(spec: ProjectSpec) -> Settings:
    """The deployment settings do/config starts with, as the do/ scripts will read them."""
    deployment, gen = spec.deployment, spec.generation
    return Settings(
        hf_token_secret_arn=gen.hf_token_secret_arn if gen else "",
        model_data_prefix=gen.model_s3_uri if gen else "",
        model_data_url=spec.model.model_data,
        model_package_group=package_group(spec.model.model_package_arn),
        project_name=spec.project_name,
        aws_region=deployment.region,
        deploy_mode=deployment.mode,
        instance_type=deployment.instance_type,
        instance_count=deployment.instance_count,
        role_arn=deployment.role_arn,
    )


def serving_settings(spec: ProjectSpec, catalog: Catalog, model_filename: str) -> dict[str, Any]:
    """code/serving.json: what the runtime needs to know about this project (its typed form is the runtime's)."""
    framework = catalog.frameworks[spec.model.framework]
    server = catalog.servers[spec.serving.web_server]
    model_format = framework.formats[spec.model.format]
    return ServingFile(
        handler=framework.handler,
        model_format=model_format.name,
        model_filename=model_filename,
        model_extensions=tuple(sorted({e for f in framework.formats.values() for e in f.extensions})),
        model_is_directory=model_format.directory,
        predict_output=spec.serving.predict_output,
        json_response=spec.serving.json_response,
        input_types=framework.input_types,
        preload=framework.preload,
        server=ServerSection(name=server.name, app=server.app, worker_class=server.worker_class),
        max_payload_mb=spec.serving.max_payload_mb,
    ).to_dict()


def instance_types_file(catalog: Catalog) -> PlannedFile:
    """do/lib/instance-types.json: vCPUs, memory and GPUs per instance type, the limits do/run --sagemaker
    gives the container."""
    table = {
        i.name: {"vcpus": i.vcpus, "memory_gib": i.memory_gib, "gpus": i.gpus} for i in catalog.instance_types.values()
    }
    return PlannedFile("do/lib/instance-types.json", _json(table))


def inference_amis_file(catalog: Catalog) -> PlannedFile:
    """do/lib/inference-amis.json: the AMI table do/deploy checks INFERENCE_AMI_VERSION against."""
    table = {a.name: {"driver": a.driver, "cuda": a.cuda} for a in catalog.inference_amis.values()}
    return PlannedFile("do/lib/inference-amis.json", _json(table))


def answers_record(spec: ProjectSpec, model_filename: str, payload_files: list[PlannedFile]) -> bytes:
    """mcc.yaml: the answers, with paths relative to the project so `mcc new --config mcc.yaml --force`
    regenerates it in place."""
    data = spec.model_dump(mode="json")
    data["output_dir"] = "."
    if not spec.deployment.base_image:
        del data["deployment"]["base_image"]  # recorded only when the user chose one
    if spec.generative:
        data["model"] = {"framework": spec.model.framework}
        del data["serving"]["predict_output"]
        del data["serving"]["json_response"]
    else:
        del data["generation"]
        data["model"]["file"] = None if spec.model.sample else f"model/{model_filename}"
        data["model"]["sample_payload"] = payload_files[0].path if spec.model.sample_payload else None
    header = "# Answers that generated this project. Regenerate in place: mcc new --config mcc.yaml --force\n"
    return (header + yaml.safe_dump({"mcc_version": __version__, **data}, sort_keys=False)).encode()


def project_input_schema(spec: ProjectSpec, catalog: Catalog) -> InputSchema:
    """code/schema.json: the model's columns as the artifact, --feature-names and the sample payload tell them
    (already checked by the spec); nothing known for sample models (the server reads them at start)."""
    model = spec.model
    if model.sample or not (model.file or model.feature_names):
        return InputSchema()
    framework = catalog.frameworks[model.framework]
    fmt = framework.formats[model.format]
    return schema_or_declared(framework, fmt, model.file, model.feature_names, model.sample_payload)


def _model_and_payloads(
    spec: ProjectSpec, catalog: Catalog, schema: InputSchema
) -> tuple[list[PlannedFile], str, list[PlannedFile]]:
    model = spec.model
    if model.file:
        filename = model.file.name
        sources = sorted(p for p in model.file.rglob("*") if p.is_file()) if model.file.is_dir() else [model.file]
        model_files = [
            PlannedFile(
                f"model/{filename}/{p.relative_to(model.file).as_posix()}" if p != model.file else f"model/{filename}",
                source=p,
            )
            for p in sources
        ]
        payloads = []
    else:
        framework = catalog.frameworks[model.framework]
        model_format = framework.formats[model.format]
        filename = "model" + (model_format.extensions[0] if model_format.extensions else "")
        sample = samples.train(framework.sample.trainer, model.format, filename)
        model_files = [PlannedFile(f"model/{path}", content) for path, content in sample.files.items()]
        payloads = [
            PlannedFile("samples/payload.csv", sample.payload_csv),
            PlannedFile("samples/payload.json", sample.payload_json),
        ]
    if model.sample_payload:
        payloads = [PlannedFile(f"samples/payload{model.sample_payload.suffix.lower()}", source=model.sample_payload)]
    elif not payloads and schema.columns:
        payloads = [PlannedFile("samples/payload.csv", synthetic_payload(schema))]
    return model_files, filename, payloads


def _archive_model_files(archive: SageMakerArchive) -> tuple[list[PlannedFile], str]:
    """model/ as SageMaker unpacks the archive into /opt/ml/model (less code/), and the artifact's path in it."""
    files = [PlannedFile(f"model/{p.relative_to(archive.root).as_posix()}", source=p) for p in archive.model_files]
    return files, archive.artifact.relative_to(archive.root).as_posix()


def _with_user_code(files: list[PlannedFile], spec: ProjectSpec, archive: SageMakerArchive | None) -> list[PlannedFile]:
    """The user's own code/ (an archive's, then --code-dir's; its inference.py instead of the generated one) and,
    when that inference.py defines hooks, the tests of the served answers against those hooks in-process."""
    sources = [(p.relative_to(archive.root / "code"), p) for p in archive.code_files] if archive else []
    code_dir = spec.model.code_dir
    if code_dir:
        sources += [(p.relative_to(code_dir), p) for p in sorted(code_dir.rglob("*")) if _is_user_code(p)]
    planned = {f.path: f for f in files}
    for relative, source in sources:
        if relative.as_posix() != "requirements.txt":  # merged into the project's requirements.txt
            path = f"code/{relative.as_posix()}"
            planned[path] = PlannedFile(path, source=source, user_owned=True)
    inference = next((source for relative, source in reversed(sources) if relative.as_posix() == "inference.py"), None)
    if spec.include_tests and inference and defined_hooks(inference):
        for name in ("test_handler.py", "test_local_server.py"):
            planned.pop(f"tests/{name}", None)
        tests = (TEMPLATES_DIR / IMPORTED_TESTS).read_bytes()
        planned["tests/test_imported_hooks.py"] = PlannedFile("tests/test_imported_hooks.py", tests)
    return list(planned.values())


def _is_user_code(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def requirements(spec: ProjectSpec, catalog: Catalog, schema: InputSchema | None = None) -> list[str]:
    """requirements.txt: what the image's pip installs (on GPU images, less what the base already has);
    pandas only for a model that takes a DataFrame."""
    model, accelerator = spec.model, spec.deployment.accelerator
    pinned = project_pinning(spec, catalog)
    if pinned.resolved:
        framework = catalog.frameworks[model.framework]
        return list(release_closure(pinned, framework, catalog, spec.serving.web_server))
    dataframe = bool(schema and schema.needs_pandas)
    return catalog.requirements(
        model.framework, model.framework_version, spec.serving.web_server, accelerator, dataframe=dataframe
    )


def project_pinning(spec: ProjectSpec, catalog: Catalog) -> Pinning:
    """The framework version and the pickled libraries' releases the image pins (already checked by the spec)."""
    framework = catalog.frameworks[spec.model.framework]
    found = recorded(framework, spec.model.format, spec.model.file) if spec.model.file else None
    return pinning(framework, spec.model.framework_version, found)


def _templates(kind: str, context: dict[str, Any], include_tests: bool) -> list[PlannedFile]:
    """The templates every project shares (``common/``), then the kind's own (which win on the same path)."""
    files: dict[str, PlannedFile] = {}
    for layer in (COMMON, kind):
        root = TEMPLATES_DIR / layer
        for source in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = source.relative_to(root)
            if SKIPPED_NAMES & set(relative.parts) or (relative.parts[0] == "tests" and not include_tests):
                continue
            dest = _destination(relative)
            if source.suffix == ".j2":
                content = render_template(relative.as_posix(), layer, context).encode()
            else:
                content = source.read_bytes()
            files[dest] = PlannedFile(dest, content, executable=_is_executable(dest), user_owned=dest in USER_OWNED)
    return list(files.values())


def _destination(relative: Path) -> str:
    """``dot-dockerignore`` -> ``.dockerignore``; ``README.md.j2`` -> ``README.md``."""
    parts = [("." + p[4:]) if p.startswith("dot-") else p for p in relative.parts]
    dest = PurePosixPath(*parts)
    return str(dest.with_suffix("") if dest.suffix == ".j2" else dest)


def _is_executable(path: str) -> bool:
    """code/serve and the do/ scripts themselves (not do/config, not the library under do/lib/)."""
    script = path.startswith(SCRIPTS_DIR) and "/" not in path.removeprefix(SCRIPTS_DIR)
    return path in EXECUTABLES or (script and path not in SOURCED_SCRIPTS)


def _package_files(package: str, destination: str) -> list[PlannedFile]:
    """A package copied byte for byte into ``destination/package/`` (never templated)."""
    root = Path(str(resources.files(package)))
    return [
        PlannedFile(f"{destination}/{package}/{p.relative_to(root).as_posix()}", p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and not SKIPPED_NAMES & set(p.relative_to(root).parts) and p.suffix != ".pyc"
    ]


def _iam_files(spec: ProjectSpec, catalog: Catalog) -> list[PlannedFile]:
    """iam/*.json: the policies scoped to this project, with the account left as a placeholder."""
    region = catalog.regions[spec.deployment.region]
    scope = policies.Scope(region.partition, region.code, policies.ACCOUNT_PLACEHOLDER, lifecycle_settings(spec))
    documents = policies.documents(scope)
    return [PlannedFile(f"iam/{name}", policies.render(doc).encode()) for name, doc in documents.items()]


def _lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()
