"""The file plan of a generative project: engine image, launcher settings, nginx where needed, do/ scripts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mcc_lifecycle import platforms
from mcc_runtime.llm.launch import styled_arg
from mcc_runtime.serving_file import ServerSection, ServingFile

from .catalog import Catalog, Engine, image_in
from .client_snippets import generative_snippets
from .generative_rules import local_gguf, need
from .hyperpod_plan import hyperpod_files
from .plan_common import (
    GENERATIVE,
    LIFECYCLE_PACKAGE,
    RUNTIME_PACKAGE,
    answers_record,
    iam_files,
    image_platforms_file,
    inference_amis_file,
    instance_types_file,
    json_bytes,
    lines_bytes,
    package_files,
    shared_context,
    templates,
)
from .render import PlannedFile
from .spec import ProjectSpec

RUNTIME_THREADS = 4  # gthread threads of mcc's own engine: /ping answers while a request generates
STARTUP_BASE_S = 600  # SageMaker's container start-up health check budget for GPU engines…
STARTUP_PER_GIB_S = 20  # …plus this per GiB of weights to download and load
STARTUP_MAX_S = 3600  # SageMaker's limit, and the budget of AWS Neuron engines (they compile the model at start)
SAMPLES = {
    "chat": {
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "Say hello in five words."},
        ],
        "max_tokens": 32,
        "temperature": 0,
    },
    "embedding": {"input": ["SageMaker serves this sentence.", "And this one too."]},
}


def plan_generative(spec: ProjectSpec, catalog: Catalog) -> list[PlannedFile]:
    gen = spec.generation
    engine = catalog.engines[gen.engine]
    payload = f"samples/{gen.task}.json"
    context = generative_context(spec, catalog, payload)
    files = templates(GENERATIVE, context, include_tests=spec.include_tests)
    if engine.routes == "native":
        files = [f for f in files if f.path != "nginx.conf"]
    files += package_files(RUNTIME_PACKAGE, "code")
    files += package_files(LIFECYCLE_PACKAGE, "do/lib")
    files += iam_files(spec, catalog)
    requirements = image_requirements(spec, catalog)
    gguf = local_gguf(gen)
    if gguf:
        files.append(PlannedFile(f"model/{Path(gen.gguf_file).name}", source=Path(gen.gguf_file).expanduser()))
    files += [
        PlannedFile("requirements.txt", lines_bytes(requirements)),
        PlannedFile("requirements-dev.txt", lines_bytes(["-r requirements.txt", *catalog.dev_requirements()])),
        PlannedFile("code/serving.json", json_bytes(serving_settings(spec, engine))),
        PlannedFile(payload, json_bytes(SAMPLES[gen.task])),
        inference_amis_file(catalog),
        instance_types_file(catalog, spec),
        *hyperpod_files(spec, catalog, startup_timeout_s(spec, catalog)),
        image_platforms_file([platforms.AMD64]),  # the engines' images
        PlannedFile("mcc.yaml", answers_record(spec, Path(gen.gguf_file).name if gguf else "", [])),
    ]
    return sorted(files, key=lambda f: f.path)


def image_requirements(spec: ProjectSpec, catalog: Catalog) -> list[str]:
    """mcc's own engine: its pinned closure (less what a CUDA base holds); other engines: only the
    boto3 closure the launcher needs to read the token secret (vendored, beside the engine's Python)."""
    engine = catalog.engines[spec.generation.engine]
    if not pip_engine(engine, spec.generation.engine_version):
        return list(catalog.runtime.tool_requirements)
    version = engine.versions[spec.generation.engine_version]
    provided = set(version.gpu_provided) if spec.deployment.accelerator == "gpu" else set()
    return [r for r in version.requirements if r.split("==")[0] not in provided]


def pip_engine(engine: Engine, version: str) -> bool:
    """An engine pip installs on a plain Python image (mcc's own, llama.cpp), not an engine image of its own."""
    return bool(engine.versions[version].requirements)


def serving_settings(spec: ProjectSpec, engine: Engine) -> dict[str, Any]:
    """code/serving.json: the engine's catalog entry (what the launcher may pass) and the project's choices."""
    gen = spec.generation
    generation = gen.model_dump(mode="json")
    generation["served_model_name"] = gen.model_id or spec.project_name
    gguf = local_gguf(gen)
    if gguf:  # built into the image under /opt/ml/model, served with the context it was sized for
        generation["gguf_file"] = Path(gen.gguf_file).name
        generation["max_model_len"] = gen.max_model_len or gguf.context_length
    runtime = engine.style == "runtime"
    threads = gen.max_concurrent_sequences or RUNTIME_THREADS
    entry = engine.model_dump(
        mode="json", exclude={"versions", "display_name", "accelerators", "tasks", "gpu_fixed", "neuron_variant"}
    )
    entry["quantizations"] = engine.quantizations_for(gen.engine_version)
    if spec.deployment.accelerator == "gpu":
        entry["fixed"] = [*engine.fixed, *engine.gpu_fixed]
    return ServingFile(
        kind="generative",
        engine=entry,
        generation=generation,
        max_payload_mb=spec.serving.max_payload_mb,
        server=ServerSection("flask", "mcc_runtime.llm.app:create_app()", "gthread", threads, 1) if runtime else None,
        preload=not runtime,
    ).to_dict()


def startup_timeout_s(spec: ProjectSpec, catalog: Catalog) -> int:
    """Container start-up health check timeout: time to download and load the weights (GPU images), or to
    compile the model for the NeuronCores (AWS Neuron images: SageMaker's longest)."""
    if spec.deployment.accelerator == "neuron":
        return STARTUP_MAX_S
    if spec.deployment.accelerator != "gpu":
        return 0  # SageMaker's default applies
    estimate = need(spec.generation, catalog)
    weights = estimate.weights_gib if estimate else 0
    return min(STARTUP_MAX_S, STARTUP_BASE_S + int(weights * STARTUP_PER_GIB_S))


def ic_memory_mb(spec: ProjectSpec, catalog: Catalog) -> int:
    """An inference component copy's memory reservation: host memory for the weights it loads (the sizing
    estimate, on a CPU engine also its KV cache), at least 1 GiB."""
    estimate = need(spec.generation, catalog)
    if estimate is None:
        return 1024
    host_gib = estimate.total_gib if spec.deployment.accelerator == "cpu" else estimate.weights_gib
    return max(1024, math.ceil(host_gib * 1024))


def engine_arg_example(style: str) -> str:
    """How --engine-arg KEY=VALUE reaches an engine of this style (for the README)."""
    name, value = styled_arg(style, "key", "VALUE")
    return f"{name} {value}" if style == "argv" else f"{name}={value}"


def base_image(engine: Engine, version_name: str, gpu: bool) -> tuple[str, str]:
    """(image, its CUDA version or "") for the engine version on a GPU or CPU instance."""
    version = engine.versions[version_name]
    if engine.style == "runtime":
        return (version.gpu_image, version.gpu_cuda or "") if gpu else (version.image, "")
    if version.requirements:  # pip-installed: the bases of its CPU or GPU build
        built = version.pip_image(gpu)
        return built.image, built.cuda
    if not gpu and version.cpu_image:
        return version.cpu_image, ""
    return version.image, version.cuda


def generative_context(spec: ProjectSpec, catalog: Catalog, payload: str) -> dict[str, Any]:
    gen, deployment = spec.generation, spec.deployment
    engine = catalog.engines[gen.engine]
    version = engine.versions[gen.engine_version]
    gpu = deployment.accelerator == "gpu"
    region = catalog.regions[deployment.region]
    image, cuda = base_image(engine, gen.engine_version, gpu)
    built = version.pip_image(gpu)  # pip-installed engines: bases, compilers, system packages
    nginx_package = built.nginx_package or catalog.runtime.nginx_package
    ami = catalog.inference_ami_for(cuda) if gpu and cuda else None
    shared = shared_context(
        spec,
        catalog,
        payload_file=payload,
        test_kind=gen.task,
        pip_extra_index_url=(version.extra_index_url or "") if not gpu else "",
        cuda=cuda or "",
        neuron_sdk=version.neuron_sdk if deployment.accelerator == "neuron" else "",
        inference_ami=ami.name if ami else "",
        image_env=("HF_HOME=/tmp/huggingface",),  # the engine's download cache, writable by its user
        model_data_prefix=gen.model_s3_uri,
        hf_token_secret_arn=gen.hf_token_secret_arn,
        startup_timeout_s=startup_timeout_s(spec, catalog),
        ic_memory_mb=ic_memory_mb(spec, catalog),
    )
    return {
        **shared,
        "engine": engine,
        "engine_version": gen.engine_version,
        "pip_engine": pip_engine(engine, gen.engine_version),  # installed with pip on a Python base
        "pip_image": built,
        "builder_packages": [*built.python_packages, *built.build_packages],
        "runtime_packages": [nginx_package, *built.system_packages, *built.python_packages],
        "source_builds": version.source_builds,
        "model_in_image": local_gguf(gen) is not None,
        "engine_arg_style": "" if engine.style == "runtime" else engine_arg_example(engine.style),
        "properties_engine": engine.style == "properties",
        "proxied": engine.routes == "proxy",  # nginx maps SageMaker's routes to the engine's
        "native_routes": engine.routes == "native",  # the engine answers /ping and /invocations itself
        "base_image": image_in(image, region),
        "generation": gen,
        "model_source": gen.source,
        "nginx_package": nginx_package,
        "sample_request": json.dumps(SAMPLES[gen.task]),
        "client_snippets": generative_snippets(spec, completions=engine.routes != "proxy"),
    }
