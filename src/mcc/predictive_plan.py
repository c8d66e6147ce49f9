"""The file plan of a predictive project: the model and its schema, the serving settings, the pinned
requirements, the user's own code, and the templates' context."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mcc_lifecycle import names, platforms
from mcc_runtime.schema import SCHEMA_FILE, InputSchema
from mcc_runtime.serving_file import ServerSection, ServingFile
from mcc_runtime.signature import parse as parse_signature

from . import model_check, model_env, onnx_export, samples
from .catalog import Catalog, merge_pins
from .client_snippets import predictive_snippet
from .errors import FieldError, InvalidAnswers
from .examples import REQUEST_TYPE_NOTES, request_examples, signature_examples
from .hyperpod_plan import hyperpod_files
from .input_schema import unchecked_schema
from .model_check import CheckRequest, ModelRefused, ModelReport
from .model_registry import package_group
from .pinning import Pinning, image_target, machine, pinning, recorded, release_closure
from .plan_common import (
    LIFECYCLE_PACKAGE,
    PREDICTIVE,
    RUNTIME_PACKAGE,
    answers_record,
    iam_files,
    image_platforms_file,
    inference_amis_file,
    instance_types_file,
    json_bytes,
    lifecycle_settings,
    lines_bytes,
    package_files,
    shared_context,
    templates,
)
from .render import TEMPLATES_DIR, PlannedFile
from .requirement_files import RequirementsError, merge_requirements, read_requirements
from .resolution import ResolutionError, resolve
from .sagemaker_archive import SageMakerArchive, defined_hooks
from .spec import ProjectSpec

IMPORTED_TESTS = "imported/test_imported_hooks.py"  # the user's own hooks: served answers = in-process ones
NAMED_INPUT_TESTS = "tensors/test_named_inputs.py"  # a model of several named inputs (mcc_runtime.tensors)
EXPECTED_FILE = "samples/expected.json"  # the project's answer to its sample, recorded by the model check


def plan_predictive(
    spec: ProjectSpec, catalog: Catalog, archive: SageMakerArchive | None = None, report: ModelReport | None = None
) -> list[PlannedFile]:
    """The project's files; ``report``: the model check's (made here when not given)."""
    if spec.model.optimize != "onnx":
        return _plan(spec, catalog, archive, report=report or model_report(spec, catalog, archive))
    if archive and archive.hooks:
        raise onnx_export.ExportError(f"{archive.source.name}'s code/inference.py works with the original model")
    with tempfile.TemporaryDirectory(prefix="mcc-onnx-") as scratch:
        onnx_spec, exported = optimized(spec, catalog, Path(scratch), report)
        files = _plan(onnx_spec, catalog, archive, exported, model_report(onnx_spec, catalog, archive))
        return [  # the converted model's bytes, before its scratch folder goes
            PlannedFile(f.path, f.source.read_bytes(), executable=f.executable) if f.source == exported.path else f
            for f in files
        ]


def optimized(
    spec: ProjectSpec, catalog: Catalog, scratch: Path, report: ModelReport | None = None
) -> tuple[ProjectSpec, onnx_export.Export]:
    """--optimize onnx: the model converted and checked, and the spec of the ONNX project that serves it (its
    columns' names kept from the original; mcc.yaml records this project, so regenerating does not convert)."""
    model = spec.model
    framework = catalog.frameworks[model.framework]
    report = report or model_report(spec, catalog)
    schema = report.schema
    rows = _payload_rows(model.sample_payload, report)
    exported = onnx_export.export(model.framework, framework.handler, model.format, model.file, rows, scratch)
    onnx = catalog.frameworks["onnx"]
    converted = model.model_copy(
        update={
            "framework": onnx.name,
            "format": onnx.default_format,
            "framework_version": onnx.default_version,
            "file": exported.path,
            "optimize": "none",
            "feature_names": schema.names or model.feature_names,
        }
    )
    return spec.model_copy(update={"model": converted}), exported


def _payload_rows(payload: Path | None, report: ModelReport) -> Any:
    """The sample payload's rows as numbers in the model's column order, as the check decoded them (None without
    a payload)."""
    if payload is None or report.numeric_rows is None:
        return None
    import numpy as np

    return np.asarray(report.numeric_rows, dtype=np.float64)


def _plan(
    spec: ProjectSpec,
    catalog: Catalog,
    archive: SageMakerArchive | None = None,
    exported: onnx_export.Export | None = None,
    report: ModelReport | None = None,
) -> list[PlannedFile]:
    report = report or model_report(spec, catalog, archive)
    schema = report.schema
    model_files, model_filename, payload_files = _model_and_payloads(spec, catalog, report)
    if archive:
        model_files, model_filename = _archive_model_files(archive)
    context = template_context(spec, catalog, model_filename, payload_files, schema, report)
    if archive:
        context["imported"] = {"name": archive.source.name, "hooks": archive.hooks}
    if exported:
        context["optimized"] = exported
    files = _with_user_code(templates(PREDICTIVE, context, include_tests=spec.include_tests), spec, archive)
    if spec.include_tests and schema.tensors:
        files = _with_named_input_tests(files)
    pinned, added = with_user_requirements(requirements(spec, catalog, report.needs_pandas), spec, archive)
    if added and machine(spec) == "aarch64":
        check_arm64_wheels(pinned, spec, catalog, " and ".join(added))
    files += package_files(RUNTIME_PACKAGE, "code")
    files += package_files(LIFECYCLE_PACKAGE, "do/lib")
    files += iam_files(spec, catalog)
    files += model_files + payload_files
    if report.expected is not None and payload_files:
        files.append(PlannedFile(EXPECTED_FILE, report.expected))
    files += [
        PlannedFile("requirements.txt", lines_bytes(pinned)),
        PlannedFile(f"code/{SCHEMA_FILE}", schema.to_json().encode()),
        PlannedFile("requirements-dev.txt", lines_bytes(["-r requirements.txt", *catalog.dev_requirements()])),
        PlannedFile("code/serving.json", json_bytes(serving_settings(spec, catalog, model_filename))),
        inference_amis_file(catalog),
        instance_types_file(catalog, spec),
        *hyperpod_files(spec, catalog, startup_timeout_s=0),
        image_platforms_file(image_platforms(spec, catalog, own_requirements=bool(added))),
        PlannedFile("mcc.yaml", answers_record(spec, model_filename, payload_files)),
    ]
    return sorted(files, key=lambda f: f.path)


def template_context(
    spec: ProjectSpec,
    catalog: Catalog,
    model_filename: str,
    payload_files: list[PlannedFile],
    schema: InputSchema | None = None,
    report: ModelReport | None = None,
) -> dict[str, Any]:
    framework = catalog.frameworks[spec.model.framework]
    image = catalog.image(spec.model.framework, spec.model.framework_version, spec.deployment.accelerator)
    if spec.deployment.base_image:
        image = image.model_copy(update={"base_image": spec.deployment.base_image})
    ami = catalog.inference_ami_for(image.cuda) if image.cuda else None
    shared = shared_context(
        spec,
        catalog,
        payload_file=payload_files[0].path if payload_files else "",
        expected_file=EXPECTED_FILE if report and report.expected is not None and payload_files else "",
        test_kind="predictive",
        pip_extra_index_url=image.extra_index_url or "",
        cuda=image.cuda or "",
        inference_ami=ami.name if ami else "",
        model_data_url=spec.model.model_data,
        model_package_group=package_group(spec.model.model_package_arn),
    )
    return {
        **shared,
        "framework": framework,
        "model_format": framework.formats[spec.model.format],
        "framework_version": spec.model.framework_version,
        "pinning": project_pinning(spec, catalog),
        "image": image,
        "predict_output": spec.serving.predict_output,
        "schema": schema or InputSchema(),
        "examples": signature_examples(schema.signature)
        if schema and schema.tensors
        else request_examples(schema or InputSchema(), report.example_rows if report else ()),
        "model_checked": bool(report and report.checked),
        "synthetic_payload": bool(schema and schema.columns) and not (spec.model.sample or spec.model.sample_payload),
        "json_response": spec.serving.json_response,
        "extra_request_types": [(media, REQUEST_TYPE_NOTES[media]) for media in framework.input_types],
        "server": catalog.servers[spec.serving.web_server],
        "model_filename": model_filename,
        "max_payload_mb": spec.serving.max_payload_mb,
        "max_batch_size": spec.serving.max_batch_size,
        "max_batch_wait_ms": spec.serving.max_batch_wait_ms,
        "role_names": names.role_names(lifecycle_settings(spec)),
        "imported": None,
        "optimized": None,
        "client_snippet": predictive_snippet(spec, payload_files[0].path if payload_files else ""),
    }


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
        max_batch_size=spec.serving.max_batch_size,
        max_batch_wait_ms=spec.serving.max_batch_wait_ms,
    ).to_dict()


