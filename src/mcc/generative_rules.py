"""Rules for generative projects: model source, engine and its options, and whether the instance holds the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcc_lifecycle import amis, rules
from mcc_runtime.llm.launch import LaunchError, parse_engine_arg, styled_arg

from . import sizing, validation
from .answers import ANSWERS, GENERATIVE_KEYS, PREDICTIVE_KEYS
from .catalog import Catalog, Engine, InstanceType
from .errors import FieldError
from .errors import answer_error as _error
from .gguf_metadata import GgufError, GgufModel, read_gguf_once
from .sources import Answers
from .spec import GenerationSpec, ProjectSpec, field_default

BFLOAT16_COMPUTE_CAPABILITY = 8.0  # Ampere and newer
# The first CUDA whose kernels run on each GPU generation (compute capability -> CUDA version): Blackwell needs 12.8.
FIRST_CUDA_FOR = {10.0: "12.8", 12.0: "12.8"}
DEPLOY_MODES = ("realtime", "async", "serverless", "inference-component", "hyperpod")  # no batch transform
# Engine options; their spec defaults leave the engine at its own default (so any engine accepts them).
OPTION_KEYS = (
    "dtype",
    "quantization",
    "max_model_len",
    "gpu_memory_utilization",
    "tensor_parallel_degree",
    "max_concurrent_sequences",
    "batch_size",
    "max_batch_delay_ms",
    "enable_lora",
    "max_lora_rank",
    "max_loras",
    "trust_remote_code",
)
OPTION_DEFAULTS: dict[str, Any] = {key: field_default(("generation", key)) for key in OPTION_KEYS}


def stray_generation_errors(answers: Answers, catalog: Catalog) -> list[FieldError]:
    """Generative answers given for a predictive framework."""
    framework = answers["framework"].value if "framework" in answers else catalog.default_framework
    if catalog.is_generative(framework):
        return []
    given = [a.key for a in ANSWERS if a.key in GENERATIVE_KEYS and _given(answers, a.key)]
    return [
        _error(answers, key, answers[key].value, f"is for generative frameworks only ({framework} is predictive)")
        for key in given
    ]


def _given(answers: Answers, key: str) -> bool:
    """Given by the user (a flag, variable or file), not filled in as a default."""
    return key in answers and answers[key].source != "default"


def generation_errors(spec: ProjectSpec, catalog: Catalog, answers: Answers) -> list[FieldError]:
    gen = spec.generation
    predictive_only = "is for predictive frameworks; generative models come from --model-id"
    errors = [
        _error(answers, a.key, answers[a.key].value, predictive_only)
        for a in ANSWERS
        if a.key in PREDICTIVE_KEYS and _given(answers, a.key) and answers[a.key].value
    ]
    if gen is None:
        return [*errors, FieldError("engine", "required for a generative framework")]
    engine = catalog.engines.get(gen.engine)
    if engine is None:
        return [
            *errors,
            _error(answers, "engine", gen.engine, validation.choice_error(gen.engine, catalog.engines, "engine")),
        ]
    errors += _source_errors(gen, answers) if not gen.gguf_file else []
    errors += _gguf_errors(gen, engine, catalog, answers)
    engine_errors = _engine_errors(gen, engine, catalog, answers)
    if engine_errors:
        return errors + engine_errors  # sizing needs a valid dtype and quantization
    return errors + _placement_errors(spec, engine, catalog, answers)


def _source_errors(gen: GenerationSpec, answers: Answers) -> list[FieldError]:
    if bool(gen.model_id) == bool(gen.model_s3_uri):
        what = (
            "give one model source, not both" if gen.model_id else "required (--model-id ORG/NAME, or --model-s3-uri)"
        )
        return [_error(answers, "model_id", gen.model_id or None, what)]
    problem = validation.model_id_error(gen.model_id) if gen.model_id else validation.s3_prefix_error(gen.model_s3_uri)
    key, value = ("model_id", gen.model_id) if gen.model_id else ("model_s3_uri", gen.model_s3_uri)
    return [_error(answers, key, value, problem)] if problem else []


def _gguf_errors(gen: GenerationSpec, engine: Engine, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """llama.cpp serves one GGUF file: a local one (built into the image), or one named in a Hub repo or S3 prefix."""
    if engine.model_file_format != "gguf":
        if gen.gguf_file:
            servers = ", ".join(name for name, e in catalog.engines.items() if e.model_file_format == "gguf")
            return [_error(answers, "gguf_file", gen.gguf_file, f"{engine.name} does not serve GGUF ({servers} does)")]
        return []
    if not gen.gguf_file:
        what = "required: the .gguf file (a local path, or its name in the --model-id repo or --model-s3-uri prefix)"
        return [_error(answers, "gguf_file", None, what)]
    if gen.model_id or gen.model_s3_uri:
        errors = _source_errors(gen, answers)
        if not gen.gguf_file.endswith(".gguf") or gen.gguf_file.startswith("/") or ".." in gen.gguf_file.split("/"):
            where = "repo" if gen.model_id else "prefix"
            errors.append(_error(answers, "gguf_file", gen.gguf_file, f"must be a .gguf file's name in the {where}"))
        return errors
    problem = validation.gguf_file_error(Path(gen.gguf_file).expanduser())
    return [_error(answers, "gguf_file", gen.gguf_file, problem)] if problem else []


def _engine_errors(gen: GenerationSpec, engine: Engine, catalog: Catalog, answers: Answers) -> list[FieldError]:
    errors = []
    if gen.engine_version not in engine.versions:
        allowed = ", ".join(engine.versions)
        errors.append(
            _error(answers, "engine_version", gen.engine_version, f"is not a pinned {engine.name} version ({allowed})")
        )
    if gen.task not in engine.tasks:
        others = ", ".join(e.name for e in catalog.engines.values() if gen.task in e.tasks)
        errors.append(
            _error(
                answers,
                "task",
                gen.task,
                f"{engine.name} serves {', '.join(engine.tasks)} here (for {gen.task}: {others})",
            )
        )
    for key, choices, table in (
        ("dtype", catalog.dtypes, engine.dtypes),
        ("quantization", catalog.quantizations, {"none": "", **engine.quantizations_for(gen.engine_version)}),
    ):
        value = getattr(gen, key)
        problem = validation.choice_error(value, choices, key)
        if not problem and value not in table and value != OPTION_DEFAULTS[key]:
            problem = f"{engine.name} cannot serve {key} {value} (it takes: {', '.join(table) or 'none'})"
        if problem:
            errors.append(_error(answers, key, value, problem))
    errors += _engine_arg_errors(gen, engine, answers)
    for option in ("max_lora_rank", "max_loras"):
        if getattr(gen, option) is not None and not gen.enable_lora:
            errors.append(_error(answers, option, getattr(gen, option), "sizes LoRA serving: give --enable-lora too"))
    for option, default in OPTION_DEFAULTS.items():
        if option in ("dtype", "quantization") or getattr(gen, option) == default or engine.settable(option):
            continue
        if option == "tensor_parallel_degree" and getattr(gen, option) == 1:
            continue
        errors.append(_error(answers, option, getattr(gen, option), f"{engine.name} has no such option here"))
    return errors


def _engine_arg_errors(gen: GenerationSpec, engine: Engine, answers: Answers) -> list[FieldError]:
    """--engine-arg: a setting mcc does not curate, in the engine's style; mcc's own settings keep their flags."""
    errors = []
    known = engine.known_options(gen.engine_version) if gen.engine_version in engine.versions else None
    for arg in gen.engine_args:
        try:
            name, _ = styled_arg(engine.style, *parse_engine_arg(arg))
        except LaunchError:
            return [_error(answers, "engine_args", arg, f"{engine.name} (mcc's own server) takes no engine arguments")]
        curated = next((option for option, flag in engine.options.items() if flag == name), None)
        if curated:
            flag = "--" + curated.replace("_", "-")
            errors.append(_error(answers, "engine_args", arg, f"{name} is mcc's {flag}: give {flag} instead"))
        elif name in (engine.model_flag, engine.repo_flag):
            errors.append(_error(answers, "engine_args", arg, "the model comes from --model-id or --model-s3-uri"))
        elif known is not None and name not in known and name.replace("_", "-") not in known:
            where = f"{engine.name} {gen.engine_version}"
            problem = f"{name} is not an option of {where}{validation.suggest(name.replace('_', '-'), known)}"
            errors.append(_error(answers, "engine_args", arg, problem))
    return errors


def _placement_errors(spec: ProjectSpec, engine: Engine, catalog: Catalog, answers: Answers) -> list[FieldError]:
    deployment = spec.deployment
    if deployment.mode not in DEPLOY_MODES:
        return [
            _error(answers, "deploy_mode", deployment.mode, f"generative projects deploy as {', '.join(DEPLOY_MODES)}")
        ]
    gpu_engine = "cpu" not in engine.accelerators  # needs an accelerator: a GPU, or AWS Neuron
    neuron_engine = "neuron" in engine.accelerators
    if deployment.mode == "serverless":
        if gpu_engine:
            needs = "AWS Neuron" if neuron_engine else "one"
            message = f"serverless endpoints have no GPUs or Neuron accelerators; {engine.name} needs {needs}"
            return [_error(answers, "deploy_mode", "serverless", message)]
        return []
    instance = catalog.instance(deployment.instance_type)
    if instance.architecture == "arm64":
        message = f"is a Graviton (arm64) instance type; {engine.name}'s image is built for linux/amd64 only"
        return [_error(answers, "instance_type", instance.name, message)]
    errors = _neuron_errors(spec, engine, instance, catalog, answers) or (
        [] if neuron_engine else _gpu_or_cpu_errors(spec, engine, instance, catalog, answers)
    )
    errors = errors or _known_failure_errors(spec, engine, instance, catalog, answers)
    return errors or _size_errors(spec, engine, instance, catalog, answers)


def _gpu_or_cpu_errors(
    spec: ProjectSpec, engine: Engine, instance: InstanceType, catalog: Catalog, answers: Answers
) -> list[FieldError]:
    """A GPU engine needs a GPU instance (and the GPU image); a CPU engine refuses the GPU image."""
    gen, deployment = spec.generation, spec.deployment
    gpu_engine = "cpu" not in engine.accelerators
    if "gpu" not in engine.accelerators and deployment.accelerator == "gpu":
        message = (
            f"{engine.name} runs on CPU here: choose --accelerator cpu or a CPU instance ({_offers(catalog, spec)})"
        )
        return [_error(answers, "accelerator", "gpu", message)]
    if deployment.accelerator not in engine.accelerators or (gpu_engine and not instance.gpus):
        return [
            _error(
                answers,
                "instance_type",
                instance.name,
                f"has no GPU; {engine.name} runs on GPUs ({_offers(catalog, spec)})",
            )
        ]
    if deployment.accelerator == "gpu" and not instance.gpus:
        return [_error(answers, "accelerator", "gpu", f"{instance.name} has no GPU")]
    region_errors = _registry_errors(spec, engine, catalog, answers)
    if region_errors:
        return region_errors
    tp = gen.tensor_parallel_degree
    if tp and instance.gpus and tp > instance.gpus:
        return [_error(answers, "tensor_parallel_degree", tp, f"{instance.name} has {instance.gpus} GPU(s)")]
    return []


def _registry_errors(spec: ProjectSpec, engine: Engine, catalog: Catalog, answers: Answers) -> list[FieldError]:
    """An image in AWS's deep learning container registry, in a Region that has none."""
    region = catalog.regions[spec.deployment.region]
    image = engine.versions[spec.generation.engine_version].image
    if "{dlc_registry}" in image and region.dlc_registry is None:
        message = f"AWS publishes no deep learning container images (the {engine.name} image) in {region.name}"
        return [_error(answers, "region", region.code, message)]
    return []


