"""Tables and prose fragments that several pages of the book show.

* :func:`value_or_undefined` — a number for glued prose, or a stated reason
  when it does not exist in this run (no population spike, one seed, ...);
* :func:`convergence_table` — a :func:`tum2000.convergence.study` as paired
  differences ± s.e. with the tolerance and the verdict per statistic;
* :func:`across_seeds` — statistics per seed, and their mean and standard
  error over seeds.

Data in, pandas out: the notebooks display the result.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

UNDEFINED = "undefined"


def value_or_undefined(value: Any, fmt: str = "{:.2f}", undefined: str = UNDEFINED) -> str:
    """``fmt.format(value)``, or ``undefined`` when the value is missing or not finite.

    ``undefined`` should say why, e.g. "undefined (no population spike in this
    run)", so that the prose stays true on every seed.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return undefined if value is None else str(value)
    if not math.isfinite(number):
        return undefined
    return fmt.format(value)


def convergence_table(result: xr.Dataset, statistics: Sequence[str] | None = None
                      ) -> pd.DataFrame:
    """Paired difference from the baseline, its s.e., the tolerance and the verdict,
    per variant (rows) and statistic (column groups)."""
    baseline = result.attrs["baseline"]
    names = list(statistics or result["statistic"].values)
    rows = [str(v) for v in result["variant"].values if v != baseline]
    columns = {}
    for name in names:
        sel = result.sel(statistic=name)
        columns[(name, "difference")] = [f"{float(sel['difference'].sel(variant=v)):+.3f}"
                                         for v in rows]
        columns[(name, "s.e.")] = [f"{float(sel['standard_error'].sel(variant=v)):.3f}"
                                   for v in rows]
        columns[(name, "verdict")] = [str(sel["verdict"].sel(variant=v).item()) for v in rows]
    table = pd.DataFrame(columns, index=pd.Index(rows, name="variant"))
    table.attrs["tolerances"] = {n: float(result["tolerance"].sel(statistic=n)) for n in names}
    return table


def across_seeds(summaries: Iterable[Mapping[str, Any]], seeds: Sequence[int],
                 columns: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-seed statistics, their mean and standard error over seeds).

    ``summaries`` are :func:`tum2000.analysis.summarize` dicts, one per seed;
    ``columns`` maps summary fields to the labels shown. With one seed the
    standard error is undefined (NaN).
    """
    stats = pd.DataFrame(list(summaries), index=pd.Index(list(seeds), name="seed"))
    per_seed = stats[list(columns)].rename(columns=dict(columns)).astype(float)
    n = len(per_seed)
    se = per_seed.std(ddof=1) / np.sqrt(n) if n > 1 else per_seed.mean() * np.nan
    overview = pd.DataFrame({"mean": per_seed.mean(), "standard error": se})
    return per_seed, overview
