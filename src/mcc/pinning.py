"""Which library versions the image pins for a model: the ones its artifact was saved with.

A release the catalog pins gets the catalog's tested closure. Any other release (the one the artifact records,
or the one ``--framework-version`` names) gets a closure pip's resolver computes for the image at generation,
marked "resolved, not tested" in the project's README.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcc_lifecycle import platforms

from .catalog import PIN, Catalog, Framework, merge_pins
from .resolution import Target, resolve
from .spec import ProjectSpec
from .training_version import Recorded, recorded_versions

PICKLED_LIBRARIES = ("scikit-learn",)  # their classes in a pickle must come from the release that wrote it


@dataclass(frozen=True)
class Pinning:
    """The framework version the image gets, what the artifact records, and the exact pins that follow."""

    framework_version: str
    recorded: Recorded | None
    pins: tuple[str, ...]  # name==version of the pickled libraries beside the framework (e.g. its scikit-learn)
    tested: bool  # every pin is the catalog's own

    @property
    def resolved(self) -> bool:
        return not self.tested

    def summary(self, framework: Framework, model_name: str) -> str | None:
        """What ``mcc new`` says about the versions it pinned (None when the artifact records none)."""
        if not self.recorded:
            return None
        found = ", ".join(f"{name} {version}" for name, version in self.recorded.versions.items())
        pins = ", ".join([f"{framework.display_name} {self.framework_version}", *self.pins])
        status = (
            "tested by mcc's CI"
            if self.tested
            else f"resolved by pip, not tested (mcc tests {', '.join(framework.versions)})"
        )
        return f"{model_name} was saved with {found} ({self.recorded.evidence}): pinned {pins}, {status}"


def recorded(framework: Framework, model_format: str, path: Path | None) -> Recorded | None:
    """What the model file records, for a format of ``framework``."""
    fmt = framework.formats.get(model_format)
    return recorded_versions(path, fmt.check) if fmt and path else None


def recorded_framework_version(framework: Framework, found: Recorded | None) -> str | None:
    return found.versions.get(framework.recorded_as) if found and framework.recorded_as else None


def pinning(framework: Framework, version: str, found: Recorded | None) -> Pinning:
    """The pins for ``version`` of ``framework`` and for the pickled libraries ``found`` records beside it."""
    own = framework.recorded_as or framework.package
    others = {n: v for n, v in (found.versions.items() if found else ()) if n in PICKLED_LIBRARIES and n != own}
    entry = framework.versions.get(version)
    catalog_pins = dict(_split(line) for line in entry.requirements) if entry else {}
    tested = entry is not None and all(catalog_pins.get(name) == v for name, v in others.items())
    return Pinning(version, found, tuple(f"{name}=={v}" for name, v in others.items()), tested)


def machine(spec: ProjectSpec) -> str:
    """The CPU architecture the image is built for (the endpoint's platform), in pip's platform-tag spelling."""
    platform = platforms.endpoint_platform(spec.deployment.mode, spec.deployment.instance_type)
    return "aarch64" if platform == platforms.ARM64 else "x86_64"


def release_closure(
    pinned: Pinning, framework: Framework, catalog: Catalog, server: str, machine: str = "x86_64"
) -> tuple[str, ...]:
    """The complete pinned closure pip resolves for an untested release (ResolutionError when it cannot): the
    framework release with its age's constraints, the pickled libraries' releases, its companions, pandas for
    tabular models (their columns are read when the server starts), and the runtime's and web server's own pins;
    the requirements-dev.txt tools installed beside them (pytest, boto3) bind the packages they share."""
    frame = ("pandas",) if framework.tabular else ()
    own = merge_pins(catalog.runtime.requirements, catalog.servers[server].requirements)
    target = image_target(framework, catalog, machine)
    release = framework.release_requirements(pinned.framework_version)
    requirements = (*release, *pinned.pins, *framework.companions, *frame, *own)
    return resolve(requirements, target, tuple(catalog.dev_requirements()))


def image_target(framework: Framework, catalog: Catalog, machine: str = "x86_64") -> Target:
    """What pip resolves for: the image's Python and C library on ``machine``, with the framework's extra index."""
    default = framework.versions[framework.default_version]
    return Target(catalog.runtime.python_version, catalog.runtime.glibc, default.extra_index_url, machine)


def _split(line: str) -> tuple[str, str]:
    match = PIN.match(line)
    return match.group(1).lower(), match.group(2)
