"""A Docker engine and the predictive base image, shared by the image tests (started once per session)."""

from __future__ import annotations

import pytest

from tests.support.docker import ensure_base_image, ensure_engine


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
