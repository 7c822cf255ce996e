"""First-run time of each single-run page with the ``classroom`` preset.

A student's first run: ``tum2000 run NOTEBOOK --set preset=classroom`` with an
empty dataset cache, as one whole process (papermill, the kernel, imports,
the simulation, the analysis, the figures), timed from outside with
``os.wait4``: wall time, CPU time (user + system, of the process and every
child it waited for: the kernel) and peak memory of the largest process.

Two set-ups (``--mode``):

* ``no-compiler`` (default): as on a laptop without a C/C++ compiler. The
  child's ``PATH`` is this machine's with every compiler and ``make`` left
  out (a folder of links to every other program), ``CC``/``CXX`` unset, and
  an empty engine store (``TUM2000_ENGINE_DIR``), so no engine and no compiled
  replay kernel can be built or found: Brian2's numpy target and the NumPy
  replay run;
* ``compiler``: this machine as set up by ``make setup`` (the compiled engine).

The target is the wall time on an idle 2-core machine; on a shared machine
the wall time grows with the load, so the load average is printed beside each
row and the CPU time is the figure to compare (on an idle machine wall is
about CPU, as the run is one process at a time).

``--seeds 1 2 3 4`` also prints the population spikes of each seed with the
classroom preset (simulated in this process, target ``auto``).

Usage: python benchmarks/classroom.py [--mode no-compiler|compiler|both]
       [--notebooks intro simulate ...] [--repeat 1] [--seeds 1 2 3 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("intro", "simulate", "panel_a_raster", "panel_b_activity", "panel_c_recovered",
             "figure1", "synapse", "parameters")
"""The single-run pages (and the model pages that run code)."""
TARGET_S = 20.0
COMPILERS = ("cc", "gcc", "g++", "c++", "cpp", "clang", "clang++", "make", "gmake", "ld",
             "x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++", "x86_64-linux-gnu-cpp")


def _is_compiler(name: str) -> bool:
    base = name.split("-")[0] if name.startswith(("gcc-", "g++-", "cpp-", "clang-")) else name
    return base in COMPILERS or name.startswith(("x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++",
                                                  "aarch64-linux-gnu-gcc"))


def path_without_compilers(scratch: Path) -> str:
    """A PATH of one folder linking every program on this PATH but the compilers."""
    folder = scratch / "bin"
    folder.mkdir()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            link = folder / name
            if _is_compiler(name) or link.exists() or link.is_symlink():
                continue
            target = Path(entry) / name
            if target.is_file() and os.access(target, os.X_OK):
                link.symlink_to(target)
    return str(folder)


def environment(mode: str, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX")}
    env["TUM2000_CACHE"] = str(scratch / "cache")  # empty: a first run
    env["MPLBACKEND"] = "Agg"
    if mode == "no-compiler":
        env["PATH"] = path_without_compilers(scratch)
        env["TUM2000_ENGINE_DIR"] = str(scratch / "engines")  # empty: no engine to find
        for tool in ("cc", "gcc", "g++", "make"):
            assert shutil.which(tool, path=env["PATH"]) is None, tool
    return env


def run_once(notebook: str, mode: str) -> dict[str, float]:
    """One first run of ``notebook``: wall and CPU seconds, peak RSS (MiB), exit status."""
    tum2000 = Path(sys.executable).with_name("tum2000")
    with tempfile.TemporaryDirectory(prefix="tum2000-classroom-") as tmp:
        scratch = Path(tmp)
        env = environment(mode, scratch)
        command = [str(tum2000), "run", notebook, "--set", "preset=classroom",
                   "--no-progress", "--root", str(ROOT),
                   "--out", str(scratch / f"{notebook}.ipynb")]
        load = os.getloadavg()[0]
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=scratch, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        stderr = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            print(f"  {notebook}: exit status {code}: {stderr.strip().splitlines()[-1:]}",
                  file=sys.stderr)
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                "rss": usage.ru_maxrss / 1024, "load": load, "code": code}


def population_spikes(seeds: list[int]) -> None:
    import tum2000
    from tum2000 import analysis
    from tum2000.chapters import tables

    params = tum2000.preset("classroom")
    print("\nclassroom preset: events per seed (target auto, "
          f"{params['duration_ms']:g} ms recorded)")
    for seed in seeds:
        ds = tum2000.simulate(params, seed=seed)
        ps = analysis.detect_population_spikes(ds)
        s = analysis.summarize(ds, synchrony=False)
        print(f"  seed {seed}: {tables.events_phrase(ps)}; "
              f"excitatory rate {s['exc_rate_hz']:.1f} Hz, x between "
              f"{s['x_min']:.2f} and {s['x_max']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("no-compiler", "compiler", "both"),
                        default="no-compiler")
    parser.add_argument("--notebooks", nargs="+", default=list(NOTEBOOKS), choices=NOTEBOOKS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (median)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[],
                        help="also print the population spikes of these seeds")
    args = parser.parse_args(argv)
    modes = ("no-compiler", "compiler") if args.mode == "both" else (args.mode,)
    print(f"first run with preset=classroom, empty cache; {os.cpu_count()} cores; "
          f"target {TARGET_S:g} s wall on an idle 2-core machine")
    print(f"{'notebook':<20} {'set-up':<12} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9} "
          f"{'load':>5}  verdict")
    failed = 0
    for notebook in args.notebooks:
        for mode in modes:
            runs = [run_once(notebook, mode) for _ in range(args.repeat)]
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = max(r["rss"] for r in runs)
            load = statistics.mean(r["load"] for r in runs)
            ok = all(r["code"] == 0 for r in runs)
            failed += not ok
            verdict = ("FAILED" if not ok else
                       f"CPU {'within' if cpu <= TARGET_S else 'OVER'} {TARGET_S:g} s")
            print(f"{notebook:<20} {mode:<12} {wall:7.1f} {cpu:7.1f} {rss:9.0f} {load:5.1f}  "
                  f"{verdict}", flush=True)
    if args.seeds:
        population_spikes(args.seeds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
