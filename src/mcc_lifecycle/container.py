"""The container as SageMaker runs it: its environment (do/deploy's model) and ``do/run``'s docker command.

Standard library only: ``do/run`` needs no AWS tools. Run as ``python -m mcc_lifecycle.container ROOT`` it
replaces itself with ``$DOCKER run ...`` (an argument list, never a shell line, so no setting is re-parsed).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .settings import Settings, SettingsError

MODEL_DIR = "/opt/ml/model"
CONTAINER_PORT = 8080
# Read from this machine's environment by name (the value never appears on a command line or in a file):
# the token, the server's settings, and an engine's options and arguments, to try them without a rebuild.
ENGINE_SETTINGS = ("MCC_MODEL_ID", "MCC_MAX_MODEL_LEN", "MCC_DTYPE", "MCC_QUANTIZATION", "MCC_GPU_MEMORY_UTILIZATION",
                   "MCC_TENSOR_PARALLEL_DEGREE", "MCC_MAX_CONCURRENT_SEQUENCES", "MCC_ENGINE_ARGS")  # fmt: skip
FORWARDED = ("HF_TOKEN", "MCC_WORKERS", "MCC_LOG_LEVEL", "MCC_ACCESS_LOG", "SAGEMAKER_MODEL_SERVER_TIMEOUT",
             "MCC_MAX_BATCH_SIZE", "MCC_MAX_BATCH_WAIT_MS", *ENGINE_SETTINGS)  # fmt: skip


LOCAL_HOST = "127.0.0.1"  # do/run serves this machine only, unless LOCAL_HOST says otherwise


def container_environment(settings: Settings) -> dict[str, str]:
    """CONTAINER_ENV ("KEY=VALUE KEY2='a b'") as the model's environment."""
    environment = {}
    for item in shlex.split(settings.container_env):
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise SettingsError(f"CONTAINER_ENV: {item!r} is not KEY=VALUE")
        environment[key] = value
    if settings.gpu_count and settings.deploy_mode != "serverless":
        environment.setdefault("SM_NUM_GPUS", str(settings.gpu_count))
    if settings.image_neuron_sdk and settings.neuron_cores:
        environment.setdefault("MCC_NEURON_CORES", str(settings.neuron_cores))
    if settings.hf_token_secret_arn:
        environment.setdefault("HF_TOKEN_SECRET_ARN", settings.hf_token_secret_arn)
    return environment


def docker_run(
    settings: Settings,
    image: str,
    port: int,
    model_dir: Path | None,
    environment: Mapping[str, str],
    options: Sequence[str] = ("--rm",),
    forwarded: Sequence[str] = (),
    devices: Sequence[str] = (),
    host: str = "",
) -> list[str]:
    """``docker run OPTIONS ... IMAGE serve`` as SageMaker starts the image: the model read-only at
    /opt/ml/model, ``environment`` (and ``forwarded`` variables by name), GPUs for a CUDA image, ``devices``
    (an AWS Neuron image's /dev/neuron*); published on ``host``'s interface only, when given."""
    published = f"{host}:{port}:{CONTAINER_PORT}" if host else f"{port}:{CONTAINER_PORT}"
    arguments = ["run", *options, "--platform", settings.image_platform, "--publish", published]
    if model_dir is not None:
        arguments += ["--volume", f"{model_dir}:{MODEL_DIR}:ro"]
    if settings.image_cuda:
        arguments += ["--gpus", "all"]
    arguments += [item for device in devices for item in ("--device", device)]
    for key, value in environment.items():
        arguments += ["--env", f"{key}={value}"]
    arguments += [item for name in forwarded for item in ("--env", name)]
    return [*arguments, image, "serve"]


def neuron_devices(settings: Settings, dev: Path = Path("/dev")) -> list[str]:
    """This machine's Neuron devices for an AWS Neuron image (none for other images); an error without any."""
    if not settings.image_neuron_sdk:
        return []
    numbered = {int(p.name[len("neuron") :]): str(p) for p in dev.glob("neuron*") if p.name[len("neuron") :].isdigit()}
    found = [numbered[index] for index in sorted(numbered)]
    if not found:
        raise SettingsError(
            f"the image runs on AWS Neuron (Neuron SDK {settings.image_neuron_sdk}) and this machine has no "
            f"{dev}/neuron* device: run it on an Inferentia2 or Trainium instance with the Neuron driver installed"
        )
    return found


def run_arguments(
    settings: Settings, root: Path, environ: Mapping[str, str], port: int, dev: Path = Path("/dev")
) -> list[str]:
    """``do/run``'s ``docker run``: model/ (when the project has one), the deployment's environment, the
    variables of FORWARDED that are set here, and this machine's Neuron devices for a Neuron image; the port
    on LOCAL_HOST's interface (this machine's own, 127.0.0.1, unless told otherwise)."""
    image = f"{environ.get('IMAGE_NAME') or settings.project_name}:latest"
    model = root / "model"
    return docker_run(
        settings,
        image,
        port,
        model.resolve() if model.is_dir() else None,
        container_environment(settings),
        forwarded=[name for name in FORWARDED if environ.get(name)],
        devices=neuron_devices(settings, dev),
        host=environ.get("LOCAL_HOST") or LOCAL_HOST,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mcc_lifecycle.container PROJECT_ROOT", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        port = int(os.environ.get("LOCAL_PORT") or CONTAINER_PORT)
        arguments = run_arguments(settings, Path(args[0]), os.environ, port)
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    docker = os.environ.get("DOCKER") or "docker"
    os.execvp(docker, [docker, *arguments])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
