"""The user-install tier's installs, made once a session from this checkout: the wheel and sdist
(``python -m build``), mcc from the wheel by pipx (only mcc), and a training environment (mcc from the wheel by
pip beside scikit-learn, pandas, XGBoost and LightGBM: never the dev extras), with the DataFrame models trained
there."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcc.catalog import load_catalog
from tests.support.installs import REPO, build_distributions, pip_venv, pipx_install, user_environment

HERE = Path(__file__).resolve().parent


def training_requirements() -> list[str]:
    """The training libraries at the releases the catalog pins by default (pandas: the runtime's)."""
    catalog = load_catalog()
    pins = [catalog.frameworks[name].versions[catalog.frameworks[name].default_version].requirements
            for name in ("sklearn", "xgboost", "lightgbm")]  # fmt: skip
    pins.append(catalog.runtime.dataframe_requirements)
    wanted = ("scikit-learn==", "xgboost-cpu==", "lightgbm==", "pandas==")
    return sorted({line for group in pins for line in group if line.startswith(wanted)})


@dataclass(frozen=True)
class TrainedModel:
    name: str
    framework: str
    path: Path
    payload: Path  # the sample payload: a CSV with a header, 5 rows
    rows: Path  # request rows, a CSV with a header
    expected: dict  # the training environment's in-process answer for rows: predictions, probabilities


@pytest.fixture(scope="session")
def user_env(model_check_settings, tmp_path_factory) -> dict[str, str]:
    return user_environment(model_check_settings, tmp_path_factory.mktemp("user-mcc-cache"))


@pytest.fixture(scope="session")
def distributions(tmp_path_factory) -> tuple[Path, Path]:
    return build_distributions(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def pipx_mcc(distributions, user_env, tmp_path_factory) -> Path:
    """The ``mcc`` command of ``pipx install ml_container_creator-….whl``."""
    return pipx_install(distributions[0], tmp_path_factory.mktemp("pipx"), user_env)


@pytest.fixture(scope="session")
def training_bin(distributions, user_env, tmp_path_factory) -> Path:
    """bin/ of a training environment: ``pip install`` of the wheel and the training libraries."""
    venv = tmp_path_factory.mktemp("training") / "venv"
    return pip_venv(venv, str(distributions[0]), *training_requirements(), env=user_env)


@pytest.fixture(scope="session")
def tabular_models(training_bin, user_env, tmp_path_factory) -> dict[str, TrainedModel]:
    """The DataFrame models, trained in the training environment, with its in-process answers."""
    directory = tmp_path_factory.mktemp("tabular-models")
    directory.chmod(0o755)
    env = {**user_env, "PYTHONPATH": str(REPO)}  # for tests.support.tabular; mcc itself comes from the wheel
    subprocess.run([str(training_bin / "python"), str(HERE / "train_tabular.py"), str(directory)], env=env,
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    models = {}
    for record_file in sorted(directory.glob("*/model.json")):
        folder, record = record_file.parent, json.loads(record_file.read_text())
        models[folder.name] = TrainedModel(folder.name, record["framework"], folder / record["model"],
                                           folder / "payload.csv", folder / "rows.csv", record["expected"])  # fmt: skip
    return models
