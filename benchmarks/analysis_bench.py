"""Time the full analysis of the default dataset (500 neurons, 4.2 s).

Usage: python benchmarks/analysis_bench.py [--seed N] [--repeat K]
Prints wall seconds of each step and of ``tum2000.analysis.analyse`` +
``summarize`` (the simulation is taken from the dataset cache and not timed).
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> float:
    import tum2000
    from tum2000 import analysis

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    ds = tum2000.cached_simulate("default", seed=args.seed)
    print(f"dataset: {ds.sizes['neuron']} neurons, {ds.sizes['spike']} spikes, "
          f"{ds.attrs['duration_ms']:g} ms")
    steps = {
        "to_block": lambda: analysis.to_block(ds),
        "population_activity": lambda: analysis.population_activity(ds),
        "detect_population_spikes": lambda: analysis.detect_population_spikes(ds),
        "recovery_dynamics(EE)": lambda: analysis.recovery_dynamics(ds, "EE"),
        "synchrony": lambda: analysis.synchrony(ds),
    }
    for name, step in steps.items():
        t = time.perf_counter()
        step()
        print(f"{name:28s} {time.perf_counter() - t:7.3f} s")
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        analysis.summarize(ds, analysis=analysis.analyse(ds))
        best = min(best, time.perf_counter() - t)
    print(f"{'analyse + summarize (best)':28s} {best:7.3f} s")
    return best


if __name__ == "__main__":
    main()
