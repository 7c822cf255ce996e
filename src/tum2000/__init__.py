"""tum2000: Tsodyks, Uziel & Markram (2000), Fig. 1, reproduced with Brian2.

Main entry points::

    import tum2000
    params = tum2000.preset("default", I_b_spread_mV=0.75)
    ds = tum2000.simulate(params, seed=1)        # xarray.Dataset
    ds = tum2000.cached_simulate(params, seed=1)  # same, through the dataset cache
    runs = tum2000.simulate_many([(params, s) for s in range(1, 9)])  # in parallel, Dask
"""

from . import lazy_dask as _lazy_dask
from .cache import cached_simulate, cache_dir
from .dataset import DatasetError, load, save
from .model.parameters import (PATHWAYS, PRESETS, SPECS, ParameterError, Parameters,
                         parameter_table, preset)
from .provenance import __version__, code_version
from .model.simulation import simulate
from .sweep import simulate_many

_lazy_dask.install()  # xarray imports Dask only when Dask objects can exist

__all__ = [
    "PATHWAYS", "PRESETS", "SPECS", "DatasetError", "ParameterError", "Parameters",
    "__version__", "cache_dir", "cached_simulate", "code_version", "load",
    "parameter_table", "preset", "save", "simulate", "simulate_many",
]
