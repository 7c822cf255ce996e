"""Code version and library versions recorded in every dataset.

``code_version`` is the package version plus a hash of the sources that
determine a simulation's result (:data:`RESULT_SOURCES`), so that the dataset
cache never serves a result computed by different simulation code.
"""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
RESULT_SOURCES: tuple[str, ...] = ("model", "dataset.py")
"""What decides a simulation's result: the whole model package and the dataset
contract (paths relative to the package). Every ``.py`` file below a folder
counts, so a new model module cannot be left out of the hash."""


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


def library_versions() -> dict[str, str]:
    """Versions of the libraries a simulation's result depends on."""
    versions = {lib: metadata.version(lib) for lib in ("brian2", "numpy", "scipy", "xarray")}
    versions["python"] = platform.python_version()
    return versions
