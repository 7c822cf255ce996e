"""The grid of a parameter sweep: which parameters vary, over which values.

A grid is a sequence of *axes*. Each axis is one dimension of the sweep's
result and moves one parameter, or several parameters together (a *zipped*
axis, e.g. ``N_exc``, ``N_inh`` and ``p_connect`` for a network size at fixed
in-degree). The sweep runs the outer product of the axes, times the seeds.

Every value is checked before any work starts, with the same rules and
messages as ``tum2000 simulate --set``: the name must be a model parameter
(:data:`tum2000.model.parameters.SPECS`), each value must be allowed by that
parameter's :meth:`~tum2000.model.parameters.Spec.coerce`, and every grid
point, applied to the base parameters, must pass :class:`Parameters`'
consistency checks (e.g. ``duration_ms`` a whole multiple of ``dt_ms``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from tum2000.model.parameters import (SPECS, ParameterError, Parameters, _unknown_message,
                               parse_assignment)


@dataclass(frozen=True)
class Axis:
    """One dimension of a sweep: ``values[name][k]`` for k = 0 .. size-1.

    The dimension is named after the first parameter; the others (a zipped
    axis) become coordinates along it.
    """

    values: Mapping[str, tuple[Any, ...]]

    @property
    def name(self) -> str:
        return next(iter(self.values))

    @property
    def size(self) -> int:
        return len(self.values[self.name])

    def point(self, k: int) -> dict[str, Any]:
        """The parameter changes at position ``k`` of this axis."""
        return {name: values[k] for name, values in self.values.items()}


@dataclass(frozen=True)
class Grid:
    """The axes of a sweep, in the order of the result's dimensions."""

    axes: tuple[Axis, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(axis.size for axis in self.axes)

    @property
    def names(self) -> tuple[str, ...]:
        """Every swept parameter (dimension names and zipped companions)."""
        return tuple(name for axis in self.axes for name in axis.values)

    def __len__(self) -> int:
        size = 1
        for n in self.shape:
            size *= n
        return size

    def indices(self) -> Iterator[tuple[int, ...]]:
        """Every grid position, last axis fastest."""
        return itertools.product(*(range(n) for n in self.shape))

    def point(self, index: Sequence[int]) -> dict[str, Any]:
        """The parameter changes at grid position ``index``."""
        changes: dict[str, Any] = {}
        for axis, k in zip(self.axes, index):
            changes.update(axis.point(k))
        return changes

    def to_json(self) -> str:
        """The grid as JSON: a list of axes, each ``{name: [values]}``."""
        return json.dumps([{n: list(v) for n, v in axis.values.items()} for axis in self.axes])

    @classmethod
    def from_json(cls, text: str) -> "Grid":
        return make_grid(zipped=json.loads(text))


def _coerce_values(name: str, values: Sequence[Any], unique: bool = True) -> tuple[Any, ...]:
    if name not in SPECS:
        raise ParameterError(_unknown_message(name))
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ParameterError(f"grid values of {name} must be a list, got {values!r}")
    if len(values) == 0:
        raise ParameterError(f"grid {name} has no values (give at least one: "
                             f"{name}=V1,V2,...; allowed: {SPECS[name].allowed()})")
    coerced = tuple(SPECS[name].coerce(v) for v in values)
    if not unique:
        return coerced
    seen: set[Any] = set()
    for value in coerced:
        if value in seen:
            raise ParameterError(f"grid {name} lists the value {value!r} twice")
        seen.add(value)
    return coerced


def fixed_in_degree_axis(sizes: Sequence[int], in_degree: float,
                         excitatory_fraction: float = 0.8) -> dict[str, list[Any]]:
    """A zipped grid axis of network sizes N at a fixed in-degree K.

    ``N_exc = round(0.8 N)``, ``N_inh = N - N_exc`` and ``p_connect = min(1,
    K / N)``, so that every neuron keeps K presynaptic partners on average and
    its mean input stays the same as N grows (the exploration chapter's size
    series; the paper's network is N = 500, K = 0.1 x 500 = 50). Pass it to
    :func:`make_grid` as one of ``zipped``.
    """
    n_exc = [int(round(excitatory_fraction * n)) for n in sizes]
    return {"N_exc": n_exc, "N_inh": [int(n) - e for n, e in zip(sizes, n_exc)],
            "p_connect": [min(1.0, in_degree / n) for n in sizes]}


def make_grid(grid: Mapping[str, Sequence[Any]] | None = None,
              zipped: Sequence[Mapping[str, Sequence[Any]]] = (),
              base: Parameters | None = None) -> Grid:
    """A checked :class:`Grid`.

    ``grid`` maps a parameter name to its values (one axis each, the outer
    product is swept); each mapping of ``zipped`` is one axis whose parameters
    move together (equal numbers of values). With ``base``, every grid point
    is applied to it and checked (:class:`Parameters`' consistency rules).
    Raises :class:`ParameterError` with a one-line message.
    """
    axes: list[Axis] = []
    for name, values in (grid or {}).items():
        axes.append(Axis({name: _coerce_values(name, values)}))
    for group in zipped:
        if not group:
            raise ParameterError("a zipped grid axis needs at least one NAME=V1,V2,...")
        # The first parameter names the dimension: its values must differ;
        # the others may repeat (e.g. a recording time shared by two points).
        values = {name: _coerce_values(name, v, unique=k == 0)
                  for k, (name, v) in enumerate(group.items())}
        lengths = {name: len(v) for name, v in values.items()}
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{n}: {k}" for n, k in lengths.items())
            raise ParameterError(f"zipped grid parameters need equal numbers of values, "
                                 f"got {listed}")
        axes.append(Axis(values))
    names = [name for axis in axes for name in axis.values]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError(f"grid parameter {repeated[0]} is given more than once")
    result = Grid(tuple(axes))
    from tum2000.sweeps.bounds import check_run_count

    check_run_count(len(result), 1)  # before any point is listed
    if base is not None:
        check_points(base, result)
    return result


def check_points(base: Parameters, grid: Grid) -> None:
    """Apply every grid point to ``base``; the first inconsistent one raises
    :class:`ParameterError` naming the point."""
    for index in grid.indices():
        changes = grid.point(index)
        try:
            base.replace(**changes)
        except ParameterError as err:
            where = ", ".join(f"{n}={v!r}" for n, v in changes.items())
            raise ParameterError(f"grid point {where}: {err}") from None


def parse_values(text: str) -> tuple[str, list[str]]:
    """``"NAME=V1,V2,..."`` from the command line as ``(NAME, ["V1", "V2", ...])``.

    Values stay strings here; :func:`make_grid` converts and checks them.
    """
    if "=" not in text:
        raise ParameterError(f"expected NAME=V1,V2,..., got {text!r}")
    name, values = parse_assignment(text)  # the name is checked as for --set
    items = [v.strip() for v in values.split(",")]
    if values.strip() == "":
        items = []
    elif any(v == "" for v in items):
        raise ParameterError(f"grid {name} has an empty value in {values!r} "
                             f"(allowed: {SPECS[name].allowed()})")
    return name, items


__all__ = ["fixed_in_degree_axis", "Axis", "Grid", "check_points", "make_grid", "parse_values"]