def model_report(
    spec: ProjectSpec,
    catalog: Catalog,
    archive: SageMakerArchive | None = None,
    progress: model_check.Progress | None = None,
) -> ModelReport:
    """The model check's report (InvalidAnswers naming the answer it refuses; nothing is written)."""
    model = spec.model
    with tempfile.TemporaryDirectory(prefix="mcc-sample-") as scratch:
        if archive:
            model_dir, filename, paths = (
                archive.root,
                archive.artifact.relative_to(archive.root).as_posix(),
                tuple(archive.model_files),
            )
            payload = model.sample_payload
        elif model.file:
            model_dir, filename = model.file.parent, model.file.name
            paths = (
                tuple(sorted(p for p in model.file.rglob("*") if p.is_file())) if model.file.is_dir() else (model.file,)
            )
            payload = model.sample_payload
        else:  # the sample model, trained here with the release the image pins
            model_dir, filename, paths, payload = _trained_sample(spec, catalog, Path(scratch))
        request = CheckRequest(
            closure=check_closure(spec, catalog, archive),
            serving=json_bytes(serving_settings(spec, catalog, filename)).decode(),
            model_dir=model_dir,
            model_paths=paths,
            code_files=tuple((relative.as_posix(), source) for relative, source in user_code(spec, archive)),
            feature_names=model.feature_names,
            signature=model.signature,
            payload=payload,
        )
        try:
            return model_check.check(request, progress)
        except ModelRefused as exc:
            values = {
                "model_file": str(model.file or ""),
                "feature_names": ",".join(model.feature_names),
                "signature": model.signature,
                "sample_payload": str(model.sample_payload or ""),
                "code_dir": str(model.code_dir or ""),
            }
            field = exc.field if exc.field in values else "model_file"
            error = FieldError(field, exc.message, values[field] or None)
            raise InvalidAnswers([error], "the model check refused it") from None


