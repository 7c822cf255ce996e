"""Keep xarray from importing Dask when no Dask object can be involved.

Dask is installed with tum2000 (for sweeps), and xarray then imports it on
every first use: ``dask`` and ``dask.array`` when the first Variable is
created (to test whether the data is a Dask array or collection) and
``distributed`` when a netCDF file is written (to ask for the active Dask
scheduler). Together that is ~0.5 s of CPU and ~30 MiB in every ``tum2000``
command, about a quarter of a whole default simulation.

Before ``dask.array`` has been imported no object can be a Dask array; an
object without a ``__dask_graph__`` method is never a Dask collection (Dask's
own test starts there); and before ``dask`` has been imported no Dask
scheduler can be active. So the answers are known without the imports. :func:`install` makes xarray use
those answers until Dask is imported by someone else (a sweep, a user), and
defers to xarray's own code from then on. The results are the same as
xarray's; only the order of evaluation changes. Should xarray's internals
change, nothing is patched.
"""

from __future__ import annotations

import sys


class _NotImported:
    """xarray's DuckArrayModule answers for a module that is not imported yet."""

    module = None
    type: tuple = ()
    available = False

    @property
    def version(self):
        from packaging.version import Version

        return Version("0.0.0")


def install() -> bool:
    """Patch xarray as described above; True when patched (idempotent)."""
    try:
        from xarray.backends import locks, writers
        from xarray.core import utils as core_utils
        from xarray.namedarray import pycompat
        from xarray.namedarray import utils as named_utils
    except ImportError:
        return False
    get_module = getattr(pycompat, "_get_cached_duck_array_module", None)
    get_scheduler = getattr(locks, "get_dask_scheduler", None)
    is_collection = getattr(named_utils, "is_dask_collection", None)
    if (get_module is None or get_scheduler is None or is_collection is None
            or getattr(writers, "get_dask_scheduler", None) is not get_scheduler
            or getattr(core_utils, "is_dask_collection", None) is not is_collection):
        return getattr(get_module, "_tum2000_lazy", False)
    if getattr(get_module, "_tum2000_lazy", False):
        return True
    not_imported = _NotImported()

    def duck_array_module(mod):
        if mod == "dask" and "dask.array" not in sys.modules:
            return not_imported  # not cached: asked again once dask.array exists
        return get_module(mod)

    def dask_scheduler(get=None, collection=None):
        if "dask" not in sys.modules:
            return None  # as when Dask is not installed: threading locks
        return get_scheduler(get, collection)

    def dask_collection(x) -> bool:
        if "dask" not in sys.modules and not hasattr(x, "__dask_graph__"):
            return False
        return is_collection(x)

    duck_array_module._tum2000_lazy = True  # type: ignore[attr-defined]
    named_utils.is_dask_collection = dask_collection
    core_utils.is_dask_collection = dask_collection
    pycompat._get_cached_duck_array_module = duck_array_module
    locks.get_dask_scheduler = dask_scheduler
    writers.get_dask_scheduler = dask_scheduler
    return True
