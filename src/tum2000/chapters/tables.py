"""Tables and prose fragments that several pages of the book show.

* :func:`value_or_undefined` — a number for glued prose, or a stated reason
  when it does not exist in this run (no population spike, one seed, ...);
* :func:`convergence_table` — a :func:`tum2000.sweeps.convergence.study` as paired
  differences ± s.e. with the tolerance and the verdict per statistic;
* :func:`across_seeds` — statistics per seed, and their mean and standard
  error over seeds;
* :class:`Estimate` — a mean with its Student-t 95 % confidence interval and
  the number of values behind it; :class:`Verdict` — a verdict in words with
  the number of events (or runs) behind it and, where it rests on an average,
  that average's :class:`Estimate`.

Data in, pandas out: the notebooks display the result.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats as _stats

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


@dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` finite values with a two-sided Student-t confidence
    interval ``[low, high]`` (95 % unless :meth:`of` was told otherwise).

    The values keep their unit (Hz, ms, a fraction, ...). With ``n`` < 2 the
    interval is undefined: ``low`` and ``high`` are NaN (and with ``n`` = 0 the
    mean is NaN too).
    """

    mean: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float] | np.ndarray | xr.DataArray,
           confidence: float = 0.95) -> "Estimate":
        """The mean of the finite ``values`` (NaN and infinities are left out,
        as a seed without an event of a kind has no value) and its Student-t
        interval, ``mean ± t(1 - (1 - confidence)/2, n - 1) · s / sqrt(n)``
        with ``s`` the sample standard deviation (ddof 1)."""
        x = np.asarray(values, dtype=float).ravel()
        x = x[np.isfinite(x)]
        n = int(x.size)
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(np.mean(x))
        if n < 2:
            return cls(mean, math.nan, math.nan, n)
        half = float(_stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(x, ddof=1) / math.sqrt(n))
        return cls(mean, mean - half, mean + half, n)

    @property
    def defined(self) -> bool:
        """Whether the interval exists (at least two finite values)."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def text(self, fmt: str = "{:.2f}", undefined: str = UNDEFINED) -> str:
        """"mean (95 % CI low–high, n = n)", the mean alone with ``n`` when the
        interval is undefined, ``undefined`` when there is no value."""
        if self.n == 0:
            return undefined
        if not self.defined:
            return f"{fmt.format(self.mean)} (n = {self.n})"
        return (f"{fmt.format(self.mean)} (95 % CI {fmt.format(self.low)}–"
                f"{fmt.format(self.high)}, n = {self.n})")


@dataclass(frozen=True)
class Verdict:
    """A verdict the page states in words, with what it rests on.

    ``text`` is the phrase glued into the prose; ``n`` the number of events
    (population spikes, or runs where so documented) behind it, 0 when there
    were none; ``estimate`` the average it compares, where it compares one;
    ``holds`` whether the claim it judges holds (None when the verdict is not
    a yes or no, e.g. "cannot be tested"). ``str(verdict)`` is its text.
    """

    text: str
    n: int
    estimate: Estimate | None = None
    holds: bool | None = None

    def __str__(self) -> str:
        return self.text


def convergence_table(result: xr.Dataset, statistics: Sequence[str] | None = None,
                      labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Paired difference from the baseline, its s.e., the tolerance and the verdict,
    per variant (rows) and statistic (column groups, named by ``labels`` where given:
    a reader's name with its unit rather than the code's)."""
    baseline = result.attrs["baseline"]
    names = list(statistics or result["statistic"].values)
    labels = labels or {}
    rows = [str(v) for v in result["variant"].values if v != baseline]
    columns = {}
    for name in names:
        sel = result.sel(statistic=name)
        label = labels.get(name, name)
        columns[(label, "difference")] = [f"{float(sel['difference'].sel(variant=v)):+.3f}"
                                         for v in rows]
        columns[(label, "s.e.")] = [f"{float(sel['standard_error'].sel(variant=v)):.3f}"
                                   for v in rows]
        columns[(label, "verdict")] = [str(sel["verdict"].sel(variant=v).item()) for v in rows]
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


