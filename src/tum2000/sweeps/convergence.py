"""Numerical convergence: statistics at several time steps against a fine one.

Each seed draws one network; every variant (a set of parameter changes such
as ``dt_ms=0.25``) simulates that same network, so variants are compared by
paired differences per seed.

Agreement is an *equivalence* test (two one-sided tests, TOST): a statistic
of a variant is ``equivalent`` to the baseline when the 90 % confidence
interval of its mean paired difference (Student's t over seeds) lies inside
the stated tolerance :data:`TOLERANCES` of that statistic; ``different`` when
the interval lies wholly outside it; otherwise (too few seeds, too much
scatter, a statistic undefined in some runs) ``undecided``. ``agrees`` is True
only for ``equivalent``: an undecided comparison never passes. Used by the
test suite, the benchmark ``benchmarks/convergence.py`` and the book.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from tum2000.model.parameters import Parameters

STATISTICS: dict[str, str] = {
    "exc_rate_hz": "Hz",
    "inh_rate_hz": "Hz",
    "n_ps": "1",
    "ps_peak": "1",
    "x_EE_mean": "1",
    "u_EI_mean": "1",
}
"""Statistics compared, with their units."""

TOLERANCES: dict[str, float] = {
    "exc_rate_hz": 0.5,
    "inh_rate_hz": 1.0,
    "n_ps": 1.0,
    "ps_peak": 0.03,
    "x_EE_mean": 0.03,
    "u_EI_mean": 0.005,
}
"""Largest difference from the baseline that counts as no difference, per
statistic, in its units (:data:`STATISTICS`). They were set from the
statistics' scatter across seeds, so that a difference smaller than what a
new network draw changes counts as none (they were written down alongside the
first comparisons, not before them; changing them needs the same argument):
0.5 Hz of the excitatory rate (~7 % of ~7 Hz), 1 Hz of the
inhibitory rate (~5 % of ~20 Hz), one population spike per run, 0.03 of the
network in a 1 ms bin at a population spike's peak (~20 % of ~0.15, whose
scatter across seeds is about that), 0.03 of the mean recovered fraction x
(~6 % of ~0.5, about the sawtooth's scatter across seeds) and 0.005 of the
mean utilization u of EI synapses (~4 % of ~0.125). Each is smaller than the
spread of the statistic across networks (seeds)."""

CONFIDENCE = 0.90
"""Two-sided level of the confidence interval (TOST at 5 % per side)."""

VERDICTS: tuple[str, ...] = ("equivalent", "different", "undecided")


def statistics(ds: xr.Dataset) -> dict[str, float]:
    """Rates (Hz), population-spike count and mean peak, mean x (EE) and u (EI)."""
    from tum2000.analysis import detect_population_spikes, firing_rates

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


def study(base: Parameters, variants: Mapping[str, Mapping[str, Any]], baseline: str,
          seeds: Sequence[int],
          progress: bool = False, scheduler: str | None = None) -> xr.Dataset:
    """Simulate every variant for every seed, in parallel through Dask
    (:func:`tum2000.sweeps.run.simulate_many`; ``scheduler``: its address, None for
    a local cluster) and through the dataset cache.

    Returns ``value`` (variant, seed, statistic) and, against ``baseline``,
    the equivalence test of :func:`compare` (variant, statistic).
    """
    from tum2000.sweeps.run import simulate_many

    if baseline not in variants:
        raise ValueError(f"baseline {baseline!r} is not one of the variants {list(variants)}")
    names = list(STATISTICS)
    seeds = list(seeds)
    jobs = [(base.replace(**changes), seed) for changes in variants.values() for seed in seeds]
    datasets = simulate_many(jobs, scheduler=scheduler, progress=progress)
    values = np.array([[statistics(ds)[k] for k in names] for ds in datasets]).reshape(
        len(variants), len(seeds), len(names))
    value = xr.DataArray(values, dims=("variant", "seed", "statistic"),
                         coords={"variant": list(variants), "seed": list(seeds),
                                 "statistic": names})
    return compare(value, baseline)


def compare(value: xr.DataArray, baseline: str,
            tolerances: Mapping[str, float] | None = None) -> xr.Dataset:
    """The equivalence test of every variant against ``baseline``.

    ``value`` has dims (variant, seed, statistic). Returns ``value``,
    ``difference`` (mean paired difference), ``standard_error``, ``ci_low``,
    ``ci_high``, ``tolerance``, ``verdict`` (see :data:`VERDICTS`) and
    ``agrees`` (bool, True only when equivalent).
    """
    from scipy import stats

    tolerances = {**TOLERANCES, **(tolerances or {})}
    names = [str(n) for n in value["statistic"].values]
    diff = value - value.sel(variant=baseline)
    count = diff.notnull().sum("seed")
    mean = diff.mean("seed")
    se = diff.std("seed", ddof=1) / np.sqrt(count)
    t = xr.apply_ufunc(lambda n: stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1)),
                       count)
    low, high = mean - t * se, mean + t * se
    tolerance = xr.DataArray([tolerances[n] for n in names], dims="statistic",
                             coords={"statistic": names})
    # Undefined in some runs (NaN) or fewer than two seeds: the test cannot decide.
    decidable = (count == value.sizes["seed"]) & (count > 1) & np.isfinite(se)
    exact = decidable & (se == 0) & (mean == 0)  # e.g. the baseline against itself
    equivalent = exact | (decidable & (low >= -tolerance) & (high <= tolerance))
    different = decidable & ~equivalent & ((low > tolerance) | (high < -tolerance))
    verdict = xr.where(equivalent, "equivalent", xr.where(different, "different", "undecided"))
    return xr.Dataset(
        {"value": value, "difference": mean, "standard_error": se, "ci_low": low,
         "ci_high": high, "tolerance": tolerance, "verdict": verdict.astype(str),
         "agrees": equivalent.astype(bool)},
        attrs={"baseline": baseline, "confidence": CONFIDENCE,
               "agreement": f"the {CONFIDENCE:.0%} confidence interval of the mean paired "
                            "difference lies within the tolerance (two one-sided tests)",
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
             f"{result.attrs['baseline']}, mean ± s.e.; flag: = equivalent within the "
             "tolerance, * different, ? undecided",
             f"{'tolerance':32s}" + "".join(f"{float(result['tolerance'].sel(statistic=n)):>24g}"
                                           for n in names),
             f"{'variant':32s}" + "".join(f"{n:>24s}" for n in names)]
    for variant in result["variant"].values:
        if variant == result.attrs["baseline"]:
            cells = [f"{float(result['value'].sel(variant=variant, statistic=n).mean()):24.4g}"
                     for n in names]
        else:
            cells = []
            for n in names:
                sel = dict(variant=variant, statistic=n)
                flag = {"equivalent": "=", "different": "*"}.get(
                    str(result["verdict"].sel(**sel).item()), "?")
                cells.append(f"{float(result['difference'].sel(**sel)):+11.4f} ± "
                             f"{float(result['standard_error'].sel(**sel)):8.4f}{flag}")
        lines.append(f"{variant:32s}" + "".join(f"{c:>24s}" for c in cells))
    return "\n".join(lines)