def _neuron_errors(
    spec: ProjectSpec, engine: Engine, instance: InstanceType, catalog: Catalog, answers: Answers
) -> list[FieldError]:
    """AWS Inferentia2 and Trainium run Neuron engines only, and a Neuron engine runs nowhere else: each version
    on the instance families its Neuron SDK supports, sharded over at most the instance's NeuronCores."""
    gen, accelerator = spec.generation, spec.deployment.accelerator
    neuron_engines = [name for name, e in catalog.engines.items() if "neuron" in e.accelerators]
    if "neuron" not in engine.accelerators:
        if instance.accelerator == "neuron":
            message = (
                f"is an AWS {instance.neuron_chip} instance: it runs AWS Neuron engines ({', '.join(neuron_engines)}), "
                f"not {engine.name}"
            )
            if engine.neuron_variant:
                message += f" (its Neuron variant: --engine {engine.neuron_variant})"
            return [_error(answers, "instance_type", instance.name, message)]
        if accelerator == "neuron":
            return [_error(answers, "accelerator", accelerator, f"{engine.name} has no AWS Neuron image")]
        return []
    if instance.accelerator != "neuron":
        offers = _offers(catalog, spec)
        message = f"has no AWS Neuron accelerator; {engine.name} runs on Inferentia2 or Trainium ({offers})"
        return [_error(answers, "instance_type", instance.name, message)]
    if accelerator != "neuron":
        message = f"{engine.name} runs on the instance's NeuronCores: give --accelerator neuron (or leave it out)"
        return [_error(answers, "accelerator", accelerator, message)]
    if spec.deployment.mode == "inference-component":
        return [_error(answers, "deploy_mode", spec.deployment.mode, rules.NEURON_COMPONENTS_REASON)]
    version = engine.versions[gen.engine_version]
    if not version.runs_on(instance.family):
        others = [name for name, v in engine.versions.items() if v.runs_on(instance.family)]
        message = (
            f"its Neuron SDK {version.neuron_sdk} image supports {', '.join(version.instance_families)}, not "
            f"{instance.family} ({engine.name} versions that do: {', '.join(others) or 'none'})"
        )
        return [_error(answers, "engine_version", gen.engine_version, message)]
    tp = gen.tensor_parallel_degree
    if tp and tp > instance.neuron_cores:
        message = f"{instance.name} has {instance.neuron_cores} NeuronCores"
        return [_error(answers, "tensor_parallel_degree", tp, message)]
    return _registry_errors(spec, engine, catalog, answers)


