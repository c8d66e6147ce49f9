"""Graviton (arm64): every framework version the catalog marks arm64 installs there with the very pins of its
x86_64 closure (pip resolves the closure for aarch64 wheels and finds the same versions), so one requirements.txt
serves both platforms. Needs PyPI for the resolver's metadata."""

from __future__ import annotations

import json

import pytest

from mcc.catalog import load_catalog
from mcc.requirement_files import requirement_name
from mcc.resolution import ResolutionError, Target, resolve
from tests.support.projects import run_mcc_new, stderr_text

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


def test_the_users_own_requirements_must_install_on_aarch64_for_a_graviton_project(tmp_path):
    """--requirements adds packages to the pinned closure; on Graviton pip must find aarch64 wheels for them too,
    before anything is written."""
    tensorflow = CATALOG.frameworks["tensorflow"].versions[CATALOG.frameworks["tensorflow"].default_version]
    x86_only = next(line for line in tensorflow.requirements if line.startswith("tensorflow-cpu=="))
    refused_file, taken_file = tmp_path / "refused.txt", tmp_path / "taken.txt"
    refused_file.write_text(f"{x86_only}\n")
    taken_file.write_text("tabulate==0.9.0\n")  # pure Python: a wheel for every platform
    graviton = ("--sample-model", "--instance-type", "ml.c7g.xlarge")
    refused = run_mcc_new(tmp_path / "refused", *graviton, "--requirements", str(refused_file))
    said = stderr_text(refused)
    assert refused.returncode == 2 and "--requirements cannot be installed on Graviton (ml.c7g.xlarge runs" in said
    assert "tensorflow-cpu" in said and not (tmp_path / "refused").exists()
    taken = run_mcc_new(tmp_path / "taken", *graviton, "--requirements", str(taken_file))
    assert taken.returncode == 0, taken.stderr
    assert "tabulate==0.9.0" in (tmp_path / "taken" / "requirements.txt").read_text().splitlines()
    platforms = json.loads((tmp_path / "taken" / "do" / "lib" / "image-platforms.json").read_text())
    assert platforms == ["linux/arm64"]  # checked for the instance type's platform
