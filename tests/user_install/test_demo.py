"""`make demo` from a fresh clone: mcc installed as a user installs it with only the demo's packages, the sample
project served behind nginx and asked once (the time it takes is reported by the script, not asserted)."""

from __future__ import annotations

import subprocess

import pytest

from mcc_runtime.local import free_port
from tests.support.installs import BASE_PYTHON, REPO, user_environment

pytestmark = pytest.mark.slow

NOT_FOR_THE_DEMO = ("torch", "tensorflow", "transformers", "xgboost", "lightgbm", "onnxruntime", "pytest", "moto")


def test_make_demo_from_a_fresh_clone_prints_the_prediction_with_only_the_demos_packages(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "--modified", "--others", "--exclude-standard"],
                             check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    for name in tracked:  # this checkout's uncommitted work too (a clean CI checkout has none)
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes((REPO / name).read_bytes())
    env = {**user_environment({}, tmp_path / "mcc-cache"), "DEMO_PORT": str(free_port()), "PYTHON": str(BASE_PYTHON)}
    result = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '{"predictions": [0, 1, 2]}' in result.stdout
    assert "as expected.json expects" in result.stderr + result.stdout
    assert "the demo took" in result.stdout
    demo_python = str(clone / "build" / "demo-venv" / "bin" / "python")
    listing = [demo_python, "-m", "pip", "list", "--format=freeze"]
    installed = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.lower()
    names = {line.split("==")[0] for line in installed.split()}
    assert "ml-container-creator" in names and "scikit-learn" in names
    assert names.isdisjoint(NOT_FOR_THE_DEMO), names & set(NOT_FOR_THE_DEMO)
    assert not (clone / ".venv").exists()  # the dev environment was not made
