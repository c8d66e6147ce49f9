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

ISOLATED_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """No MCC_* or AWS region variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("MCC_") or name in ISOLATED_VARIABLES:
            monkeypatch.delenv(name)


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
