"""Values and text of the exploration chapter (``book/exploration.ipynb``)."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from tum2000.sweeps.stored import FileCheck, regenerate_command


def stored_data_box(check: FileCheck) -> str:
    """A MyST warning box for a page whose stored data did not verify: which
    file, why, that the page draws it as stored, and the command that
    regenerates it."""
    return (f"```{{warning}}\n**The stored data `book/data/{check.path.name}` did not "
            f"verify against this code**: {check.reason()}. The figures and numbers "
            f"below are drawn from the file as it is stored. To make it anew, run "
            f"`{regenerate_command(check.name)}` in the book's folder"
            + (f" (it took {check.made_in_s / 60:.0f} min when it was made)"
               if check.made_in_s == check.made_in_s else "") + ".\n```")


def stored_check_table(checks: Mapping[str, FileCheck | None]) -> pd.DataFrame:
    """One row per recomputed point of every stored sweep the page read: the
    point, whether its spikes are the same to the last bit, how many
    statistics were compared, the largest relative deviation among them and
    whether all are within tolerance. A sweep computed in this build (not
    stored) gets one row saying so."""
    rows = []
    for name, check in checks.items():
        if check is None:
            rows.append({"sweep": name, "source": "computed in this build",
                         "point recomputed": "", "spikes": "", "statistics": "",
                         "largest deviation": "", "verdict": ""})
            continue
        source = f"book/data/{check.path.name}"
        if check.problem or not check.points:
            rows.append({"sweep": name, "source": source,
                         "point recomputed": "none cheap enough" if not check.problem else "",
                         "spikes": "", "statistics": "", "largest deviation": "",
                         "verdict": "verified" if check.verified else check.problem})
            continue
        for point in check.points:
            largest = max((d.relative for d in point.deviations), default=0.0)
            rows.append({
                "sweep": name, "source": source, "point recomputed": point.label,
                "spikes": "differ" if "spikes" in point.fingerprint_differs
                else "bit-identical",
                "statistics": len(point.deviations),
                "largest deviation": f"{largest:.1e}" if largest else "0 (identical)",
                "verdict": "within tolerance" if point.agrees else point.describe()})
    return pd.DataFrame(rows).set_index("sweep")


def regenerate_commands(checks: Mapping[str, FileCheck | None]) -> list[str]:
    """The command that regenerates each stored sweep the page read."""
    return [regenerate_command(name) for name, check in checks.items() if check is not None]


__all__ = ["regenerate_commands", "stored_check_table", "stored_data_box"]
