"""Graviton (arm64): every framework version the catalog marks arm64 installs there with the very pins of its
x86_64 closure (pip resolves the closure for aarch64 wheels and finds the same versions), so one requirements.txt
serves both platforms. Needs PyPI for the resolver's metadata."""

from __future__ import annotations

import pytest

from mcc.catalog import load_catalog
from mcc.requirement_files import requirement_name
from mcc.resolution import ResolutionError, Target, resolve

pytestmark = pytest.mark.slow
CATALOG = load_catalog()
ON_ARM64 = [
    (name, version)
    for name, framework in CATALOG.frameworks.items()
    for version, entry in framework.versions.items()
    if "arm64" in entry.architectures
]


def _pins(lines) -> set[str]:
    return {f"{requirement_name(line.split('==')[0])}=={line.split('==')[1]}" for line in lines}


def _aarch64(framework: str, version: str) -> Target:
    entry = CATALOG.frameworks[framework].versions[version]
    return Target(CATALOG.runtime.python_version, CATALOG.runtime.glibc, entry.extra_index_url, "aarch64")


@pytest.mark.parametrize(("framework", "version"), ON_ARM64)
def test_an_arm64_framework_version_resolves_to_the_same_pins_on_aarch64(framework, version):
    for server in CATALOG.servers:
        pins = tuple(CATALOG.requirements(framework, version, server, "cpu", dataframe=True))
        assert _pins(resolve(pins, _aarch64(framework, version))) == _pins(pins)


def test_a_closure_with_a_pin_that_has_no_aarch64_wheel_fails_that_resolution():
    """TensorFlow's CPU build (tensorflow-cpu) has x86_64 wheels only: the catalog does not mark it arm64."""
    version = CATALOG.frameworks["tensorflow"].default_version
    assert "arm64" not in CATALOG.frameworks["tensorflow"].versions[version].architectures
    pins = tuple(CATALOG.requirements("tensorflow", version, "flask", "cpu", dataframe=True))
    with pytest.raises(ResolutionError, match="tensorflow-cpu"):
        resolve(pins, _aarch64("tensorflow", version))