def unchecked_report(spec: ProjectSpec, catalog: Catalog, archive: SageMakerArchive | None = None) -> ModelReport:
    """--no-model-check: only the declared names (or a CSV sample's header), pandas for frameworks whose models may
    take a DataFrame and for user code that imports it; the server reads the model's own columns when it starts."""
    framework = catalog.frameworks[spec.model.framework]
    schema = unchecked_schema(spec.model.feature_names, spec.model.sample_payload)
    if spec.model.signature:  # recorded as declared; the server checks it against the model when it starts
        schema = InputSchema(signature=parse_signature(spec.model.signature), source="declared")
    code = tuple((relative.as_posix(), source) for relative, source in user_code(spec, archive))
    imports_pandas = bool(model_check.DATAFRAME_MODULES & model_check.imported_modules(code))
    return ModelReport(schema, needs_pandas=framework.tabular or schema.needs_pandas or imports_pandas, checked=False)


def check_closure(spec: ProjectSpec, catalog: Catalog, archive: SageMakerArchive | None = None) -> model_env.Closure:
    """The environment the model is checked in: the image's pins for the CPU image (pandas included, so a model
    that takes a DataFrame is read as the server reads it) and the user's own requirements, without the web
    server's packages (the check serves no HTTP)."""
    model = spec.model
    framework = catalog.frameworks[model.framework]
    pinned = project_pinning(spec, catalog)
    entry = framework.versions.get(model.framework_version) or framework.versions[framework.default_version]
    if pinned.resolved:
        lines = list(release_closure(pinned, framework, catalog, spec.serving.web_server, machine(spec)))
    else:
        lines = merge_pins(catalog.runtime.requirements, entry.requirements, catalog.runtime.dataframe_requirements)
    lines, _ = with_user_requirements(lines, spec, archive)
    return model_env.Closure(tuple(lines), catalog.runtime.python_version, entry.extra_index_url)


