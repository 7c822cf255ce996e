"""Code version and library versions recorded in every dataset.

``code_version`` is the package version plus a hash of the modules that
determine a simulation's result, so that the dataset cache never serves a
result computed by different simulation code.
"""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__version__ = "0.1.0"

SIMULATION_MODULES: tuple[str, ...] = (
    "parameters.py", "network.py", "brian_model.py", "resources.py", "dataset.py",
    "simulation.py",
)


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<version>+<12 hex digits of the simulation modules' SHA-256>``."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in SIMULATION_MODULES:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def library_versions() -> dict[str, str]:
    """Versions of the libraries a simulation's result depends on."""
    versions = {lib: metadata.version(lib) for lib in ("brian2", "numpy", "scipy", "xarray")}
    versions["python"] = platform.python_version()
    return versions