def _known_failure_errors(
    spec: ProjectSpec, engine: Engine, instance: InstanceType, catalog: Catalog, answers: Answers
) -> list[FieldError]:
    """Combinations known to fail at start: an architecture the engine lacks, bfloat16 on a GPU without it,
    an engine image whose CUDA no SageMaker inference AMI runs."""
    gen = spec.generation
    errors = []
    model = catalog.llm_models.get(gen.model_id)
    if model and not engine.serves(model.architecture):
        others = [e.name for e in catalog.engines.values() if e.serves(model.architecture) and gen.task in e.tasks]
        errors.append(
            _error(
                answers,
                "engine",
                engine.name,
                f"does not serve {model.architecture} ({gen.model_id}); engines that do: {', '.join(others) or 'none'}",
            )
        )
    if gen.dtype == "bfloat16" and instance.gpus and instance.gpu_compute_capability < BFLOAT16_COMPUTE_CAPABILITY:
        errors.append(
            _error(
                answers,
                "dtype",
                gen.dtype,
                f"{instance.gpu_model} GPUs ({instance.name}) have no bfloat16 (compute capability "
                f"{instance.gpu_compute_capability:g} < {BFLOAT16_COMPUTE_CAPABILITY:g}); use float16",
            )
        )
    cuda = engine.versions[gen.engine_version].cuda
    first = FIRST_CUDA_FOR.get(instance.gpu_compute_capability) if instance.gpus else None
    if cuda and first and not amis.covers(cuda, first):
        newer = [v for v, entry in engine.versions.items() if entry.cuda and amis.covers(entry.cuda, first)]
        errors.append(
            _error(
                answers,
                "engine_version",
                gen.engine_version,
                f"its image is built for CUDA {cuda}; {instance.gpu_model} GPUs ({instance.name}) need CUDA {first} "
                f"or newer ({engine.name} versions that have it: {', '.join(newer) or 'none'})",
            )
        )
    if instance.gpus and cuda and catalog.inference_ami_for(cuda) is None:
        newest = max(catalog.inference_amis.values(), key=lambda a: a.driver)
        errors.append(
            _error(
                answers,
                "engine_version",
                gen.engine_version,
                f"its image needs CUDA {cuda}; the newest SageMaker inference AMI ({newest.name}) runs CUDA "
                f"{newest.cuda}, so the container would not start",
            )
        )
    return errors


