"""Speed and memory of tum2000 against the reference script, measured in one run.

Every figure is a whole process (interpreter start, imports, simulation,
writing the dataset and Fig. 1), timed from outside; peak memory is the
process's maximum resident set size (``os.wait4``). "Cold" runs start with
an empty Brian2 Cython cache, as on a fresh machine right after
``make setup`` (pip has byte-compiled every installed package by then).

Usage: python benchmarks/run.py [--quick] [--skip-reference] [--sizes 500,5000,50000]
Targets (issue #2): default Fig. 1 run <= 0.25x the script's wall time and
<= 0.15x its peak memory; first run <= 0.1x the script's first run;
N = 50,000 at fixed in-degree in <= 8 GiB, cost growing no faster than the
number of synapses.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "tum2000_brian2_example.py"
PYTHON = sys.executable


@dataclass
class Measurement:
    label: str
    wall_s: float
    peak_mib: float
    extra: str = ""


def measure(label: str, argv: list[str], cold: bool = False, cwd: Path | None = None,
            env: dict[str, str] | None = None, extra: str = "") -> Measurement:
    """Run ``argv`` as a child process; its wall time and peak RSS."""
    environment = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    with tempfile.TemporaryDirectory(prefix="tum2000_bench_") as scratch:
        scratch_path = Path(scratch)
        if cold:
            cython_cache = scratch_path / "cython"
            # Brian2 reads ./brian_preferences from its working directory.
            (scratch_path / "brian_preferences").write_text(
                f"codegen.runtime.cython.cache_dir = '{cython_cache}'\n")
        run_dir = cwd or scratch_path
        if cold and cwd is not None:
            shutil.copy(scratch_path / "brian_preferences", run_dir / "brian_preferences")
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=run_dir, env=environment,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if cold and cwd is not None:
            (run_dir / "brian_preferences").unlink(missing_ok=True)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{label} failed:\n{stderr[-2000:]}")
    return Measurement(label, wall, usage.ru_maxrss / 1024.0, extra)


def tum2000_fig1(out: Path, *sets: str, target: str = "numpy") -> list[str]:
    args = [PYTHON, "-m", "tum2000.cli", "simulate", "--no-cache", "--quiet",
            "--target", target, "--out", str(out / "run.nc")]
    for item in sets:
        args += ["--set", item]
    return args + ["--figure", str(out / "fig1.png")]


def scaled(n: int) -> list[str]:
    """N neurons (80% excitatory) with the default in-degree (p = 0.1 at N = 500)."""
    n_exc = int(round(0.8 * n))
    return [f"N_exc={n_exc}", f"N_inh={n - n_exc}", f"p_connect={0.1 * 500 / n!r}"]


def reference_script(cwd: Path) -> list[str]:
    script = cwd / "reference.py"
    shutil.copy(REFERENCE, script)
    return [PYTHON, str(script)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--sizes", default="500,5000,50000")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    results: list[Measurement] = []
    work = Path(tempfile.mkdtemp(prefix="tum2000_bench_out_"))

    def record(m: Measurement) -> Measurement:
        results.append(m)
        print(f"{m.label:48s} {m.wall_s:7.2f} s {m.peak_mib:8.0f} MiB  {m.extra}", flush=True)
        return m

    print(f"{'run':48s} {'wall':>9s} {'peak RSS':>12s}")
    ref_warm = ref_cold = None
    if REFERENCE.exists() and not args.skip_reference:
        ref_cold = record(measure("reference script, cold (empty caches)",
                                  reference_script(work), cold=True, cwd=work))
        measure("reference script, warm-up", reference_script(work), cwd=work)
        ref_warm = record(measure("reference script, warm", reference_script(work), cwd=work))
    cold = record(measure("tum2000 default Fig. 1, cold (empty caches)", tum2000_fig1(work),
                          cold=True))
    measure("tum2000 warm-up", tum2000_fig1(work))
    warm = record(measure("tum2000 default Fig. 1, warm", tum2000_fig1(work)))
    record(measure("tum2000 reference_script preset", tum2000_fig1(
        work, "dt_ms=1.0", "integration=reference_script")))
    measure("cython warm-up", tum2000_fig1(work, target="cython"))
    record(measure("tum2000 default Fig. 1, cython target, warm",
                   tum2000_fig1(work, target="cython")))

    import tum2000
    from tum2000.model.network import draw_network

    sizes = [int(s) for s in args.sizes.split(",") if s]
    scaling = []
    for n in sizes:
        sets = scaled(n)
        params = tum2000.preset("default", **dict(s.split("=") for s in sets))
        n_syn = draw_network(params, 1).n_synapses
        argv_ = [PYTHON, "-m", "tum2000.cli", "simulate", "--no-cache", "--quiet",
                 "--out", str(work / f"n{n}.nc")] + [x for s in sets for x in ("--set", s)]
        m = record(measure(f"tum2000 N = {n:,} (fixed in-degree), no figure", argv_,
                           extra=f"{n_syn:,} synapses"))
        scaling.append((n, n_syn, m))

    print()
    if ref_warm:
        print(f"warm wall-time ratio  {warm.wall_s / ref_warm.wall_s:5.2f}  (target <= 0.25)")
        print(f"warm peak-memory ratio {warm.peak_mib / ref_warm.peak_mib:5.2f}  "
              "(target <= 0.15)")
    if ref_cold:
        print(f"first-run wall ratio  {cold.wall_s / ref_cold.wall_s:5.2f}  (target <= 0.10)")
    if len(scaling) > 1:
        (n0, s0, m0) = scaling[0]
        for n, s, m in scaling[1:]:
            print(f"N = {n:,}: synapses x{s / s0:6.1f}, wall x{m.wall_s / m0.wall_s:6.1f}, "
                  f"peak memory {m.peak_mib / 1024:.2f} GiB (target <= 8 GiB)")
    try:
        sys.path.insert(0, str(Path(__file__).parent))
        from analysis_bench import main as analysis_main  # type: ignore

        print()
        analysis_main([])
    except ImportError:
        pass
    if args.json:
        Path(args.json).write_text(json.dumps([m.__dict__ for m in results], indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