def with_user_requirements(
    pinned: list[str], spec: ProjectSpec, archive: SageMakerArchive | None
) -> tuple[list[str], list[str]]:
    """``pinned`` with an imported archive's and --requirements' lines merged in (RequirementsError on a conflict),
    and where the added ones came from."""
    added = []
    if archive and archive.requirements:
        added.append(f"{archive.source.name}'s code/requirements.txt")
        pinned = merge_requirements(pinned, archive.requirements, added[-1])
    if spec.model.requirements:
        added.append("--requirements")
        pinned = merge_requirements(pinned, read_requirements(spec.model.requirements.read_text()), added[-1])
    return pinned, added


def _trained_sample(spec: ProjectSpec, catalog: Catalog, scratch: Path) -> tuple[Path, str, tuple[Path, ...], Path]:
    """The sample model written to ``scratch/model`` and its CSV request to ``scratch/payload.csv``."""
    framework = catalog.frameworks[spec.model.framework]
    filename = _sample_filename(spec, catalog)
    sample = samples.train(framework.sample.trainer, spec.model.format, filename)
    paths = []
    for relative, content in sample.files.items():
        path = scratch / "model" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    payload = scratch / "payload.csv"
    payload.write_bytes(sample.payload_csv)
    return scratch / "model", filename, tuple(sorted(paths)), spec.model.sample_payload or payload


def _sample_filename(spec: ProjectSpec, catalog: Catalog) -> str:
    model_format = catalog.frameworks[spec.model.framework].formats[spec.model.format]
    return "model" + (model_format.extensions[0] if model_format.extensions else "")


