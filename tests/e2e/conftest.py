"""A Docker engine, the predictive base image and a stand-in for PyTorch's CPU wheel index, shared by the image
tests (each started once per session)."""

from __future__ import annotations

import pytest

from tests.support.docker import ensure_base_image, ensure_engine
from tests.support.docker import torch_index as docker_torch_index


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    started = ensure_engine(tmp_path_factory.mktemp("dockerd") / "dockerd.log")
    yield
    if started:
        started.stop()


@pytest.fixture(scope="session")
def base_image(engine, catalog):
    ensure_base_image(catalog.runtime.base_image)
    return catalog.runtime.base_image


@pytest.fixture(scope="session")
def torch_index(base_image, catalog):
    """BUILD_EXTRA_INDEX_URL for the torch projects: None, or a stand-in for PyTorch's unreachable index."""
    with docker_torch_index(catalog, base_image) as url:
        yield url
