"""Turn SageMaker's environment and the project's options into the engine's command line, then run it.

``code/serving.json`` holds the engine's entry from mcc's catalog (its program, and which flag or variable
each option maps to) and the project's choices. Only options listed there reach the engine: environment
variables are never forwarded by prefix. Each option can be overridden at start by ``MCC_<OPTION>``
(e.g. ``MCC_MAX_MODEL_LEN=8192``), which ``do/config``'s ``CONTAINER_ENV`` sets on the endpoint.

Environment read: ``SM_NUM_GPUS``, or ``MCC_NEURON_CORES`` on AWS Neuron (tensor parallel degree when the
project leaves it open),
``SAGEMAKER_BIND_TO_PORT``, ``SAGEMAKER_SAFE_PORT_RANGE`` (the engine's own port behind nginx),
``MCC_MODEL_DIR`` (where SageMaker put S3 model data, default /opt/ml/model), ``HF_TOKEN`` or
``HF_TOKEN_SECRET_ARN`` (see secrets.py), ``MCC_ENGINE_ARGS`` (replaces the project's --engine-arg settings).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..envvalues import ValueProblem, flag, whole_number
from ..serving_file import ServingFile

DEFAULT_PORT = 8080
DEFAULT_ENGINE_PORT = 8081  # the engine's port behind nginx, outside SageMaker's safe range
OPTIONS = (
    "host",
    "port",
    "served_model_name",
    "tensor_parallel_degree",
    "max_model_len",
    "dtype",
    "quantization",
    "gpu_memory_utilization",
    "max_concurrent_sequences",
    "batch_size",
    "max_batch_delay_ms",
    "enable_lora",
    "max_lora_rank",
    "max_loras",
    "trust_remote_code",
)
WHOLE_NUMBERS = (
    "tensor_parallel_degree",
    "max_model_len",
    "max_concurrent_sequences",
    "batch_size",
    "max_lora_rank",
    "max_loras",
)
WORKDIR = "@WORKDIR@"  # in argv and files: the directory the launcher writes the engine's files to


class LaunchError(ValueProblem):
    """A setting the engine cannot be started with."""


@dataclass(frozen=True)
class Launch:
    """What to run: the argv, environment additions, and files to write first (name -> content)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    engine_port: int | None = None  # proxied engines: where nginx forwards
    port: int = DEFAULT_PORT  # the SageMaker port

    def setting(self, key: str) -> str | None:
        """The value an engine gets for ``key`` (an argv flag, an environment variable or a property), whichever
        way this engine takes it; "" for a bare switch, None when it is not set."""
        if key in self.argv:
            following = self.argv[self.argv.index(key) + 1 :]
            value = following[0] if following else ""
            return value if not value.startswith("-") or _negative_number(value) else ""
        if key in self.env:
            return self.env[key]
        for content in self.files.values():
            for line in content.splitlines():
                name, sep, value = line.partition("=")
                if sep and name == key:
                    return value
        return None


def sagemaker_port(environ: Mapping[str, str]) -> int:
    return _int("SAGEMAKER_BIND_TO_PORT", environ.get("SAGEMAKER_BIND_TO_PORT"), DEFAULT_PORT)


def engine_port(environ: Mapping[str, str]) -> int:
    """The engine's port behind nginx: the first port of SAGEMAKER_SAFE_PORT_RANGE (e.g. 8081-8100) when set."""
    safe = (environ.get("SAGEMAKER_SAFE_PORT_RANGE") or "").strip()
    if not safe:
        return DEFAULT_ENGINE_PORT
    first = safe.split("-", 1)[0]
    return _int("SAGEMAKER_SAFE_PORT_RANGE", first, DEFAULT_ENGINE_PORT)


