"""A simulation in a fresh Python process, read back (the reproducibility chapter).

Used to check that a result depends neither on the process that computed it
nor on the Brian2 code-generation target.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import xarray as xr

from tum2000.errors import ComputationFailed

_CODE = ("import sys, tum2000\n"
         "p = tum2000.Parameters.from_json(sys.argv[1])\n"
         "tum2000.save(tum2000.simulate(p, int(sys.argv[2]), target=sys.argv[3]), sys.argv[4])\n")


def simulate_in_subprocess(params: Any, seed: int, target: str = "numpy",
                           timeout: float | None = 1800) -> xr.Dataset:
    """:func:`tum2000.simulate` in a fresh Python process (no cache), read back.

    An interruption stops the child process and removes its files (the run
    happens in a temporary folder).
    """
    from tum2000.store import dataset
    from tum2000.model.simulation import as_parameters

    params = as_parameters(params)
    with tempfile.TemporaryDirectory(prefix="tum2000_subprocess_") as tmp:
        out = Path(tmp) / "run.nc"
        result = subprocess.run([sys.executable, "-c", _CODE, params.to_json(), str(int(seed)),
                                 target, str(out)], capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise ComputationFailed(f"simulation on target {target!r} in another process "
                                    f"failed: {last}")
        return dataset.load(out)