def model_params(gen: GenerationSpec, catalog: Catalog) -> float | None:
    known = catalog.llm_models.get(gen.model_id)
    return gen.model_params or (known.params_b if known else None)


def local_gguf(gen: GenerationSpec) -> GgufModel | None:
    """The local GGUF file's model (llama.cpp projects built from a local file), None otherwise."""
    if not gen.gguf_file or gen.model_id or gen.model_s3_uri:
        return None
    try:
        return read_gguf_once(Path(gen.gguf_file).expanduser())
    except (GgufError, OSError):
        return None  # reported by _gguf_errors


def need(gen: GenerationSpec, catalog: Catalog) -> sizing.Estimate | None:
    gguf = local_gguf(gen)
    if gguf:
        return sizing.gguf_estimate(gguf, gen.max_model_len)
    params = model_params(gen, catalog)
    if params is None:
        return None
    return sizing.estimate(params, gen.dtype, gen.quantization, catalog.llm_models.get(gen.model_id), gen.max_model_len)


def _size_errors(
    spec: ProjectSpec, engine: Engine, instance: InstanceType, catalog: Catalog, answers: Answers
) -> list[FieldError]:
    gen = spec.generation
    estimate = need(gen, catalog)
    if estimate is None:
        if "cpu" in engine.accelerators:
            return []  # small CPU models: nothing to size
        source = gen.source
        return [
            _error(
                answers, "model_params", None, f"the size of {source} is unknown to mcc: give --model-params (e.g. 7B)"
            )
        ]
    units = sizing.accelerator_units(instance)
    sharded = (gen.tensor_parallel_degree or units) if units else 0  # the GPUs or NeuronCores the model spans
    if sizing.fits(estimate, instance, sharded, gen.gpu_memory_utilization):
        return []
    usable = sizing.usable_gib(instance, sharded, gen.gpu_memory_utilization)
    if instance.gpus:
        where = (
            f"{sharded} of its {instance.gpus}x {instance.gpu_memory_gib:g} GiB GPUs give {usable:.1f} GiB "
            f"at gpu_memory_utilization {gen.gpu_memory_utilization:g}"
        )
    elif instance.neuron_chips:
        where = (
            f"{sharded} of its {instance.neuron_cores} NeuronCores ({instance.neuron_core_memory_gib:g} GiB each) "
            f"give {usable:.1f} GiB"
        )
    else:
        where = f"its {instance.memory_gib:g} GiB of memory leave {usable:.1f} GiB for the model"
    return [
        _error(
            answers,
            "instance_type",
            instance.name,
            f"cannot hold {gen.source} in {_precision(gen)}: "
            f"it needs {estimate.describe()}; {where}. {_offers(catalog, spec)}",
        )
    ]


