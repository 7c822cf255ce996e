"""Where a simulation can run: the one list of targets, and the one check of a target.

Kept apart from :mod:`tum2000.model.engine` (which imports NumPy and Brian2's
model) so that the command line can offer the choices without importing the model.
"""

from __future__ import annotations

from tum2000.errors import ParameterError

BRIAN2_TARGETS: tuple[str, ...] = ("numpy", "cython", "cpp_standalone")
"""Brian2's own code-generation targets (:mod:`tum2000.model.brian_model`)."""

TARGETS: tuple[str, ...] = ("auto", "engine", *BRIAN2_TARGETS)
"""Every target: ``engine`` (tum2000's compiled engine, :mod:`tum2000.model.engine`),
Brian2's own targets, or ``auto``: the engine when it exists or can be built,
else Brian2's numpy target. Every target gives the same spikes for one network."""


def check_target(target: str, allowed: tuple[str, ...] = TARGETS) -> str:
    """``target`` if it is one of ``allowed``; else :class:`~tum2000.errors.ParameterError`
    (exit 2) naming the allowed ones."""
    if target not in allowed:
        raise ParameterError(f"unknown target {target!r} (allowed: {', '.join(allowed)})")
    return target


__all__ = ["BRIAN2_TARGETS", "TARGETS", "check_target"]