def _model_and_payloads(
    spec: ProjectSpec, catalog: Catalog, report: ModelReport
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
        filename = _sample_filename(spec, catalog)
        sample = samples.train(framework.sample.trainer, model.format, filename)
        model_files = [PlannedFile(f"model/{path}", content) for path, content in sample.files.items()]
        payloads = [
            PlannedFile("samples/payload.csv", sample.payload_csv),
            PlannedFile("samples/payload.json", sample.payload_json),
        ]
    if model.sample_payload:
        payloads = [PlannedFile(f"samples/payload{model.sample_payload.suffix.lower()}", source=model.sample_payload)]
    elif not payloads and report.payload is not None:
        payloads = [PlannedFile("samples/payload.csv", report.payload)]
    return model_files, filename, payloads


def _archive_model_files(archive: SageMakerArchive) -> tuple[list[PlannedFile], str]:
    """model/ as SageMaker unpacks the archive into /opt/ml/model (less code/), and the artifact's path in it."""
    files = [PlannedFile(f"model/{p.relative_to(archive.root).as_posix()}", source=p) for p in archive.model_files]
    return files, archive.artifact.relative_to(archive.root).as_posix()


def user_code(spec: ProjectSpec, archive: SageMakerArchive | None) -> list[tuple[Path, Path]]:
    """(path under code/, source) of the user's own code: an archive's, then --code-dir's (a requirements.txt
    there is merged into the project's requirements.txt instead)."""
    sources = [(p.relative_to(archive.root / "code"), p) for p in archive.code_files] if archive else []
    code_dir = spec.model.code_dir
    if code_dir:
        sources += [(p.relative_to(code_dir), p) for p in sorted(code_dir.rglob("*")) if _is_user_code(p)]
    return [(relative, source) for relative, source in sources if relative.as_posix() != "requirements.txt"]


def _with_user_code(files: list[PlannedFile], spec: ProjectSpec, archive: SageMakerArchive | None) -> list[PlannedFile]:
    """The user's own code/ (its inference.py instead of the generated one) and, when that inference.py defines
    hooks, the tests of the served answers against those hooks in-process."""
    sources = user_code(spec, archive)
    planned = {f.path: f for f in files}
    for relative, source in sources:
        path = f"code/{relative.as_posix()}"
        planned[path] = PlannedFile(path, source=source, user_owned=True)
    inference = next((source for relative, source in reversed(sources) if relative.as_posix() == "inference.py"), None)
    if spec.include_tests and inference and defined_hooks(inference):
        for name in ("test_handler.py", "test_local_server.py"):
            planned.pop(f"tests/{name}", None)
        tests = (TEMPLATES_DIR / IMPORTED_TESTS).read_bytes()
        planned["tests/test_imported_hooks.py"] = PlannedFile("tests/test_imported_hooks.py", tests)
    return list(planned.values())


def _with_named_input_tests(files: list[PlannedFile]) -> list[PlannedFile]:
    """A model of several named inputs: its tests of the served answers in place of the tabular ones (the tests
    of a user's own hooks stay)."""
    planned = {f.path: f for f in files}
    if "tests/test_imported_hooks.py" in planned:
        return files
    for name in ("test_handler.py", "test_local_server.py"):
        planned.pop(f"tests/{name}", None)
    path = "tests/test_named_inputs.py"
    planned[path] = PlannedFile(path, (TEMPLATES_DIR / NAMED_INPUT_TESTS).read_bytes())
    return list(planned.values())


def _is_user_code(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def requirements(spec: ProjectSpec, catalog: Catalog, needs_pandas: bool = False) -> list[str]:
    """requirements.txt: what the image's pip installs (on GPU images, less what the base already has);
    pandas only for a model that takes a DataFrame (as the model check found)."""
    model, accelerator = spec.model, spec.deployment.accelerator
    pinned = project_pinning(spec, catalog)
    if pinned.resolved:
        framework = catalog.frameworks[model.framework]
        return list(release_closure(pinned, framework, catalog, spec.serving.web_server, machine(spec)))
    return catalog.requirements(
        model.framework, model.framework_version, spec.serving.web_server, accelerator, dataframe=needs_pandas
    )


def image_platforms(spec: ProjectSpec, catalog: Catalog, own_requirements: bool = False) -> list[str]:
    """Where the image's pins install: the tested framework version's architectures (CPU images), or the one
    platform an untested release, or the user's own requirements, were checked for; GPU images are linux/amd64."""
    if spec.deployment.accelerator == "gpu":
        return [platforms.AMD64]
    if own_requirements or project_pinning(spec, catalog).resolved:
        return [platforms.endpoint_platform(spec.deployment.mode, spec.deployment.instance_type)]
    entry = catalog.frameworks[spec.model.framework].versions[spec.model.framework_version]
    return [platforms.ARM64 if arch == "arm64" else platforms.AMD64 for arch in entry.architectures]


def check_arm64_wheels(pinned: list[str], spec: ProjectSpec, catalog: Catalog, source: str) -> None:
    """On Graviton, the user's own requirements must install on aarch64 beside the pinned closure: pip's resolver
    for the image's Python and C library, wheels only (RequirementsError naming pip's reason when they do not)."""
    try:
        resolve(tuple(pinned), image_target(catalog.frameworks[spec.model.framework], catalog, "aarch64"))
    except ResolutionError as exc:
        raise RequirementsError(
            f"{source} cannot be installed on Graviton ({spec.deployment.instance_type} runs linux/arm64): {exc}"
        ) from None


def project_pinning(spec: ProjectSpec, catalog: Catalog) -> Pinning:
    """The framework version and the pickled libraries' releases the image pins (already checked by the spec)."""
    framework = catalog.frameworks[spec.model.framework]
    found = recorded(framework, spec.model.format, spec.model.file) if spec.model.file else None
    return pinning(framework, spec.model.framework_version, found)