def _precision(gen: GenerationSpec) -> str:
    gguf = local_gguf(gen)
    if gguf:
        return gguf.file_type or "its GGUF quantization"
    if gen.quantization != "none":
        return gen.quantization
    return "16-bit (dtype auto)" if gen.dtype == "auto" else gen.dtype


def _offers(catalog: Catalog, spec: ProjectSpec) -> str:
    estimate = need(spec.generation, catalog)
    engine = catalog.engines[spec.generation.engine]
    if "neuron" in engine.accelerators:
        return _neuron_offers(catalog, spec, estimate)
    if spec.deployment.accelerator == "cpu" and "cpu" in engine.accelerators:
        if estimate is None:
            return f"e.g. {catalog.default_instance_type}"
        fitting = sizing.smallest_cpu_fitting(catalog, estimate)
        shorter = " (or lower --max-model-len)" if estimate.context else ""
        if not fitting:
            return "No CPU instance in the catalog holds it" + (": lower --max-model-len" if shorter else "")
        return "Smallest CPU instances that hold it: " + ", ".join(t.label for t in fitting) + shorter
    if estimate is None:
        return "GPU families: " + ", ".join(
            sorted({f"{t.family}.*" for t in catalog.instance_types.values() if t.gpus})
        )
    fitting = sizing.cheapest_fitting(catalog, estimate, spec.generation.gpu_memory_utilization)
    shorter = _shorter_context(catalog, spec.generation.engine) if estimate.context else ""
    if not fitting:
        return "No instance in the catalog holds it: quantize it" + (f", or {shorter}" if shorter else "")
    return (
        "Cheapest that hold it: "
        + ", ".join(sizing.offer(t) for t in fitting)
        + (f" (or {shorter})" if shorter else "")
    )


