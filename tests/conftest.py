"""Shared fixtures: an isolated dataset cache and simulations reused across tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tum2000
import tum2000.config

# Short runs used by many tests (a few seconds each on the numpy target).
SHORT = dict(burn_in_ms=200.0, duration_ms=600.0)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory) -> Path:
    """Every test session gets its own empty cache unless TUM2000_CACHE is set by CI."""
    if "TUM2000_TEST_CACHE" in os.environ:
        path = Path(os.environ["TUM2000_TEST_CACHE"])
    else:
        path = tmp_path_factory.mktemp("cache")
    os.environ[tum2000.config.CACHE_VAR] = str(path)
    return path


@pytest.fixture(scope="session")
def short_params() -> tum2000.Parameters:
    return tum2000.preset("default", **SHORT)


@pytest.fixture(scope="session")
def short_dataset(short_params):
    return tum2000.simulate(short_params, seed=3)


@pytest.fixture(scope="session")
def default_datasets():
    """Full-length default runs (900 ms burn-in + 4200 ms) for three seeds, cached."""
    return {seed: tum2000.cached_simulate("default", seed) for seed in (1, 2, 3)}
