"""What every project's file plan shares, predictive or generative: templates (common, then the kind's own),
the verbatim packages, IAM policies, data tables for the do/ scripts, and the answers record (mcc.yaml)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mcc_lifecycle import platforms, policies
from mcc_lifecycle.settings import Settings

from . import __version__
from .catalog import Catalog, InstanceType, Region, RuntimeBase
from .model_registry import package_group
from .render import TEMPLATES_DIR, PlannedFile, render_template
from .spec import DeploymentSpec, ProjectSpec
from .upgrade import SCHEMA_VERSION

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


@dataclass(frozen=True)
class SharedContext:
    """What the templates every project shares read (common/: do/config, buildspec.yml; the Dockerfile partials),
    decided here in Python; each kind's plan adds its own keys."""

    mcc_version: str
    project_name: str
    deployment: DeploymentSpec
    instance: InstanceType
    region: Region
    runtime: RuntimeBase
    include_tests: bool
    payload_file: str  # the sample request do/test sends
    test_kind: str  # predictive | chat | embedding
    gpu: bool  # a CUDA image
    pip_extra_index_url: str  # the image's pip extra index (ARG PIP_EXTRA_INDEX_URL's default)
    expected_file: str = ""  # the project's answer to payload_file, recorded by mcc new's model check
    image_env: tuple[str, ...] = ()  # the kind's own ENV settings in the Dockerfile
    cuda: str = ""
    neuron_sdk: str = ""  # an AWS Neuron image's Neuron SDK release
    inference_ami: str = ""  # the SageMaker inference AMI whose driver the image's CUDA needs
    model_data_prefix: str = ""  # s3://… prefix of a generative model's files
    model_data_url: str = ""  # s3://…/model.tar.gz attached as ModelDataUrl
    model_package_group: str = ""  # do/register's default group
    hf_token_secret_arn: str = ""
    startup_timeout_s: int = 0
    ic_memory_mb: int = 1024  # an inference component copy's memory reservation
    image_platform: str = "linux/amd64"  # what the endpoint runs: linux/arm64 on Graviton

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def shared_context(
    spec: ProjectSpec, catalog: Catalog, payload_file: str, test_kind: str, **decided: Any
) -> dict[str, Any]:
    """The shared part of a template context; ``decided``: the kind's values for the other SharedContext fields."""
    deployment = spec.deployment
    return SharedContext(
        mcc_version=__version__,
        project_name=spec.project_name,
        deployment=deployment,
        instance=catalog.instance(deployment.instance_type),
        region=catalog.regions[deployment.region],
        runtime=catalog.runtime,
        include_tests=spec.include_tests,
        payload_file=payload_file,
        test_kind=test_kind,
        gpu=deployment.accelerator == "gpu",
        image_platform=lifecycle_settings(spec).target_platform,
        **decided,
    ).as_dict()


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
        hyperpod_cluster=deployment.hyperpod_cluster,
        k8s_namespace=deployment.k8s_namespace,
    )


def instance_types_file(catalog: Catalog, spec: ProjectSpec) -> PlannedFile:
    """do/lib/instance-types.json: vCPUs, memory and GPUs per instance type, the limits do/run --sagemaker
    gives the container (the project's own type included when the catalog estimated it)."""
    chosen = catalog.instance(spec.deployment.instance_type)
    types = [*catalog.instance_types.values(), *([chosen] if chosen and not chosen.listed else [])]
    table = {i.name: _instance_row(i) for i in types}
    return PlannedFile("do/lib/instance-types.json", json_bytes(table))


def _instance_row(instance: InstanceType) -> dict[str, Any]:
    row = {"vcpus": instance.vcpus, "memory_gib": instance.memory_gib, "gpus": instance.gpus}
    return {**row, "usd_per_hour": instance.usd_per_hour} if instance.usd_per_hour else row  # for do/benchmark


def image_platforms_file(supported: list[str]) -> PlannedFile:
    """do/lib/image-platforms.json: the platforms the project's image builds for (its pins install there);
    do/build and do/submit refuse an INSTANCE_TYPE that runs another."""
    return PlannedFile(f"do/lib/{platforms.PLATFORMS_FILE}", json_bytes(supported))


def inference_amis_file(catalog: Catalog) -> PlannedFile:
    """do/lib/inference-amis.json: the AMI table do/deploy checks INFERENCE_AMI_VERSION against."""
    table = {a.name: {"driver": a.driver, "cuda": a.cuda} for a in catalog.inference_amis.values()}
    return PlannedFile("do/lib/inference-amis.json", json_bytes(table))


def answers_record(spec: ProjectSpec, model_filename: str, payload_files: list[PlannedFile]) -> bytes:
    """mcc.yaml: the answers, with paths relative to the project so `mcc new --config mcc.yaml --force`
    regenerates it in place."""
    data = spec.model_dump(mode="json")
    data["output_dir"] = "."
    if not spec.deployment.base_image:
        del data["deployment"]["base_image"]  # recorded only when the user chose one
    if spec.deployment.mode != "hyperpod":
        for hyperpod_only in ("hyperpod_cluster", "k8s_namespace"):
            del data["deployment"][hyperpod_only]
    if spec.generative:
        data["model"] = {"framework": spec.model.framework}
        if model_filename:  # a model file built into the image (llama.cpp's local GGUF)
            data["generation"]["gguf_file"] = f"model/{model_filename}"
        for predictive_only in ("predict_output", "json_response", "max_batch_size", "max_batch_wait_ms"):
            data["serving"].pop(predictive_only, None)
    else:
        del data["generation"]
        data["model"]["file"] = None if spec.model.sample else f"model/{model_filename}"
        data["model"]["sample_payload"] = payload_files[0].path if spec.model.sample_payload else None
    header = "# Answers that generated this project. Bring it to a newer mcc, keeping your edits: mcc upgrade\n"
    record = {"mcc_version": __version__, "schema_version": SCHEMA_VERSION, **data}
    return (header + yaml.safe_dump(record, sort_keys=False)).encode()


def templates(kind: str, context: dict[str, Any], include_tests: bool) -> list[PlannedFile]:
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


def package_files(package: str, destination: str) -> list[PlannedFile]:
    """A package copied byte for byte into ``destination/package/`` (never templated)."""
    root = Path(str(resources.files(package)))
    return [
        PlannedFile(f"{destination}/{package}/{p.relative_to(root).as_posix()}", p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and not SKIPPED_NAMES & set(p.relative_to(root).parts) and p.suffix != ".pyc"
    ]


def iam_files(spec: ProjectSpec, catalog: Catalog) -> list[PlannedFile]:
    """iam/*.json: the policies scoped to this project, with the account left as a placeholder."""
    region = catalog.regions[spec.deployment.region]
    scope = policies.Scope(region.partition, region.code, policies.ACCOUNT_PLACEHOLDER, lifecycle_settings(spec))
    documents = policies.documents(scope)
    return [PlannedFile(f"iam/{name}", policies.render(doc).encode()) for name, doc in documents.items()]


def lines_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()