def _neuron_offers(catalog: Catalog, spec: ProjectSpec, estimate: sizing.Estimate | None) -> str:
    """The Neuron instances the engine version runs on: the smallest that hold the model."""
    families = catalog.engines[spec.generation.engine].versions[spec.generation.engine_version].instance_families
    if estimate is None:
        return "Neuron families: " + ", ".join(f"{f}.*" for f in families)
    fitting = sizing.smallest_neuron_fitting(catalog, estimate, families)
    shorter = " (or lower --max-model-len)" if estimate.context else ""
    if not fitting:
        return "No Neuron instance in the catalog holds it" + (": lower --max-model-len" if shorter else "")
    held = ", ".join(f"{t.name} ({t.accelerators_label.removeprefix(', ')})" for t in fitting)
    return f"Smallest that hold it: {held}{shorter}"


def _shorter_context(catalog: Catalog, engine_name: str) -> str:
    """How to size the KV cache for shorter sequences: --max-model-len where the engine takes it, else the
    engines that do (an engine without it may hold a sequence of the model's whole context)."""
    if "max_model_len" in catalog.engines[engine_name].options:
        return "lower --max-model-len"
    others = [name for name, engine in catalog.engines.items() if "max_model_len" in engine.options]
    return f"serve it with {' or '.join(others)}, which take --max-model-len ({engine_name} does not)"


def default_instance_type(values: dict[str, Any], catalog: Catalog) -> str | None:
    """For a GPU engine: the cheapest GPU instance that holds the model (or the cheapest GPU instance); for a
    Neuron engine: the smallest Neuron instance of its version's families that holds it."""
    engine = catalog.engines.get(values.get("engine") or catalog.default_engine)
    if engine is None or "cpu" in engine.accelerators:
        return None
    neuron = "neuron" in engine.accelerators
    params = values.get("model_params")
    known = catalog.llm_models.get(values.get("model_id") or "")
    try:
        billions = validation.params_or_none(params) or (known.params_b if known else None)
        max_len = int(values["max_model_len"]) if values.get("max_model_len") else None
        utilization = float(values.get("gpu_memory_utilization") or OPTION_DEFAULTS["gpu_memory_utilization"])
    except (TypeError, ValueError):
        return None  # validation reports it
    gpu_types = sorted(
        (t for t in catalog.instance_types.values() if t.gpus and t.usd_per_hour), key=lambda t: t.usd_per_hour
    )
    version = engine.versions.get(values.get("engine_version") or engine.default_version)
    families = version.instance_families if version else ()
    if billions is None:
        if neuron:
            return sizing.smallest_neuron_fitting(catalog, sizing.Estimate(0, 0, None), families, limit=1)[0].name
        return gpu_types[0].name
    dtype, quantization = values.get("dtype") or "auto", values.get("quantization") or "none"
    if dtype not in sizing.BYTES_PER_PARAM:
        return None
    estimate = sizing.estimate(billions, dtype, quantization, known, max_len)
    if neuron:
        fitting = sizing.smallest_neuron_fitting(catalog, estimate, families, limit=1)
    else:
        fitting = sizing.cheapest_fitting(catalog, estimate, utilization, limit=1)
    return fitting[0].name if fitting else None


def generation_warnings(spec: ProjectSpec, catalog: Catalog) -> list[str]:
    gen = spec.generation
    warnings = []
    if gen.model_id and gen.model_id not in catalog.llm_models and gen.model_params:
        warnings.append(
            f"{gen.model_id} is not in mcc's model list: sizing counted its weights only, not its KV cache; "
            "check the engine's start-up log for the context length it can hold"
        )
    if gen.model_id and not gen.hf_token_secret_arn:
        warnings.append(token_warning(gen.model_id, catalog))
    instance = catalog.instance(spec.deployment.instance_type)
    if instance and instance.gpus and spec.deployment.accelerator == "cpu":
        warnings.append(f"{instance.name} has {instance.gpus} GPU(s) but the CPU image was chosen: the GPUs sit idle")
    return warnings


def token_warning(model_id: str, catalog: Catalog) -> str:
    """A model id with no token source: a gated model cannot start without one, and this shows only on SageMaker,
    after the build, the push and the endpoint's start-up."""
    known = catalog.llm_models.get(model_id)
    fix = ("pass --hf-token-secret-arn ARN (a Secrets Manager secret holding a token with access to it; the "
           "container reads it at start, it is never written into the project)")  # fmt: skip
    if known is not None and known.gated:
        return f"{model_id} is gated on the Hugging Face Hub: without a token the endpoint cannot download it; {fix}"
    return (f"no Hugging Face token is given for {model_id}: a gated or private model would fail only when the "
            f"endpoint starts; if it needs one, {fix}")  # fmt: skip
