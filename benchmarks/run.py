"""Speed and memory of tum2000 against the reference script, measured in one run.

Every simulation figure is a whole process (interpreter start, imports,
simulation, writing the dataset), started as a child and timed from outside;
peak memory is the child's maximum resident set size (``os.wait4``, as GNU
time reports it). Every tum2000 run gets a new, empty dataset cache
(``TUM2000_CACHE``) and runs with ``--no-cache``: a cache hit would time
nothing, so the benchmark never reads one.

Rows
----
* the reference script (``../shared/reference/tum2000_brian2_example.py``
  beside the repository, or beside the main checkout of a git worktree; or
  ``--reference PATH``): cold (empty Brian2 Cython cache, as on a fresh
  machine) and warm; if the script is missing, the benchmark says so loudly
  and prints no ratios;
* ``tum2000 simulate --out F.nc``, default preset: warm (the median of
  several runs), the first run after ``make setup`` (a fresh engine store
  built by the set-up's own command, timed, then the first simulation), the
  ``reference_script`` preset, and Brian2's numpy target (the engine decision);
* start-up: ``tum2000 simulate --help`` (import and parser), and a short
  run served from the dataset cache (start-up, loading and writing a
  dataset, no simulation). The second includes ~0.4 s for ``dask`` and
  ``distributed``, which xarray imports on its first Variable and its first
  ``to_netcdf`` whenever Dask is installed; tum2000 accepts that cost rather
  than patch xarray's internals (issue 16: 0.72 s before, 1.15 s after, on
  the machine of that note);
* a sweep: ``tum2000.simulate_many`` on a local 2-worker Dask cluster with a
  fresh cache directory, at two sizes, so that the cost per run per worker
  is the slope (cluster start-up excluded), plus the sweep statistics
  (``summarize(ds, synchrony=False)``) per run;
* the statistics of one default run: the sweep's cheap summary and the full
  summary with Elephant's synchrony measures (in-process);
* N = 500 ... 50,000 neurons at the default in-degree (p = 0.1 x 500 / N),
  each size's engine built first (timed apart), with the record step of the
  mean x and u given by ``--scaling-record-dt-ms`` (default 10 ms, see
  book/model/numerics.md: the replay costs synapses x samples).

Usage: python benchmarks/run.py [--quick] [--sizes 500,5000,50000]
       [--repeats 3] [--json FILE]
``--quick``: no cold reference run and no first-run emulation, one repeat,
sizes 500 and 5,000, a smaller sweep (a few minutes instead of ~15).

Also ``tum2000 theory`` at the default parameters (issue 18: at most 60 s on
2 cores, no network simulated).

Targets (issue #11): default run <= 0.25 x the script's warm wall time and
<= 0.15 x its peak memory; first run after set-up <= 8 s; <= 0.5 s per
default run per worker inside a sweep (simulation + sweep statistics);
N = 50,000 in <= 30 s with cost growing no faster than the synapses;
sweep statistics <= 0.5 s and the full summary <= 2 s per default run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_NAME = Path("shared") / "reference" / "tum2000_brian2_example.py"
PYTHON = sys.executable


def reference_candidates() -> list[Path]:
    """``../shared/reference/`` beside the repository: beside this checkout, and
    beside the main checkout when this is a git worktree."""
    places = [ROOT.parent / REFERENCE_NAME]
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        places.append(Path(common).parent.parent / REFERENCE_NAME)
    except (OSError, subprocess.CalledProcessError):
        pass
    return list(dict.fromkeys(places))


REFERENCE = next((p for p in reference_candidates() if p.exists()), reference_candidates()[0])


@dataclass
class Measurement:
    label: str
    wall_s: float
    peak_mib: float | None = None
    extra: str = ""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", **extra}


def measure(label: str, argv: list[str], *, cwd: Path | None = None,
            env: dict[str, str] | None = None, extra: str = "") -> Measurement:
    """Run ``argv`` as a child process; its wall time and peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=env or _env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{label} failed:\n{stderr[-2000:]}")
    return Measurement(label, wall, usage.ru_maxrss / 1024.0, extra)


