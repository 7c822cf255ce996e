"""Speed of parameter sweeps: whole ``tum2000 sweep`` commands, timed from outside.

Figures (issue #8):

1. a 64-run sweep of the default network (8 values of the background spread
   x 8 seeds), the whole command, cold dataset cache, statistics included
   (target <= 60 s on a 2-core machine);
2. the same command again on the finished sweep (target <= 5 % of the first
   or <= 5 s, whichever is larger);
3. runs per second against the number of local workers;
4. one run of the reference script (warm), measured in the same session: the
   64 runs it would take, spread over the same cores, for the ratio.

Each command runs as a child process; wall time with ``time.perf_counter``,
peak memory (the largest process, ``os.wait4``). Timings on a shared machine
are noisy: compare the ratios printed, measured in one session.

Usage: python benchmarks/sweep_bench.py [--quick] [--target auto|numpy|cython]
       [--skip-reference] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = next((folder / "shared" / "reference" / "tum2000_brian2_example.py"
                  for folder in (ROOT.parent, ROOT.parent.parent)
                  if (folder / "shared" / "reference" / "tum2000_brian2_example.py").exists()),
                 ROOT.parent / "shared" / "reference" / "tum2000_brian2_example.py")
"""The reference script beside the repository (or beside the folder of git worktrees)."""
PYTHON = sys.executable
SPREADS_MV = "0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.3"
"""The 8 values of the 64-run sweep: background spreads around the default 1 mV."""


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
        ) -> tuple[float, float]:
    """Wall time (s) and peak RSS of the largest process (MiB) of a command."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {code}:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0


def sweep(out: Path, cache: Path, values: str, seeds: int, workers: int,
          target: str) -> list[str]:
    return [PYTHON, "-m", "tum2000.cli", "sweep", "--grid", f"I_b_spread_mV={values}",
            "--seeds", str(seeds), "--workers", str(workers), "--target", target,
            "--cache-dir", str(cache), "--out", str(out), "--quiet"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="4 values x 2 seeds instead of 8 x 8 (a smoke run)")
    parser.add_argument("--target", default="auto", choices=("auto", "numpy", "cython"),
                        help="where the runs simulate (default auto: the compiled engine)")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    cores = os.cpu_count() or 1
    values = "0.6,0.8,1.0,1.2" if args.quick else SPREADS_MV
    seeds = 2 if args.quick else 8
    n_runs = len(values.split(",")) * seeds
    figures: dict[str, float] = {}
    work = Path(tempfile.mkdtemp(prefix="tum2000_sweep_bench_"))
    try:
        if args.target == "cython":  # compile once, outside the timings
            run(sweep(work / "warm.nc", work / "warm", "1.0", 1, 1, "cython"))
        print(f"{'measurement':58s} {'wall':>9s} {'peak RSS':>10s}")

        def show(label: str, wall: float, peak: float, extra: str = "") -> None:
            print(f"{label:58s} {wall:7.1f} s {peak:6.0f} MiB  {extra}", flush=True)

        cache = work / "cache"
        first, peak = run(sweep(work / "s.nc", cache, values, seeds, cores, args.target))
        figures["sweep_cold_s"] = first
        show(f"{n_runs}-run sweep, {cores} workers, cold cache, {args.target}", first, peak,
             f"{first / n_runs * cores:.2f} s per run per worker")
        again, peak = run(sweep(work / "s2.nc", cache, values, seeds, cores, args.target))
        figures["sweep_rerun_s"] = again
        show("the same sweep again (finished: nothing to compute)", again, peak,
             f"{100 * again / first:.1f} % of the first")

        small_values, small_seeds = "0.8,1.0", (2 if args.quick else 4)
        small_runs = 2 * small_seeds
        for workers in range(1, cores + 1):
            wall, peak = run(sweep(work / f"w{workers}.nc", work / f"cache{workers}",
                                   small_values, small_seeds, workers, args.target))
            figures[f"runs_per_s_{workers}_workers"] = small_runs / wall
            show(f"{small_runs}-run sweep, {workers} worker(s), cold cache", wall, peak,
                 f"{small_runs / wall:.3f} runs/s")

        reference = None
        if REFERENCE.exists() and not args.skip_reference:
            script = work / "reference.py"
            shutil.copy(REFERENCE, script)
            run([PYTHON, str(script)], cwd=work)  # warm-up: compiles its Cython code
            reference, peak = run([PYTHON, str(script)], cwd=work)
            figures["reference_run_s"] = reference
            show("reference script, one run (warm)", reference, peak)

        print()
        print(f"{n_runs}-run sweep: {first:.1f} s (target <= 60 s); "
              f"{first / n_runs * cores:.2f} s per run per worker (target < 2 s)")
        target_rerun = max(0.05 * first, 5.0)
        print(f"finished sweep again: {again:.1f} s (target <= {target_rerun:.1f} s: "
              f"5 % of the first or 5 s)")
        rates = [figures[f"runs_per_s_{w}_workers"] for w in range(1, cores + 1)]
        print("runs per second by workers: " + ", ".join(
            f"{w}: {r:.3f}" for w, r in enumerate(rates, 1))
            + (f" (x{rates[-1] / rates[0]:.2f} with {cores})" if cores > 1 else ""))
        if reference:
            equivalent = reference * n_runs / cores
            figures["reference_equivalent_s"] = equivalent
            print(f"reference script: {n_runs} runs over {cores} cores ~ {equivalent:.0f} s; "
                  f"sweep / reference = {first / equivalent:.2f}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
