"""Numerical convergence study of the default network (see tum2000.sweeps.convergence).

For each seed the same network is simulated with dt = 1, 0.5, 0.25 and 0.1 ms
(exact integration), with the reference script's numerics (dt = 1 ms, input
held constant over the step), and with dt = 0.01 ms as the baseline; every
statistic is compared with the baseline by paired differences over seeds.

Usage: python benchmarks/convergence.py [--seeds 8]
About 6 minutes on 2 cores with 8 full-length seeds (results are cached).
"""

from __future__ import annotations

import argparse
import sys

import tum2000
from tum2000.sweeps.convergence import dt_variants, study, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 1..N (default 8)")
    args = parser.parse_args(argv)
    variants, baseline = dt_variants([1.0, 0.5, 0.25, 0.1], fine_dt_ms=0.01)
    result = study(tum2000.preset("default"), variants, baseline,
                   seeds=range(1, args.seeds + 1), progress=False)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
