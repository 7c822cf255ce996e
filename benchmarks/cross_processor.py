"""How far the book's stored results move on another processor (measured).

Recomputes runs of every stored sweep (``book/data/*.nc``) in four
environments of this machine, each in its own process:

* ``native``: as it is;
* ``numpy``: NumPy without its non-baseline SIMD kernels (``NPY_DISABLE_CPU_FEATURES``);
* ``glibc``: glibc's plain ``exp``/``log`` instead of its FMA/AVX variants (``GLIBC_TUNABLES``);
* ``both``: both at once (what ``.ci/run`` builds the book under);

and prints, per kind of quantity and environment, the largest relative
deviation from ``native`` and from the stored value (made on another machine),
and whether spikes and the recorded x stayed bit-identical. The tolerances of
:mod:`tum2000.store.stored` are chosen from this table.

    .venv/bin/python benchmarks/cross_processor.py [--max-cost 10] [--envs native,numpy,glibc,both]

About 10 minutes on two cores for the default cost bound (121 runs x 4).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from emulation import GLIBC_FEATURES_OFF, numpy_features_off  # noqa: E402

WORKER = """
import hashlib, json, sys
import numpy as np
from tum2000.sweeps import stored as sweep_data
from tum2000.model.simulation import simulate
from tum2000.store import stored
from tum2000.analysis.statistics import run_statistics

out = []
for file, index, seed in json.loads(sys.stdin.read()):
    ds = sweep_data.load_sweep_file(file)
    run = simulate(sweep_data.point_parameters(ds, index), seed)
    recorded = hashlib.sha256(np.ascontiguousarray(run["recovered"].values).tobytes()
                              + np.ascontiguousarray(run["utilization"].values).tobytes())
    out.append({"file": file, "index": index, "seed": seed, **stored.fingerprint(run),
                "recorded_sha256": recorded.hexdigest(),
                "stats": {k: float(v).hex() for k, v in run_statistics(run).items()}})
json.dump(out, sys.stdout)
"""


def environments(python: str) -> dict[str, dict[str, str]]:
    numpy = {"NPY_DISABLE_CPU_FEATURES": " ".join(numpy_features_off(python))}
    glibc = {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=" + ",".join(f"-{f}" for f in GLIBC_FEATURES_OFF)}
    return {"native": {}, "numpy": numpy, "glibc": glibc, "both": {**numpy, **glibc}}


def points(max_cost: float) -> list[tuple[str, list[int], int]]:
    from tum2000.sweeps import stored as sweep_data
    from tum2000.sweeps.grid import Grid

    out = []
    for path in sorted((ROOT / "book" / "data").glob("*.nc")):
        ds = sweep_data.load_sweep_file(path)
        grid = Grid.from_json(ds.attrs["grid"])
        for index in grid.indices():
            if sweep_data.run_cost(sweep_data.point_parameters(ds, index)) <= max_cost:
                out += [(str(path), list(index), int(s)) for s in ds["seed"].values.tolist()]
    return out


def kind(name: str) -> str:
    from tum2000.store import stored

    if stored.is_count(name):
        return "count"
    return name if name in stored.FITTED else "other"


def relative(a: float, b: float) -> float:
    from tum2000.store.stored import relative_deviation

    return relative_deviation(a, b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-cost", type=float, default=10.0,
                        help="most expensive run recomputed, in default runs (default 10)")
    parser.add_argument("--envs", default="native,numpy,glibc,both")
    parser.add_argument("--out", default=str(ROOT / "output" / "cross_processor.json"))
    args = parser.parse_args()
    python = sys.executable
    envs = {k: v for k, v in environments(python).items() if k in args.envs.split(",")}
    todo = points(args.max_cost)
    print(f"{len(todo)} runs x {len(envs)} environments", file=sys.stderr, flush=True)

    def run(name: str) -> tuple[str, list[dict]]:
        done = subprocess.run([python, "-c", WORKER], input=json.dumps(todo), text=True,
                              capture_output=True, env={**os.environ, **envs[name]})
        if done.returncode:
            raise SystemExit(f"{name}: {done.stderr[-2000:]}")
        return name, json.loads(done.stdout)

    with ThreadPoolExecutor(2) as pool:
        results = dict(pool.map(run, envs))
    import xarray as xr

    from tum2000.sweeps import stored as sweep_data
    from tum2000.sweeps.grid import Grid

    files: dict[str, xr.Dataset] = {}
    native = results["native"]
    table: dict[tuple[str, str], float] = defaultdict(float)
    bits: dict[str, dict[str, int]] = {}
    for env, rows in results.items():
        bits[env] = {"runs": len(rows),
                     "spikes identical": sum(r["spikes_sha256"] == n["spikes_sha256"]
                                             for r, n in zip(rows, native)),
                     "recorded identical": sum(r["recorded_sha256"] == n["recorded_sha256"]
                                               for r, n in zip(rows, native))}
        for r, n in zip(rows, native):
            ds = files.setdefault(r["file"], sweep_data.load_sweep_file(r["file"]))
            dims = [a.name for a in Grid.from_json(ds.attrs["grid"]).axes]
            point = ds.isel(dict(zip(dims, r["index"]))).sel(seed=r["seed"])
            for name, value in r["stats"].items():
                value = float.fromhex(value)
                k = kind(name)
                table[(k, f"{env} vs native")] = max(table[(k, f"{env} vs native")],
                                                     relative(value, float.fromhex(n["stats"][name])))
                if name in point:
                    table[(k, f"{env} vs stored")] = max(table[(k, f"{env} vs stored")],
                                                         relative(value, float(point[name])))
    columns = sorted({c for _, c in table}, key=lambda c: (c.split()[-1], list(envs).index(c.split()[0])))
    kinds = sorted({k for k, _ in table})
    print("| kind | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for k in kinds:
        print(f"| {k} | " + " | ".join(f"{table[(k, c)]:.2g}" for c in columns) + " |")
    print()
    for env, counts in bits.items():
        print(f"{env}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"table": {f"{k}|{c}": v for (k, c), v in table.items()},
                                          "bits": bits, "runs": len(todo)}, indent=1,
                                         default=lambda v: None if math.isinf(v) else v))


if __name__ == "__main__":
    main()
