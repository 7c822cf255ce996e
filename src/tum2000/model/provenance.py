"""Code version and library versions recorded in every dataset and in the cache key.

``code_version`` is the package version plus a hash of the sources that
determine a simulation's result (:data:`RESULT_SOURCES`), so that the dataset
cache never serves a result computed by different simulation code.
:func:`result_library_versions` are the versions of the libraries that shape
a result (NumPy does not promise the same random streams across versions; SciPy
draws the truncated normals; Brian2 integrates): the cache keys on them too.
"""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path


def _package_version() -> str:
    """The installed distribution's version (``pyproject.toml`` is its one source)."""
    try:
        return metadata.version("tum2000")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


__version__ = _package_version()

PACKAGE_DIR = Path(__file__).resolve().parents[1]
RESULT_SOURCES: tuple[str, ...] = ("model", "store/dataset.py")
"""What decides a simulation's result: the whole model package and the dataset
contract (paths relative to the package). Every ``.py`` file below a folder
counts, so a new model module cannot be left out of the hash."""

RESULT_LIBRARIES: tuple[str, ...] = ("numpy", "scipy", "brian2")
"""Libraries whose version can change a simulation's result."""


def result_source_files() -> list[Path]:
    """The source files hashed into :func:`code_version`, in a fixed order."""
    files: list[Path] = []
    for name in RESULT_SOURCES:
        path = PACKAGE_DIR / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<version>+<12 hex digits of the SHA-256 of the result's sources>``."""
    digest = hashlib.sha256()
    for path in result_source_files():
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


@lru_cache(maxsize=1)
def result_library_versions() -> dict[str, str]:
    """``{library: version}`` of :data:`RESULT_LIBRARIES` (part of the cache key)."""
    return {lib: metadata.version(lib) for lib in RESULT_LIBRARIES}


def library_versions() -> dict[str, str]:
    """Versions recorded in a dataset: the result's libraries, xarray and Python."""
    versions = {**result_library_versions(), "xarray": metadata.version("xarray")}
    versions["python"] = platform.python_version()
    return versions