def median_of(label: str, runs: list[Measurement]) -> Measurement:
    """The run of median wall time (its memory), labelled with the spread."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    mid = ordered[len(ordered) // 2]
    spread = (f"median of {len(runs)}: {', '.join(f'{m.wall_s:.2f}' for m in runs)} s"
              if len(runs) > 1 else "")
    return Measurement(label, mid.wall_s, mid.peak_mib, spread)


def simulate_args(out: Path, *sets: str, preset: str = "default",
                  target: str | None = None) -> list[str]:
    args = [PYTHON, "-m", "tum2000.cli", "simulate", "--no-cache", "--quiet",
            "--preset", preset, "--out", str(out)]
    if target:
        args += ["--target", target]
    for item in sets:
        args += ["--set", item]
    return args


def scaled(n: int) -> list[str]:
    """N neurons (80 % excitatory) with the default in-degree (p = 0.1 at N = 500)."""
    from tum2000.sweeps.grid import fixed_in_degree_axis

    axis = fixed_in_degree_axis([n], 0.1 * 500)
    return [f"{name}={values[0]!r}" for name, values in axis.items()]


def reference_runs(work: Path, repeats: int, cold: bool) -> tuple[Measurement | None, ...]:
    if not REFERENCE.exists():
        banner = "!" * 78
        message = (f"{banner}\n!! REFERENCE SCRIPT NOT FOUND: looked for "
                   f"{', '.join(str(p) for p in {REFERENCE, *reference_candidates()})}\n"
                   "!! No reference timings, so NO RATIOS against the script are printed.\n"
                   f"!! Put tum2000_brian2_example.py there and run again.\n{banner}")
        print(message, flush=True)
        if not sys.stdout.isatty():  # seen even when the table goes to a file
            print(message, file=sys.stderr, flush=True)
        return None, None
    print(f"reference script: {REFERENCE}")
    scratch = work / "reference"
    scratch.mkdir()
    script = scratch / "reference.py"
    shutil.copy(REFERENCE, script)
    cold_m = None
    if cold:
        # Brian2 reads ./brian_preferences from its working directory.
        (scratch / "brian_preferences").write_text(
            f"codegen.runtime.cython.cache_dir = '{scratch / 'cython_cache'}'\n")
        cold_m = measure("reference script, cold (empty Cython cache)",
                         [PYTHON, str(script)], cwd=scratch)
        (scratch / "brian_preferences").unlink()
    measure("reference warm-up", [PYTHON, str(script)], cwd=scratch)
    warm = median_of("reference script, warm", [
        measure("reference script, warm", [PYTHON, str(script)], cwd=scratch)
        for _ in range(repeats)])
    return warm, cold_m


def tum2000_run(work: Path, label: str, *sets: str, preset: str = "default",
                target: str | None = None, env: dict[str, str] | None = None,
                extra: str = "") -> Measurement:
    run_dir = Path(tempfile.mkdtemp(prefix="run_", dir=work))
    environment = env or _env()
    environment = {**environment, "TUM2000_CACHE": str(run_dir / "cache")}
    return measure(label, simulate_args(run_dir / "F.nc", *sets, preset=preset, target=target),
                   env=environment, extra=extra)


def start_up(work: Path, repeats: int) -> tuple[Measurement, Measurement]:
    """``tum2000 simulate --help``, and a 200 ms run served from a filled cache."""
    cache = work / "start_up_cache"
    environment = _env(TUM2000_CACHE=str(cache))
    cli = [PYTHON, "-m", "tum2000.cli", "simulate"]
    helped = median_of("start-up: tum2000 simulate --help", [
        measure("start-up: tum2000 simulate --help", [*cli, "--help"], env=environment)
        for _ in range(max(repeats, 3))])
    served = [*cli, "--quiet", "--set", "duration_ms=200", "--out", str(work / "served.nc")]
    measure("fill the cache", served, env=environment)
    hit = median_of("start-up: tum2000 simulate from the cache (200 ms)", [
        measure("start-up: cache hit", served, env=environment)
        for _ in range(max(repeats, 3))])
    return helped, hit


def first_run_after_setup(work: Path) -> tuple[Measurement, Measurement]:
    """A fresh machine right after ``make setup``: the package as a fresh copy
    (no bytecode), a fresh engine store built by the set-up's own command
    (timed), then the first simulation."""
    fresh = work / "fresh"
    shutil.copytree(ROOT / "src" / "tum2000", fresh / "src" / "tum2000",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = _env(PYTHONPATH=str(fresh / "src"), TUM2000_ENGINE_DIR=str(fresh / "engines"))
    setup = measure("make setup: engine build (once)",
                    [PYTHON, "-c", "import tum2000.model.engine as e; e.main()"],
                    cwd=fresh, env=env)
    first = tum2000_run(work, "tum2000 default, first run after setup", env=env)
    return setup, first


SWEEP_TASK = """
import json, sys, tempfile, time
import tum2000
from tum2000.analysis import summarize
n, workers = int(sys.argv[1]), int(sys.argv[2])
jobs = [(tum2000.preset("default"), seed) for seed in range(1, n + 1)]
with tempfile.TemporaryDirectory() as cache:
    started = time.perf_counter()
    runs = tum2000.simulate_many(jobs, n_workers=workers, directory=cache)
    wall = time.perf_counter() - started
started = time.perf_counter()
for ds in runs[:8]:
    summarize(ds, synchrony=False)
