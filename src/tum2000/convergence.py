"""Numerical convergence: statistics at several time steps against a fine one.

Each seed draws one network; every variant (a set of parameter changes such
as ``dt_ms=0.25``) simulates that same network, so variants are compared by
paired differences per seed. A statistic of a variant agrees with the
baseline when the mean paired difference lies within three standard errors
of the paired differences (``agrees``). Used by the test suite, the
benchmark ``benchmarks/convergence.py`` and the book's numerics chapter.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from .model.parameters import Parameters

STATISTICS: dict[str, str] = {
    "exc_rate_hz": "Hz",
    "inh_rate_hz": "Hz",
    "n_ps": "1",
    "ps_peak": "1",
    "x_EE_mean": "1",
    "u_EI_mean": "1",
}
"""Statistics compared, with their units."""

STANDARD_ERRORS = 3.0
"""Agreement band, in standard errors of the paired differences."""


def statistics(ds: xr.Dataset) -> dict[str, float]:
    """Rates (Hz), population-spike count and mean peak, mean x (EE) and u (EI)."""
    from .analysis import detect_population_spikes, firing_rates

    rates = firing_rates(ds).groupby("population").mean()
    ps = detect_population_spikes(ds)
    return {
        "exc_rate_hz": float(rates.sel(population="exc")),
        "inh_rate_hz": float(rates.sel(population="inh")),
        "n_ps": float(ps.sizes["ps"]),
        "ps_peak": float(ps["ps_peak"].mean()) if ps.sizes["ps"] else np.nan,
        "x_EE_mean": float(ds["recovered"].sel(pathway="EE").mean()),
        "u_EI_mean": float(ds["utilization"].sel(pathway="EI").mean()),
    }


def _target(changes: Mapping[str, Any], fine_dt_ms: float) -> str:
    # Tiny steps run ~3x faster compiled, with identical results (tests/test_determinism.py).
    return "cython" if changes.get("dt_ms", 1.0) < fine_dt_ms else "numpy"


def study(base: Parameters, variants: Mapping[str, Mapping[str, Any]], baseline: str,
          seeds: Sequence[int], compiled_below_dt_ms: float = 0.05,
          progress: bool = False, scheduler: str | None = None) -> xr.Dataset:
    """Simulate every variant for every seed, in parallel through Dask
    (:func:`tum2000.sweep.simulate_many`; ``scheduler``: its address, None for
    a local cluster) and through the dataset cache.

    Returns ``value`` (variant, seed, statistic) and, against ``baseline``,
    ``difference`` and ``standard_error`` (variant, statistic) of the paired
    differences and ``agrees`` (within :data:`STANDARD_ERRORS`).
    """
    from .sweep import simulate_many

    if baseline not in variants:
        raise ValueError(f"baseline {baseline!r} is not one of the variants {list(variants)}")
    names = list(STATISTICS)
    seeds = list(seeds)
    jobs = [(base.replace(**changes), seed) for changes in variants.values() for seed in seeds]
    targets = [_target(changes, compiled_below_dt_ms) for changes in variants.values()
               for _ in seeds]
    datasets = simulate_many(jobs, targets=targets, scheduler=scheduler, progress=progress)
    values = np.array([[statistics(ds)[k] for k in names] for ds in datasets]).reshape(
        len(variants), len(seeds), len(names))
    value = xr.DataArray(values, dims=("variant", "seed", "statistic"),
                         coords={"variant": list(variants), "seed": list(seeds),
                                 "statistic": names})
    diff = value - value.sel(variant=baseline)
    count = diff.notnull().sum("seed")
    mean = diff.mean("seed")
    se = diff.std("seed", ddof=1) / np.sqrt(count)
    agrees = (np.abs(mean) <= STANDARD_ERRORS * se) | (mean == 0)
    return xr.Dataset(
        {"value": value, "difference": mean, "standard_error": se,
         "agrees": agrees.where(count > 1)},
        attrs={"baseline": baseline, "agreement": f"|mean difference| <= "
               f"{STANDARD_ERRORS:g} standard errors of the paired differences",
               "units": str(STATISTICS)})


def dt_variants(dt_values_ms: Sequence[float], fine_dt_ms: float,
                reference_script: bool = True) -> tuple[dict[str, dict[str, Any]], str]:
    """Variants for a dt study (exact integration) and the baseline's name."""
    variants = {f"exact, dt = {dt:g} ms": {"dt_ms": dt} for dt in dt_values_ms}
    if reference_script:
        variants["reference_script, dt = 1 ms"] = {"dt_ms": 1.0,
                                                   "integration": "reference_script"}
    baseline = f"exact, dt = {fine_dt_ms:g} ms"
    variants[baseline] = {"dt_ms": fine_dt_ms}
    return variants, baseline


def table(result: xr.Dataset) -> str:
    """Plain-text table of paired differences from the baseline (mean ± s.e.)."""
    names = list(result["statistic"].values)
    lines = [f"{result.sizes['seed']} seeds; paired difference from "
             f"{result.attrs['baseline']}, mean ± s.e. (* beyond 3 s.e.)",
             f"{'variant':32s}" + "".join(f"{n:>24s}" for n in names)]
    for variant in result["variant"].values:
        if variant == result.attrs["baseline"]:
            cells = [f"{float(result['value'].sel(variant=variant, statistic=n).mean()):24.4g}"
                     for n in names]
        else:
            cells = []
            for n in names:
                sel = dict(variant=variant, statistic=n)
                flag = " " if bool(result["agrees"].sel(**sel).fillna(True)) else "*"
                cells.append(f"{float(result['difference'].sel(**sel)):+11.4f} ± "
                             f"{float(result['standard_error'].sel(**sel)):8.4f}{flag}")
        lines.append(f"{variant:32s}" + "".join(f"{c:>24s}" for c in cells))
    return "\n".join(lines)