def option_values(generation: Mapping[str, Any], routes: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """Every option's value for this start: MCC_<OPTION> overrides, then the project, then SageMaker's environment."""
    values: dict[str, Any] = {name: generation.get(name) for name in OPTIONS}
    for name in OPTIONS:
        raw = environ.get(f"MCC_{name.upper()}")
        if raw is not None and raw.strip() != "":
            values[name] = raw.strip()
    for name in WHOLE_NUMBERS:
        if values[name] not in (None, ""):
            values[name] = _int(f"MCC_{name.upper()}", str(values[name]), 1)
    if values["max_batch_delay_ms"] not in (None, ""):
        values["max_batch_delay_ms"] = _int("MCC_MAX_BATCH_DELAY_MS", str(values["max_batch_delay_ms"]), 0, minimum=0)
    if values["tensor_parallel_degree"] in (None, ""):
        source = next((name for name in ("SM_NUM_GPUS", "MCC_NEURON_CORES") if environ.get(name)), "SM_NUM_GPUS")
        values["tensor_parallel_degree"] = _int(source, environ.get(source), 1)
    if values["gpu_memory_utilization"] not in (None, ""):
        values["gpu_memory_utilization"] = _fraction("MCC_GPU_MEMORY_UTILIZATION", values["gpu_memory_utilization"])
    proxied = routes == "proxy"
    values["port"] = engine_port(environ) if proxied else sagemaker_port(environ)
    values["host"] = "127.0.0.1" if proxied else "0.0.0.0"
    if values["quantization"] == "none":
        values["quantization"] = None
    return values


def engine_args(generation: Mapping[str, Any], environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """The project's --engine-arg settings, or ``MCC_ENGINE_ARGS`` instead when set at start (one KEY=VALUE or
    KEY per line, or a JSON list): (key, value; None for a switch)."""
    raw = (environ.get("MCC_ENGINE_ARGS") or "").strip()
    if raw.startswith("["):
        try:
            items = [str(item) for item in json.loads(raw)]
        except ValueError:
            raise LaunchError(f"MCC_ENGINE_ARGS is not a JSON list: {raw[:100]!r}") from None
    elif raw:
        items = [line.strip() for line in raw.splitlines() if line.strip()]
    else:
        items = list(generation.get("engine_args") or ())
    return [parse_engine_arg(item) for item in items]


def parse_engine_arg(item: str) -> tuple[str, str | None]:
    """``KEY=VALUE`` -> (KEY, VALUE); ``KEY`` (a switch) -> (KEY, None); leading dashes dropped."""
    key, sep, value = item.partition("=")
    return key.strip().lstrip("-"), value.strip() if sep else None


def styled_arg(style: str, key: str, value: str | None) -> tuple[str, str | None]:
    """An engine argument in the engine's own style: ``--key [value]``, ``OPTION_KEY=value`` or
    ``option.key=value`` (a key with a dot as it is); a switch is true where it cannot be bare."""
    if style == "argv":
        return f"--{key}", value
    value = "true" if value is None else value
    if style == "env":
        return (key if key.isupper() else "OPTION_" + key.replace("-", "_").upper()), value
    if style == "properties":
        return (key if "." in key else "option." + key.replace("-", "_")), value
    raise LaunchError(f"the {style} engine takes no engine arguments")


def lora_modules(engine: Mapping[str, Any], values: Mapping[str, Any], environ: Mapping[str, str]) -> list:
    """Local LoRA adapters for engines that take them by flag (vLLM's ``--lora-modules NAME=PATH …``): every
    directory under ``MCC_LORA_DIR`` (default: ``adapters/`` in the model directory) that holds an
    ``adapter_config.json``, by its directory's name; only with LoRA on."""
    flag = engine.get("lora_modules_flag")
    if not flag or not values.get("enable_lora") or not truthy("enable_lora", values["enable_lora"]):
        return []
    root = Path(environ.get("MCC_LORA_DIR") or Path(environ.get("MCC_MODEL_DIR") or "/opt/ml/model") / "adapters")
    found = sorted(p for p in root.glob("*/adapter_config.json")) if root.is_dir() else []
    return [(flag, tuple(f"{p.parent.name}={p.parent}" for p in found))] if found else []


def model_reference(generation: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """``MCC_MODEL_ID`` (another id or a local directory), else the project's Hugging Face id, else the
    directory SageMaker put the S3 model data in."""
    return environ.get("MCC_MODEL_ID") or generation.get("model_id") or environ.get("MCC_MODEL_DIR") or "/opt/ml/model"


def model_args(
    engine: Mapping[str, Any], generation: Mapping[str, Any], model: str, environ: Mapping[str, str]
) -> list[str]:
    """The argv naming the model: the model (a Hub id or a directory), or for engines that serve one file
    (llama.cpp's GGUF) that file in the directory, or its name in the Hub repository (``MCC_GGUF_FILE``
    overrides the project's)."""
    flag = [engine["model_flag"]] if engine["model_flag"] else []
    if not engine.get("model_file_format"):
        return [*flag, model]
    name = environ.get("MCC_GGUF_FILE") or generation.get("gguf_file") or ""
    if not name:
        raise LaunchError("no GGUF file: set MCC_GGUF_FILE to the model's .gguf file")
    if model.startswith(("/", ".")):
        return [*flag, str(Path(model) / name)]
    return [engine["repo_flag"], model, *flag, name]


def engine_launch(engine: Mapping[str, Any], generation: Mapping[str, Any], environ: Mapping[str, str]) -> Launch:
    """The engine's command line (or environment, for env-configured engines) for this start."""
    values = option_values(generation, engine["routes"], environ)
    style = engine["style"]
    options: Mapping[str, str] = engine["options"]
    switches = set(engine.get("switches", ()))
    model = model_reference(generation, environ)
    argv = list(engine["command"])
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    settings: list[tuple[str, str | None]] = []  # (flag or variable, value; None for a bare switch)
    for name in OPTIONS:
        value = _engine_value(name, values[name], engine)
        if value is None or name not in options:
            continue
        if name in switches:
            if truthy(name, value):
                settings.append((options[name], None if style == "argv" else "true"))
            continue
        settings.append((options[name], str(value)))
    settings += lora_modules(engine, values, environ)
    curated = set(options.values()) | {engine["model_flag"]}
    for key, value in engine_args(generation, environ):
        name, styled = styled_arg(style, key, value)
        if name in curated:
            raise LaunchError(f"engine argument {key}: {name} is mcc's own setting (its MCC_* variable sets it)")
        settings.append((name, styled))
    file_options = {
        key: _engine_value(name, values[name], engine) for name, key in engine.get("file_options", {}).items()
    }
    file_options = {k: v for k, v in file_options.items() if v is not None}
    if style == "argv":
        argv += model_args(engine, generation, model, environ)
        for flag, value in settings:
            argv += [flag] if value is None else [flag, *value] if isinstance(value, tuple) else [flag, value]
        argv += list(engine.get("fixed", ()))
        if file_options:
            files["engine-options.yaml"] = "".join(f"{k}: {json.dumps(v)}\n" for k, v in sorted(file_options.items()))
            argv += [engine["file_flag"], "engine-options.yaml"]
    elif style == "env":
        env[engine["model_flag"]] = model
        env.update({variable: value for variable, value in settings})
        env.update(dict(item.split("=", 1) for item in engine.get("fixed", ())))
    elif style == "properties":
        files.update(_properties_files(engine, generation, model, settings, values["port"]))
    else:
        raise LaunchError(f"engine style {style!r} is not launched by this module")
    return Launch(
        argv=argv,
        env=env,
        files=files,
        engine_port=values["port"] if engine["routes"] == "proxy" else None,
        port=sagemaker_port(environ),
    )


def _properties_files(
    engine: Mapping[str, Any], generation: Mapping[str, Any], model: str, settings: list, port: int
) -> dict[str, str]:
    """DJL Serving: serving.properties for the model, and a config.properties that serves it (and only it)
    on SageMaker's port."""
    properties = [(engine["model_flag"], model)]
    if engine.get("task_option"):
        properties.append((engine["task_option"], engine["task_values"][generation.get("task") or "chat"]))
    properties += [(key, value) for key, value in settings]
    properties += [tuple(item.split("=", 1)) for item in engine.get("fixed", ())]
    server = [
        f"inference_address=http://0.0.0.0:{port}",
        f"management_address=http://0.0.0.0:{port}",
        f"model_store={WORKDIR}/models",
        "load_models=ALL",
    ]
    return {
        "config.properties": "".join(f"{line}\n" for line in server),
        "models/model/serving.properties": "".join(f"{key}={value}\n" for key, value in properties),
    }


def materialize(launch: Launch, workdir: Path) -> list[str]:
    """Write the launch's files under ``workdir``; the argv with ``@WORKDIR@`` filled in."""
    for name, content in launch.files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content.replace(WORKDIR, str(workdir)))
    return [arg.replace(WORKDIR, str(workdir)) for arg in launch.argv]


def _engine_value(name: str, value: Any, engine: Mapping[str, Any]) -> Any:
    """The engine's spelling of a dtype or quantization; None when the engine's default applies."""
    if value is None or value == "":
        return None
    if name == "dtype":
        if value == "auto":
            return None  # the engine's own default: the checkpoint's dtype
        if value not in engine["dtypes"]:
            raise LaunchError(f"dtype {value!r} is not served by {engine['name']} ({', '.join(engine['dtypes'])})")
        return engine["dtypes"][value]
    if name == "quantization":
        if value not in engine["quantizations"]:
            raise LaunchError(f"quantization {value!r} is not served by {engine['name']}")
        return engine["quantizations"][value] or None  # "": the engine detects it from the checkpoint
    return value


def truthy(name: str, value: Any) -> bool:
    """An on/off option's value (a bool, or a word such as true/false from MCC_<OPTION>)."""
    if value is None or str(value).strip() == "":
        raise LaunchError(f"MCC_{name.upper()}={value!r} must be true or false")
    return flag(f"MCC_{name.upper()}", value, error=LaunchError)


def _int(name: str, raw: str | None, default: int, minimum: int = 1) -> int:
    return whole_number(name, raw, default, minimum, error=LaunchError)


def _fraction(name: str, raw: Any) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise LaunchError(f"{name}={raw!r} is not a number") from None
    if not 0 < value <= 1:
        raise LaunchError(f"{name}={raw!r} must be above 0 and at most 1")
    return value


def load_settings(code_dir: Path) -> ServingFile:
    """The project's serving.json (a generative project: its engine entry and generation settings)."""
    return ServingFile.read(code_dir)


def _negative_number(text: str) -> bool:
    """``-1``: a flag's value, not the next flag."""
    try:
        float(text)
    except ValueError:
        return False
    return True
