"""SageMaker inference AMIs (NVIDIA driver, newest CUDA it runs), as mcc's catalog knew them when it generated
the project (``do/lib/inference-amis.json``): do/deploy refuses an AMI too old for the image's CUDA."""

from __future__ import annotations

import json
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "inference-amis.json"


def load(path: Path = TABLE) -> dict[str, dict[str, str]]:
    """``{name: {"driver": "550", "cuda": "12.4"}}``; empty when the project has no table."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def covers(ami_cuda: str, image_cuda: str) -> bool:
    """An AMI whose driver runs CUDA ``ami_cuda`` runs an image built for ``image_cuda``."""
    return _version(ami_cuda) >= _version(image_cuda)


def ami_error(ami: str, image_cuda: str, amis: dict[str, dict[str, str]]) -> str | None:
    """Why INFERENCE_AMI_VERSION cannot run an image built for IMAGE_CUDA; None when it can."""
    if not ami:
        return None
    if ami not in amis:
        return f"INFERENCE_AMI_VERSION={ami!r} is not a SageMaker inference AMI ({', '.join(amis) or 'none known'})"
    if image_cuda and not covers(amis[ami]["cuda"], image_cuda):
        fitting = [name for name, ami_ in amis.items() if covers(ami_["cuda"], image_cuda)]
        return (
            f"INFERENCE_AMI_VERSION={ami} runs CUDA {amis[ami]['cuda']} (driver {amis[ami]['driver']}), older than "
            f"the image's CUDA {image_cuda}: the container would fail to start. Use {' or '.join(fitting) or 'none'}"
        )
    return None
