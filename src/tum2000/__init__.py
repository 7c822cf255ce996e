"""tum2000: Tsodyks, Uziel & Markram (2000), Fig. 1, reproduced with Brian2.

Main entry points::

    import tum2000
    params = tum2000.preset("default", I_b_spread_mV=0.75)
    ds = tum2000.simulate(params, seed=1)        # xarray.Dataset
    ds = tum2000.cached_simulate(params, seed=1)  # same, through the dataset cache
    runs = tum2000.simulate_many([(params, s) for s in range(1, 9)])  # in parallel, Dask

Names are imported when first used (PEP 562), so ``import tum2000`` and the
command line start at once and a Ctrl-C during start-up is handled like any
other (see :mod:`tum2000.interruption`).
"""

from __future__ import annotations

import importlib
from typing import Any

from tum2000.model.provenance import __version__

_EXPORTS: dict[str, str] = {
    "PATHWAYS": "model.parameters", "PRESETS": "model.parameters",
    "SPECS": "model.parameters", "Parameters": "model.parameters",
    "parameter_table": "model.parameters", "preset": "model.parameters",
    "ParameterError": "errors", "BadInput": "errors", "ComputationFailed": "errors",
    "Interrupted": "errors",
    "DatasetError": "store.dataset", "load": "store.dataset", "save": "store.dataset",
    "cached_simulate": "store.cache", "cache_dir": "store.cache",
    "code_version": "model.provenance",
    "simulate": "model.simulation",
    "simulate_many": "sweeps.run", "run_sweep": "sweeps.run",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    try:  # a submodule: tum2000.store.cache, tum2000.analysis, ...
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return __all__
