"""The catalog: frameworks, web servers, instance types, regions — data in ``data/*.yaml``, typed here.

Prompts, CLI choices, validation and templates all read it; nothing else lists these things.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_DIR = Path(__file__).parent / "data"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!*-]+)$")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFormat(_Entry):
    name: str
    extensions: tuple[str, ...]
    description: str


class FrameworkVersion(_Entry):
    requirements: tuple[str, ...]


class SampleModel(_Entry):
    trainer: str
    description: str


class Framework(_Entry):
    name: str
    display_name: str
    package: str  # the distribution whose version is the framework version (pip name)
    kind: Literal["predictive"]
    handler: str
    preload: bool
    default_format: str
    formats: dict[str, ModelFormat]
    default_version: str
    versions: dict[str, FrameworkVersion]
    sample: SampleModel | None = None

    @model_validator(mode="after")
    def _defaults_exist(self) -> Framework:
        if self.default_format not in self.formats:
            raise ValueError(f"{self.name}: default_format {self.default_format!r} is not among its formats")
        if self.default_version not in self.versions:
            raise ValueError(f"{self.name}: default_version {self.default_version!r} is not among its versions")
        return self

    def format_for(self, filename: str) -> str | None:
        """The format whose extensions match ``filename``, if any."""
        lower = filename.lower()
        return next((f.name for f in self.formats.values() if lower.endswith(f.extensions)), None)


class WebServer(_Entry):
    name: str
    display_name: str
    app: str
    worker_class: str
    requirements: tuple[str, ...]


class InstanceType(_Entry):
    name: str
    family: str
    category: str
    vcpus: int = Field(gt=0)
    memory_gib: float = Field(gt=0)
    gpus: int = 0
    gpu_memory_gib: float = 0

    @property
    def label(self) -> str:
        return f"{self.name}  ({self.vcpus} vCPU, {self.memory_gib:g} GiB, {self.category})"


class Region(_Entry):
    code: str
    name: str
    partition: Literal["aws", "aws-cn", "aws-us-gov"]


class RuntimeBase(_Entry):
    python_version: str
    base_image: str
    nginx_package: str
    service_user: str
    service_uid: int
    requirements: tuple[str, ...]
    test_requirements: tuple[str, ...]
    tool_requirements: tuple[str, ...]


class Catalog(_Entry):
    frameworks: dict[str, Framework]
    default_framework: str
    servers: dict[str, WebServer]
    default_server: str
    instance_types: dict[str, InstanceType]
    default_instance_type: str
    regions: dict[str, Region]
    default_region: str
    runtime: RuntimeBase

    @model_validator(mode="after")
    def _defaults_exist(self) -> Catalog:
        for default, table in (
            (self.default_framework, self.frameworks),
            (self.default_server, self.servers),
            (self.default_instance_type, self.instance_types),
            (self.default_region, self.regions),
        ):
            if default not in table:
                raise ValueError(f"catalog default {default!r} is not in its table")
        return self

    def requirements(self, framework: str, version: str, server: str) -> list[str]:
        """The image's pinned requirements: runtime + framework version + web server, merged."""
        return merge_pins(
            self.runtime.requirements,
            self.frameworks[framework].versions[version].requirements,
            self.servers[server].requirements,
        )

    def dev_requirements(self) -> list[str]:
        """requirements-dev.txt beyond the image's: pytest for the tests, boto3 for the do/ scripts."""
        return merge_pins(self.runtime.test_requirements, self.runtime.tool_requirements)


def merge_pins(*groups: tuple[str, ...]) -> list[str]:
    """Union of ``name==version`` pins, sorted by name; the same package pinned twice must agree."""
    pins: dict[str, tuple[str, str]] = {}  # normalized name -> (line, version)
    for group in groups:
        for line in group:
            match = PIN.match(line)
            if not match:
                raise ValueError(f"requirement {line!r} is not pinned as name==version")
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            first, version = pins.setdefault(name, (line, match.group(2)))
            if version != match.group(2):
                raise ValueError(f"conflicting pins: {first} and {line}")
    return [pins[name][0] for name in sorted(pins)]


def _read(name: str) -> dict:
    return yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text())


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    frameworks, servers, instances = _read("frameworks"), _read("servers"), _read("instances")
    regions, runtime = _read("regions"), _read("runtime")
    instance_types = {
        f"{family}.{size}": InstanceType(name=f"{family}.{size}", family=family, category=spec["category"], **dims)
        for family, spec in instances["families"].items()
        for size, dims in spec["sizes"].items()
    }
    return Catalog(
        frameworks={
            name: Framework(
                name=name,
                **{k: v for k, v in entry.items() if k != "formats"},
                formats={f: ModelFormat(name=f, **fmt) for f, fmt in entry["formats"].items()},
            )
            for name, entry in frameworks["frameworks"].items()
        },
        default_framework=frameworks["default"],
        servers={name: WebServer(name=name, **entry) for name, entry in servers["servers"].items()},
        default_server=servers["default"],
        instance_types=instance_types,
        default_instance_type=instances["default"],
        regions={code: Region(code=code, **entry) for code, entry in regions["regions"].items()},
        default_region=regions["default"],
        runtime=RuntimeBase(**runtime),
    )