SUMMARY_ROWS: dict[str, tuple[str, str]] = {
    "n_ps": ("population spikes", "{:.0f}"),
    "ps_rate_hz": ("population spikes per second", "{:.2f}"),
    "exc_rate_hz": ("excitatory rate (Hz)", "{:.1f}"),
    "inh_rate_hz": ("inhibitory rate (Hz)", "{:.1f}"),
    "x_mean": ("mean recovered fraction x (EE)", "{:.3f}"),
    "ps_peak_mean": ("peak activity (fraction of neurons per ms)", "{:.3f}"),
    "ps_width_ms": ("population spike width at half maximum (ms)", "{:.1f}"),
}
"""Summary fields that the book's comparison tables show: label and format."""


def summary_table(summaries: Mapping[str, Mapping[str, Any]],
                  rows: Mapping[str, tuple[str, str]] = SUMMARY_ROWS,
                  undefined: str = "undefined (no population spike)") -> pd.DataFrame:
    """One column per run (``summaries``: run name -> :func:`tum2000.analysis.summarize`
    dict), one row per statistic with a reader's label, each value formatted as
    text (a count as a whole number), ``undefined`` where the run has no value."""
    return pd.DataFrame(
        {name: [value_or_undefined(s.get(key), fmt, undefined) for key, (_, fmt) in rows.items()]
         for name, s in summaries.items()},
        index=pd.Index([label for label, _ in rows.values()], name="statistic"))


def event_counts(ps: xr.Dataset) -> dict[str, int]:
    """Detected events of a :func:`tum2000.analysis.detect_population_spikes` result
    by kind: ``full`` (at least half of the excitatory neurons fire), ``partial``
    (fewer: ``is_partial``), ``sharp`` (``is_sharp``) and ``all``."""
    partial = np.asarray(ps["is_partial"].values, dtype=bool)
    sharp = np.asarray(ps["is_sharp"].values, dtype=bool)
    return {"all": int(partial.size), "full": int((~partial).sum()),
            "partial": int(partial.sum()), "sharp": int(sharp.sum())}


def _count(n: int, singular: str, plural: str) -> str:
    return f"no {singular}" if n == 0 else f"1 {singular}" if n == 1 else f"{n} {plural}"


def events_phrase(ps: xr.Dataset) -> str:
    """The events of a run in words, full population spikes apart from partial
    events, e.g. "2 population spikes and 1 partial event" or "no population
    spike (23 partial events)"."""
    counts = event_counts(ps)
    full = _count(counts["full"], "population spike", "population spikes")
    if not counts["partial"]:
        return full
    partial = _count(counts["partial"], "partial event", "partial events")
    return f"{full} ({partial})" if counts["full"] == 0 else f"{full} and {partial}"


MISSING = "–"
"""What a table cell shows where a value is missing (no event, no facilitation)."""


def _decimals(column: pd.Series, most: int = 4) -> int:
    """Decimals that show every finite value of ``column`` as stored (at most ``most``)."""
    finite = [float(v) for v in column if np.isfinite(v)]
    for digits in range(most + 1):
        if all(round(v, digits) == v for v in finite):
            return digits
    return most


def readable(table: pd.DataFrame, missing: str = MISSING) -> Any:
    """``table`` as a page shows it: a missing number as ``missing`` (not
    ``NaN``/``None``), booleans as "yes"/"no", floats with the decimals they
    were rounded to (a column's values share them), float index labels as
    written ("1990", "0.75"). Returns a pandas ``Styler`` (the page's HTML);
    the data are unchanged."""
    formats: dict[Any, Any] = {}
    for name in table.columns:
        column = table[name]
        present = column.dropna()
        if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
            formats[name] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_integer_dtype(column):
            formats[name] = "{:d}"
        elif pd.api.types.is_numeric_dtype(column) or (
                len(present) < len(column) and all(isinstance(v, (int, float)) for v in present)):
            formats[name] = f"{{:.{_decimals(pd.to_numeric(column, errors='coerce'))}f}}"
    # One call: each call of Styler.format resets the columns its dict leaves out.
    styler = table.style.format(formats, na_rep=missing)
    # Element ids from the table's content, not random: a re-executed page is the same.
    content = hashlib.sha1(table.to_json(default_handler=str).encode()).hexdigest()[:8]
    styler = styler.set_uuid(content)
    # Float labels of the index as they are written ("1990", "0.75"): Styler
    # would print them with six decimals.
    for level in range(table.index.nlevels):
        if pd.api.types.is_float_dtype(table.index.get_level_values(level)):
            styler = styler.format_index("{:g}", axis=0, level=level, na_rep=missing)
    return styler
