"""Fixtures shared by every level: a clean environment, the catalog, tiny real models."""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mcc.catalog import load_catalog
from tests.support.venvs import CACHE, local_extra_index

ISOLATED_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
MODEL_CHECK_CACHE = CACHE.parent / "mcc"  # mcc new's model-check environments and reports (MCC_CACHE_DIR)


def model_check_indexes() -> dict[str, str]:
    """What mcc new's model check needs here: its cache in .cache/, and PyTorch's CPU wheels (an index this
    machine cannot reach) from a local mirror of it."""
    pinned = load_catalog().frameworks["pytorch"].versions["2.13.0"]
    torch = [line for line in pinned.requirements if line.startswith("torch==")]
    return {
        "MCC_CACHE_DIR": str(MODEL_CHECK_CACHE),
        "MCC_EXTRA_INDEX_URL": local_extra_index(torch, pinned.extra_index_url),
    }


def _isolate(patch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith("MCC_") or name in ISOLATED_VARIABLES:
            patch.delenv(name)
    for name, value in settings.items():
        patch.setenv(name, value)


@pytest.fixture(scope="session", autouse=True)
def model_check_settings() -> dict[str, str]:
    """For the whole session, module fixtures included: no MCC_* or AWS region variable from the developer's
    shell, and mcc new's model check on the test cache and the local PyTorch index."""
    settings = model_check_indexes()
    with pytest.MonkeyPatch.context() as patch:
        _isolate(patch, settings)
        yield settings


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, model_check_settings):
    """What a test sets in the environment ends with it."""
    _isolate(monkeypatch, model_check_settings)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def wine():
    features, target = load_wine(return_X_y=True)
    return features, target


@pytest.fixture(scope="session")
def wine_model(wine):
    features, target = wine
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(features, target)


@pytest.fixture(scope="session")
def wine_model_file(wine_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "wine.joblib"
    joblib.dump(wine_model, path)
    return path


@pytest.fixture(scope="session")
def wine_payload_file(wine, tmp_path_factory) -> Path:
    """Five rows of the wine data as a header-less CSV."""
    path = tmp_path_factory.mktemp("payloads") / "rows.csv"
    rows = wine[0][:5]
    path.write_text("".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows))
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(7)