stats = (time.perf_counter() - started) / min(8, len(runs))
print(json.dumps({"wall": wall, "stats": stats}))
"""


def sweep(n: int, workers: int = 2) -> dict:
    done = subprocess.run([PYTHON, "-c", SWEEP_TASK, str(n), str(workers)], env=_env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sweep of {n} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


STATS_TASK = """
import json, resource, time
import tum2000
from tum2000.analysis import summarize

def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in
               (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))

tum2000.simulate("default", seed=2)  # first call: imports, loads the engine
sim_cpu = []
for seed in (3, 4, 5):
    c = cpu()
    ds = tum2000.simulate("default", seed=seed)
    sim_cpu.append(cpu() - c)
summarize(ds, synchrony=False)  # first call: imports
out = {"simulation_cpu": min(sim_cpu)}
for name, kw in (("cheap", {"synchrony": False}), ("full", {})):
    walls, cpus = [], []
    for _ in range(3):
        w, c = time.perf_counter(), time.process_time()
        summarize(ds, **kw)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    out[name] = {"wall": min(walls), "cpu": min(cpus)}
print(json.dumps(out))
"""


def statistics_timing(work: Path) -> dict:
    done = subprocess.run([PYTHON, "-c", STATS_TASK], capture_output=True, text=True,
                          env=_env(TUM2000_CACHE=str(work / "stats_cache")))
    if done.returncode != 0:
        raise RuntimeError(f"statistics timing failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_engine_for(sets: list[str]) -> float:
    """Build the engine for a size before timing its runs; the build's wall time."""
    code = ("import sys, tum2000\nfrom tum2000.model import engine\n"
            "from tum2000.model.network import draw_network\n"
            "p = tum2000.preset('default', **dict(s.split('=') for s in sys.argv[1:]))\n"
            "engine.build(engine.spec_for(p, draw_network(p, 1).n_synapses))\n")
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", code, *sets], env=_env(), check=True,
                   capture_output=True)
    return time.perf_counter() - started


