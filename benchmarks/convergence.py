"""Numerical convergence study: statistics of the default network against dt.

For each seed the same network is simulated with dt = 1, 0.5, 0.25, 0.1 and
0.01 ms (exact integration) and with the reference script's numerics
(dt = 1 ms, synaptic input held constant over the step). Each statistic is
compared with dt = 0.01 ms by paired differences (mean ± standard error over
seeds). The default preset (dt = 0.1 ms) is converged when its differences
are within sampling error. dt = 0.01 ms runs on the cython target (identical
results to numpy, ten times faster at this step count).

Usage: python benchmarks/convergence.py [--seeds 1-8] [--workers 2]
Takes about 6 minutes on 2 cores with 8 seeds.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

VARIANTS = {
    "exact, dt = 1 ms": dict(dt_ms=1.0),
    "exact, dt = 0.5 ms": dict(dt_ms=0.5),
    "exact, dt = 0.25 ms": dict(dt_ms=0.25),
    "exact, dt = 0.1 ms (default)": dict(dt_ms=0.1),
    "reference_script, dt = 1 ms": dict(dt_ms=1.0, integration="reference_script"),
    "exact, dt = 0.01 ms (reference)": dict(dt_ms=0.01),
}
BASELINE = "exact, dt = 0.01 ms (reference)"


def statistics(variant: str, seed: int) -> dict[str, float]:
    import tum2000
    from tum2000.analysis import detect_population_spikes

    changes = VARIANTS[variant]
    target = "cython" if changes["dt_ms"] < 0.05 else "numpy"
    ds = tum2000.cached_simulate(tum2000.preset("default", **changes), seed, target=target)
    seconds = ds.attrs["duration_ms"] / 1000.0
    exc = ds["population"].values[ds["spike_neuron"].values] == "exc"
    ps = detect_population_spikes(ds)
    return {
        "exc rate (Hz)": exc.sum() / 400 / seconds,
        "inh rate (Hz)": (~exc).sum() / 100 / seconds,
        "PS count": float(ps.sizes["ps"]),
        "PS peak": float(ps["ps_peak"].mean()) if ps.sizes["ps"] else np.nan,
        "mean x (EE)": float(ds["recovered"].sel(pathway="EE").mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-8", help="e.g. 1-8 or 1,2,5")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if "-" in args.seeds:
        lo, hi = map(int, args.seeds.split("-"))
        seeds = list(range(lo, hi + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(v, s) for v in VARIANTS for s in seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        values = dict(zip(jobs, pool.map(statistics, *zip(*jobs))))
    keys = list(values[jobs[0]])
    print(f"{len(seeds)} seeds; paired difference from dt = 0.01 ms, mean ± s.e. "
          "(* beyond 3 s.e.)")
    print(f"{'variant':34s}" + "".join(f"{k:>22s}" for k in keys))
    for variant in VARIANTS:
        cells = []
        for key in keys:
            mean = np.nanmean([values[(variant, s)][key] for s in seeds])
            if variant == BASELINE:
                cells.append(f"{mean:22.4g}")
                continue
            diff = np.array([values[(variant, s)][key] - values[(BASELINE, s)][key]
                             for s in seeds])
            diff = diff[~np.isnan(diff)]
            se = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else np.nan
            flag = "*" if abs(diff.mean()) > 3 * se else " "
            cells.append(f"{diff.mean():+10.4f} ± {se:7.4f}{flag}")
        print(f"{variant:34s}" + "".join(f"{c:>22s}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
