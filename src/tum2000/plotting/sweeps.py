"""Figures of sweep results: population-spike statistics against a swept parameter.

Every panel shows the mean over seeds with error bars of one standard error
of the mean. A seed whose run has no event of a kind has no value for that
kind's per-event statistics (participation, peak, x, interval); those points
average over the seeds that have one, and a point without any is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr

from tum2000.analysis.statistics import over_seeds


@dataclass(frozen=True)
class Panel:
    """One panel: statistics drawn against the swept parameter, with labels."""

    title: str
    lines: tuple[tuple[str, str], ...]  # (variable, legend label)
    ylabel: str
    scale: float = 1.0  # multiplies the values (e.g. 1e-3 for ms -> s)


PANELS: dict[str, Panel] = {
    "rate": Panel("population spikes per second",
                  (("full_ps_rate_hz", "full"), ("partial_ps_rate_hz", "partial")), "Hz"),
    "participation": Panel("excitatory neurons taking part",
                           (("full_participation_mean", "full"),
                            ("partial_participation_mean", "partial")), "fraction"),
    "peak": Panel("peak activity", (("full_peak_mean", "full"),
                                    ("partial_peak_mean", "partial")),
                  "fraction of neurons per ms"),
    "x": Panel("x (EE) around full events",
               (("full_x_before_mean", "before"), ("full_x_after_mean", "after")), "x"),
    "x_mean": Panel("mean recovered x (EE)", (("x_mean", "all runs"),), "x"),
    "interval": Panel("interval between full events", (("full_ipi_ms_mean", "mean"),), "s",
                      scale=1e-3),
}
"""The standard panels of the exploration chapter."""

MAX_COLUMNS = 2
"""Panels side by side in a sweep figure (more go on further rows)."""
PANEL_SIZE_IN = (3.4, 2.7)
"""Width and height of one panel (inches): about 330 px wide at the book's column."""
FONT_PT = 9
"""Size of every text of a sweep figure (titles, labels, ticks, legends)."""

STYLE = {"full": dict(color="k", marker="o"), "partial": dict(color="tab:orange", marker="s"),
         "before": dict(color="tab:blue", marker="o"), "after": dict(color="tab:red", marker="v"),
         "mean": dict(color="k", marker="o"), "all runs": dict(color="tab:blue", marker="o")}


def _x_values(ds: xr.Dataset, x: str, x_values: Any) -> np.ndarray:
    if x_values is not None:
        return np.asarray(x_values, dtype=np.float64)
    return np.asarray(ds[x].values, dtype=np.float64)


def plot_panel(ax: Any, ds: xr.Dataset, x: str, panel: Panel, *, x_values: Any = None,
               hue: str | None = None, legend: bool = True) -> None:
    """Draw one panel of ``ds`` against dimension ``x`` on ``ax``.

    ``hue``: another swept dimension drawn as one line per value (then only
    the panel's first statistic is drawn); ``x_values`` replaces the x
    coordinates (e.g. the total N for a zipped size axis).
    """
    xs = _x_values(ds, x, x_values)
    if hue is None:
        for name, label in panel.lines:
            stats = over_seeds(ds[name] * panel.scale)
            ok = np.isfinite(stats["mean"].values)
            ax.errorbar(xs[ok], stats["mean"].values[ok],
                        yerr=np.nan_to_num(stats["sem"].values[ok]), capsize=3, lw=1, ms=4,
                        label=label, **STYLE.get(label, {}))
    else:
        import matplotlib as mpl

        name, _ = panel.lines[0]
        hues = ds[hue].values
        colors = mpl.colormaps["viridis"](np.linspace(0.1, 0.9, len(hues)))
        for value, color in zip(hues, colors):
            stats = over_seeds(ds[name].sel({hue: value}) * panel.scale)
            ok = np.isfinite(stats["mean"].values)
            ax.errorbar(xs[ok], stats["mean"].values[ok],
                        yerr=np.nan_to_num(stats["sem"].values[ok]), capsize=3, lw=1, ms=4,
                        marker="o", color=color, label=f"{value:,g}")
    ax.set_title(panel.title, fontsize=FONT_PT)
    ax.set_ylabel(panel.ylabel, fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)
    if legend and ax.get_legend_handles_labels()[0]:
        if hue is None:
            ax.legend(frameon=False, fontsize=FONT_PT)
        else:  # beside the panel: one entry per line
            ax.legend(frameon=False, fontsize=FONT_PT, title=hue, title_fontsize=FONT_PT,
                      loc="center left", bbox_to_anchor=(1.02, 0.5))


def sweep_figure(ds: xr.Dataset, x: str, *, xlabel: str, panels: Sequence[str] = tuple(PANELS),
                 x_values: Any = None, hue: str | None = None, log_x: bool = False,
                 mark: float | None = None, mark_label: str = "default") -> Any:
    """A row of panels (:data:`PANELS`) of ``ds`` against ``x``; ``mark`` draws a
    vertical line at a value of x (e.g. the default)."""
    import matplotlib.pyplot as plt

    # At most MAX_COLUMNS panels side by side: each stays ~300 px wide at the book's
    # column width, with 9 pt text; never a strip (the book's figures are at most
    # 3.5 times as wide as high).
    columns = min(MAX_COLUMNS, len(panels))
    rows = -(-len(panels) // columns)
    width = PANEL_SIZE_IN[0] * columns + (1.4 if hue else 0.3)
    fig, grid = plt.subplots(rows, columns, figsize=(width, PANEL_SIZE_IN[1] * rows),
                             layout="constrained", squeeze=False)
    axes = grid.ravel()
    for spare in axes[len(panels):]:
        fig.delaxes(spare)
    axes = axes[:len(panels)]
    for k, (ax, key) in enumerate(zip(axes, panels)):
        plot_panel(ax, ds, x, PANELS[key], x_values=x_values, hue=hue,
                   legend=(hue is None or k == len(panels) - 1))
        ax.set_xlabel(xlabel, fontsize=FONT_PT)
        if log_x:
            ax.set_xscale("log")
            ticks = _x_values(ds, x, x_values)
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=FONT_PT)
            ax.minorticks_off()
        if mark is not None:
            ax.axvline(mark, color="0.6", lw=0.8, ls="--", zorder=0,
                       label=mark_label if k == 0 else None)
    return fig


__all__ = ["PANELS", "Panel", "plot_panel", "sweep_figure"]