def synapse_count(sets: list[str]) -> int:
    import tum2000
    from tum2000.model.network import draw_network

    params = tum2000.preset("default", **dict(s.split("=") for s in sets))
    return draw_network(params, 1).n_synapses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer, smaller runs (no cold reference, no first-run emulation)")
    parser.add_argument("--sizes", default=None, help="N values, comma-separated")
    parser.add_argument("--repeats", type=int, default=None, help="warm runs per figure")
    parser.add_argument("--scaling-record-dt-ms", type=float, default=10.0,
                        help="record step of x and u in the N-scaling runs (ms)")
    parser.add_argument("--reference", type=Path, help="the reference script, if elsewhere")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    global REFERENCE
    if args.reference:
        REFERENCE = args.reference.resolve()
    quick = args.quick
    repeats = args.repeats or (1 if quick else 3)
    sizes = [int(s) for s in (args.sizes or ("500,5000" if quick else "500,5000,50000"))
             .split(",") if s]
    work = Path(tempfile.mkdtemp(prefix="tum2000_bench_"))
    rows: list[Measurement] = []

    def show(m: Measurement) -> Measurement:
        rows.append(m)
        peak = f"{m.peak_mib:8.0f} MiB" if m.peak_mib is not None else " " * 12
        print(f"{m.label:52s} {m.wall_s:8.2f} s {peak}  {m.extra}", flush=True)
        return m

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at start; python {sys.version.split()[0]}")
    print(f"{'run':52s} {'wall':>10s} {'peak RSS':>12s}")
    try:
        ref_warm, ref_cold = reference_runs(work, repeats, cold=not quick)
        if ref_cold:
            show(ref_cold)
        if ref_warm:
            show(ref_warm)
        tum2000_run(work, "tum2000 warm-up")
        warm = show(median_of("tum2000 default, warm", [
            tum2000_run(work, "tum2000 default, warm") for _ in range(repeats)]))
        for row in start_up(work, repeats):
            show(row)
        first = setup = None
        if not quick:
            setup, first = first_run_after_setup(work)
            show(setup)
            show(first)
        ref_preset = show(median_of("tum2000 reference_script preset", [
            tum2000_run(work, "tum2000 reference_script preset", preset="reference_script")
            for _ in range(repeats)]))
        numpy_target = None
        if not quick:
            numpy_target = show(tum2000_run(work, "tum2000 default, Brian2 numpy target",
                                            target="numpy"))
        theory = show(measure("tum2000 theory, default (no network simulated)",
                              [str(Path(PYTHON).parent / "tum2000"), "theory"], cwd=work))

        print()
        small, large = (4, 12) if quick else (8, 40)
        a, b = sweep(small), sweep(large)
        per_run_worker = 2 * (b["wall"] - a["wall"]) / (large - small)
        show(Measurement(f"sweep: simulate_many, 2 workers, {large} default runs", b["wall"],
                         extra=f"{large / b['wall']:.2f} runs/s incl. cluster start-up"))
        show(Measurement("sweep: per run per worker (slope, no start-up)", per_run_worker,
                         extra=f"{small} runs: {a['wall']:.1f} s, {large} runs: "
                               f"{b['wall']:.1f} s"))
        show(Measurement("sweep statistics per run (summarize, synchrony=False)", b["stats"]))

        stats = statistics_timing(work)
        show(Measurement("summary of a default run, sweep fields", stats["cheap"]["wall"],
                         extra=f"cpu {stats['cheap']['cpu']:.2f} s"))
        show(Measurement("summary of a default run, full (Elephant synchrony)",
                         stats["full"]["wall"], extra=f"cpu {stats['full']['cpu']:.2f} s"))
        show(Measurement("CPU s of one default simulation in a live process",
                         stats["simulation_cpu"],
                         extra="engine + replay + dataset, as a sweep worker pays it"))

        print()
        scaling = []
        rec = f"record_dt_ms={args.scaling_record_dt_ms:g}"
        for n in sizes:
            sets = [*scaled(n), rec]
            n_syn = synapse_count(sets)
            build_s = build_engine_for(sets)
            if build_s > 5:
                show(Measurement(f"  engine build for N = {n:,} (once)", build_s))
            m = show(tum2000_run(work, f"tum2000 N = {n:,} (fixed in-degree, {rec})", *sets,
                                 extra=f"{n_syn:,} synapses"))
            scaling.append((n, n_syn, m))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"(other processes on this machine share its {os.cpu_count()} cores)")
    print("\nratios and targets")

    def line(text: str, value: float, target: str = "", ok: bool | None = None) -> None:
        verdict = f"target {target:9s} {'met' if ok else 'NOT met'}" if target else ""
        print(f"  {text:60s} {value:7.2f}   {verdict}")

    if ref_warm:
        line("default run / reference warm, wall", warm.wall_s / ref_warm.wall_s, "<= 0.25",
             warm.wall_s / ref_warm.wall_s <= 0.25)
        line("default run / reference warm, peak memory", warm.peak_mib / ref_warm.peak_mib,
             "<= 0.15", warm.peak_mib / ref_warm.peak_mib <= 0.15)
        line("reference_script preset / reference warm, wall",
             ref_preset.wall_s / ref_warm.wall_s)
        if numpy_target:
            line("Brian2 numpy target / reference warm, wall",
                 numpy_target.wall_s / ref_warm.wall_s)
    else:
        print("  (no reference script: no ratios; see the message above)")
    if ref_cold and first:
        line("first run after setup / reference cold, wall", first.wall_s / ref_cold.wall_s)
    if first:
        line("first run after setup, wall (s)", first.wall_s, "<= 8 s", first.wall_s <= 8)
    if ref_warm:
        line("tum2000 theory / reference warm, wall", theory.wall_s / ref_warm.wall_s)
    line("tum2000 theory, default, wall (s)", theory.wall_s, "<= 60 s", theory.wall_s <= 60)
    line("sweep: s per default run per worker, simulation + statistics",
         per_run_worker + b["stats"], "<= 0.5 s", per_run_worker + b["stats"] <= 0.5)
    line("  the same in CPU seconds (simulation + sweep statistics)",
         stats["simulation_cpu"] + stats["cheap"]["cpu"], "<= 0.5 s",
         stats["simulation_cpu"] + stats["cheap"]["cpu"] <= 0.5)
    line("sweep statistics per default run (s)", stats["cheap"]["wall"], "<= 0.5 s",
         stats["cheap"]["wall"] <= 0.5)
    line("full summary per default run (s)", stats["full"]["wall"], "<= 2 s",
         stats["full"]["wall"] <= 2)
    print("  (wall times on a loaded machine exceed CPU times; the CPU seconds of the"
          " summaries are in the table above)")
    n0, s0, m0 = scaling[0]
    for n, s, m in scaling[1:]:
        print(f"  N = {n:,}: synapses x{s / s0:6.1f}, wall x{m.wall_s / m0.wall_s:6.1f}, "
              f"peak memory {m.peak_mib / 1024:.2f} GiB"
              + (f"; {m.wall_s:.1f} s (target <= 30 s: "
                 f"{'met' if m.wall_s <= 30 else 'NOT met'})" if n == 50_000 else ""))
    if numpy_target:
        print(f"\nengine decision: the compiled engine runs the default network in "
              f"{warm.wall_s:.2f} s per whole process against {numpy_target.wall_s:.2f} s on "
              "Brian2's numpy target\n(same dataset, bit for bit); Brian2 is not imported. "
              "See book/model/numerics.md.")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(m) for m in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
