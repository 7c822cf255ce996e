"""Notebook parameters: what each notebook declares, and the checks before a run.

A notebook declares its parameters in its one cell tagged ``parameters``, as
``name: type = default  # help (unit)``. Before anything executes, every value
given for a notebook (``--set``, a parameter file, ``--quick``) is

1. refused if the notebook does not declare the name;
2. converted to the declared type (:func:`tum2000.model.values.coerce`: the same
   conversion as ``tum2000 simulate --set``);
3. checked against its rule: a model parameter (:data:`tum2000.SPECS`) against
   its allowed range; any other name against :data:`NOTEBOOK_RULES` (lists
   element by element, output files by format and place);
4. checked in combination: every set of model parameters the notebook will
   build (:data:`MODEL_SETS`) must be a consistent :class:`tum2000.Parameters`
   whose estimated memory fits the machine.

So a bad value stops a run with exit status 2 before a kernel starts, instead of
failing inside the kernel.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

from tum2000.errors import BadInput, ParameterError
from tum2000.model.parameters import (PRESET_CHANGES, PRESETS, SEED_LIMIT, SPECS, Spec,
                                      check_seed, notebook_parameters)
from tum2000.model.values import KINDS, check_path_length, coerce
from tum2000.book.layout import find_notebook, source_notebooks

QUICK: dict[str, Any] = {
    **PRESET_CHANGES["quick"],
    # the threshold-or-escape page (why): short, few runs
    "study_duration_ms": 10000.0, "study_seeds": 2, "initial_states": 2, "evoked_events": 1,
    "evoked_delays_ms": [300.0], "bifurcation_A_mV": [1.8, 5.4],
    "bifurcation_spread_mV": [1.0],
    # the density page: a coarse bisection, two pulse times, two networks, short noisy runs
    "halvings": 1, "model_delays_ms": [60.0, 300.0], "threshold_seeds": 2,
    "evoked_duration_ms": 5000.0, "noise_seeds": 1, "noise_duration_ms": 2000.0,
    # the theory page: short noisy runs, the density model alone
    "density_run_ms": 3000.0, "compare_rate_model": False,
}
"""Global parameters of a quick build: the ``quick`` preset's short run, and
small workloads for the pages that run many networks or models (each applies
to the notebooks that declare it)."""

Declared = dict[str, tuple[type | None, Any, str]]


# --- rules for notebook parameters that are not model parameters ---------------------

def _spec(name: str, kind: type = float, low: float | None = None, high: float | None = None,
          unit: str = "", low_open: bool = False, choices: tuple[str, ...] | None = None) -> Spec:
    return Spec(name, None, unit, "notebook", "", kind=kind, low=low, high=high,
                low_open=low_open, choices=choices)


def like(model_name: str) -> Callable[[str, Any], Any]:
    """A notebook parameter with the range of model parameter ``model_name``."""
    def check(name: str, value: Any) -> Any:
        return replace(SPECS[model_name], name=name).coerce(value)
    check.allowed = SPECS[model_name].allowed()  # type: ignore[attr-defined]
    return check


def ranged(spec: Spec) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        return replace(spec, name=name).coerce(value)
    check.allowed = spec.allowed()  # type: ignore[attr-defined]
    return check


def list_of(element: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """A list (at least one item), each item checked by ``element``."""
    allowed = f"a list such as [a, b], each {getattr(element, 'allowed', 'a value')}"

    def check(name: str, value: Any) -> Any:
        items = coerce(name, value, list, allowed=allowed,
                       element=lambda item: element(f"each item of {name}", item))
        if not items:
            raise ParameterError(f"{name} must be {allowed}, got an empty list")
        return items
    check.allowed = allowed  # type: ignore[attr-defined]
    return check


def output_file(kind: str) -> Callable[[str, Any], Any]:
    """A file the notebook writes: format checked by suffix, and its place.

    A relative path is relative to the notebook's output folder (where it
    runs) and must stay inside it (``../../escape.png`` is refused); an
    absolute path is allowed (writing a figure elsewhere is a reason to give
    one) and must be writable: the nearest existing folder above it a folder
    we can write in (:func:`tum2000.store.output_files.check_output`). Names longer than the
    file system allows are refused here, not by ``OSError [Errno 36]`` in a cell.
    """
    def check(name: str, value: Any) -> Any:
        from tum2000.store.output_files import SUFFIXES, check_output

        text = coerce(name, value, str)
        allowed = SUFFIXES[kind]()
        if Path(text).suffix.lower() not in allowed:
            raise ParameterError(f"{name} must be a file name ending in "
                                 f"{', '.join(allowed)}, got {value!r}")
        check_path_length(text, name)
        if os.path.isabs(text):
            try:
                check_output(text, kind, name)
            except BadInput as err:
                raise ParameterError(str(err)) from None
        elif os.path.normpath(text).split(os.sep)[0] == os.pardir:
            raise ParameterError(f"{name} must stay inside the notebook's output folder "
                                 f"(a relative path without leading '..', or an absolute "
                                 f"path), got {value!r}")
        return text
    check.allowed = (  # type: ignore[attr-defined]
        f"a {kind} file name inside the output folder, or an absolute path")
    return check


def scheduler_address(name: str, value: Any) -> str:
    """Empty (a local cluster) or an address Dask accepts
    (:func:`tum2000.sweeps.cluster.check_scheduler_address`)."""
    from tum2000.sweeps.cluster import check_scheduler_address  # imports Dask

    text = coerce(name, value, str).strip()
    if text:
        try:
            check_scheduler_address(text, name)
        except BadInput as err:
            raise ParameterError(f"{err} (or empty: a local cluster)") from None
    return text


def seed_rule(name: str, value: Any) -> int:
    """A seed, exactly (:func:`tum2000.model.parameters.check_seed`)."""
    return check_seed(value, name)


seed_rule.allowed = f"an integer in [0, {SEED_LIMIT - 1}]"  # type: ignore[attr-defined]


NOTEBOOK_RULES: dict[str, Callable[[str, Any], Any]] = {
    "seed": seed_rule,
    "sort_by_I_b": ranged(_spec("sort_by_I_b", bool)),
    "preset": ranged(_spec("preset", str, choices=PRESETS)),
    "spreads_mV": list_of(like("I_b_spread_mV")),
    "short_duration_ms": like("duration_ms"),
    "short_burn_in_ms": like("burn_in_ms"),
    "dt_values_ms": list_of(like("dt_ms")),
    "fine_dt_ms": like("dt_ms"),
    "n_convergence_seeds": ranged(_spec("n_convergence_seeds", int, low=2, high=1000)),
    "n_seeds": ranged(_spec("n_seeds", int, low=1, high=1000)),
    "other_target": ranged(_spec("other_target", str,
                                 choices=("numpy", "cython", "cpp_standalone"))),
    "dask_scheduler": scheduler_address,
    "ps_threshold": ranged(_spec("ps_threshold", low=0.0, high=1.0, low_open=True)),
    "merge_gap_ms": ranged(_spec("merge_gap_ms", low=0.0, high=1e6, unit="ms")),
    "rate_hz": ranged(_spec("rate_hz", low=0.0, high=1000.0, low_open=True, unit="Hz")),
    "n_spikes": ranged(_spec("n_spikes", int, low=1, high=10_000)),
    "probe_delay_ms": ranged(_spec("probe_delay_ms", low=0.0, high=1e6, unit="ms")),
    "sweep_tau_rec_ms": list_of(like("EE_tau_rec_ms")),
    "sweep_I_b_spread_mV": list_of(like("I_b_spread_mV")),
    "sweep_EE_U": list_of(like("EE_U")),
    "figure_path": output_file("image"),
    "output_path": output_file("dataset"),
    # book/instructor.ipynb: its preset and lists reuse the rules above
    # exploration: grids and seeds of its sweeps, and the check of stored sweeps
    "seeds": ranged(_spec("seeds", int, low=1, high=1000)),
    "spread_values_mV": list_of(like("I_b_spread_mV")),
    "spread_durations_ms": list_of(like("duration_ms")),
    "map_seeds": ranged(_spec("map_seeds", int, low=1, high=1000)),
    "map_duration_ms": like("duration_ms"),
    "U_values": list_of(like("EE_U")),
    "tau_rec_values_ms": list_of(like("EE_tau_rec_ms")),
    "A_EE_values_mV": list_of(like("EE_A_mV")),
    "p_connect_values": list_of(like("p_connect")),
    "size_values": list_of(ranged(_spec("N", int, low=2, high=1_000_000))),
    "size_seeds": ranged(_spec("size_seeds", int, low=1, high=1000)),
    "scaling_seeds": ranged(_spec("scaling_seeds", int, low=1, high=1000)),
    "scaling_sizes": list_of(ranged(_spec("N", int, low=2, high=1_000_000))),
    "scaling_spreads_mV": list_of(like("I_b_spread_mV")),
    "dense_sizes": list_of(ranged(_spec("N", int, low=2, high=1_000_000))),
    # why: the threshold-or-escape experiments
    "study_seeds": ranged(_spec("study_seeds", int, low=1, high=1000)),
    "study_duration_ms": like("duration_ms"),
    "initial_states": ranged(_spec("initial_states", int, low=2, high=1000)),
    "evoked_delays_ms": list_of(ranged(_spec("evoked_delays_ms", low=20.0, high=1e6,
                                             unit="ms"))),
    "evoked_events": ranged(_spec("evoked_events", int, low=1, high=100)),
    "bifurcation_A_mV": list_of(like("EE_A_mV")),
    "bifurcation_spread_mV": list_of(like("I_b_spread_mV")),
    # density: the population-density model's probe (and spreads_mV above)
    "halvings": ranged(_spec("halvings", int, low=1, high=20)),
    "pulse_ms": like("stim_duration_ms"),
    "settle_ms": ranged(_spec("settle_ms", low=100.0, high=1e6, unit="ms")),
    "model_delays_ms": list_of(ranged(_spec("model_delays_ms", low=40.0, high=1e6, unit="ms"))),
    "threshold_seeds": ranged(_spec("threshold_seeds", int, low=1, high=10)),
    "evoked_duration_ms": like("duration_ms"),
    "noise_seeds": ranged(_spec("noise_seeds", int, low=1, high=1000)),
    "noise_duration_ms": like("duration_ms"),
    # theory: the held-out score
    "density_run_ms": like("duration_ms"),
    "compare_rate_model": ranged(_spec("compare_rate_model", bool)),
}
"""How each notebook parameter that is not a model parameter is checked.
A notebook parameter with a model parameter's name is checked by its
:class:`~tum2000.model.parameters.Spec`. A new notebook parameter gets a rule
here (tests/test_book_pipeline.py checks that every declared name has one)."""


ModelSets = list[tuple[str, dict[str, Any]]]


def _reproducibility_sets(v: Mapping[str, Any]) -> ModelSets:
    short = {"duration_ms": v["short_duration_ms"], "burn_in_ms": v["short_burn_in_ms"]}
    where = "its short runs (short_duration_ms, short_burn_in_ms)"
    return ([("its full-length runs", {"duration_ms": v["duration_ms"],
                                       "burn_in_ms": v["burn_in_ms"]}),
             (f"{where} with the reference script's numerics",
              {**short, "dt_ms": 1.0, "integration": "reference_script"})]
            + [(f"{where} at dt_ms = {dt:g} (dt_values_ms, fine_dt_ms)", {**short, "dt_ms": dt})
               for dt in [*v["dt_values_ms"], v["fine_dt_ms"]]])


def _parameters_page_sets(v: Mapping[str, Any]) -> ModelSets:
    return [(f"its run with I_b_spread_mV = {s:g} (spreads_mV)",
             {"I_b_spread_mV": s, "duration_ms": v["duration_ms"], "burn_in_ms": v["burn_in_ms"]})
            for s in v["spreads_mV"]]


def _instructor_sets(v: Mapping[str, Any]) -> ModelSets:
    durations = {"duration_ms": v["duration_ms"], "burn_in_ms": v["burn_in_ms"]}
    return [(f"its runs at {name} = {value:g} ({list_name})", {**durations, name: value})
            for list_name, name in (("sweep_tau_rec_ms", "EE_tau_rec_ms"),
                                    ("sweep_I_b_spread_mV", "I_b_spread_mV"),
                                    ("sweep_EE_U", "EE_U"))
            for value in v[list_name]]


def _exploration_sets(v: Mapping[str, Any]) -> ModelSets:
    # The sizes go up to tens of thousands of neurons: each must fit in memory.
    # The notebook builds them with the same function.
    from tum2000.sweeps.grid import fixed_in_degree_axis

    published = notebook_parameters("default")
    in_degree = published["p_connect"] * published.N
    sizes = []
    for key in ("size_values", "scaling_sizes"):
        axis = fixed_in_degree_axis(v[key], in_degree)
        sizes += [(f"its network of N = {n} at a fixed in-degree ({key})",
                   {name: values[i] for name, values in axis.items()})
                  for i, n in enumerate(v[key])]
    dense = [(f"its network of N = {n} at p = 0.1 (dense_sizes)",
              {"N_exc": round(0.8 * n), "N_inh": n - round(0.8 * n)}) for n in v["dense_sizes"]]
    spreads = [(f"its run at I_b_spread_mV = {w:g} (spread_values_mV, spread_durations_ms)",
                {"I_b_spread_mV": w, "duration_ms": d})
               for w, d in zip(v["spread_values_mV"], v["spread_durations_ms"])]
    return sizes + dense + spreads


MODEL_SETS: dict[str, Callable[[Mapping[str, Any]], ModelSets]] = {
    "reproducibility": _reproducibility_sets,
    "parameters": _parameters_page_sets,
    "exploration": _exploration_sets,
    "instructor": _instructor_sets,
}
"""The model parameter sets a notebook builds from its values, each with a
description for error messages (changes to the ``default`` preset). A notebook
not listed builds one set: its parameters that are model parameters. Each set
must be consistent and fit in memory."""


# --- declared parameters ---------------------------------------------------------------

def declared_parameters(notebook: str | os.PathLike,
                        root: str | os.PathLike | None = None) -> Declared:
    """``{name: (type, default, help)}`` from the notebook's ``parameters`` cell.

    The type is the annotation (``int``, ``float``, ``str``, ``bool``,
    ``list``; None if absent or another one), the default is the literal
    value, the help is the comment after it.
    """
    import papermill

    inferred = papermill.inspect_notebook(str(find_notebook(notebook, root)))
    declared: Declared = {}
    for name, p in inferred.items():
        try:
            default = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            default = p["default"]
        type_name = str(p["inferred_type_name"] or "").split("[")[0]
        declared[name] = (KINDS.get(type_name), default, p["help"])
    return declared


def check_value(name: str, value: Any, kind: type | None) -> Any:
    """One notebook parameter converted to its declared type and checked."""
    if name in SPECS:
        return SPECS[name].coerce(value)
    if name in NOTEBOOK_RULES:
        return NOTEBOOK_RULES[name](name, value)
    return coerce(name, value, kind)


def check_combinations(stem: str, values: Mapping[str, Any]) -> None:
    """Every model parameter set the notebook builds: consistent, and fits in memory."""
    from tum2000.model.memory import check_memory

    if stem in MODEL_SETS:
        sets = MODEL_SETS[stem](values)
    else:
        sets = [("", {k: v for k, v in values.items() if k in SPECS})]
    for where, changes in sets:
        try:
            check_memory(notebook_parameters(values.get("preset", "default"), **changes))
        except BadInput as err:
            raise type(err)(f"notebook {stem}{', ' + where if where else ''}: {err}") from None


def check_parameters(notebook: str | os.PathLike, parameters: Mapping[str, Any] | None,
                     root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The given parameters converted and checked (see the module's docstring).

    Returns only the given names (papermill injects those); the combinations
    are checked with the notebook's defaults for the names not given.
    """
    path = find_notebook(notebook, root)
    declared = declared_parameters(path)
    converted: dict[str, Any] = {}
    for name, value in (parameters or {}).items():
        if name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ParameterError(
                f"notebook {path.stem} does not declare parameter {name!r}{hint} "
                f"(declared: {', '.join(declared) or 'none'})")
        try:
            converted[name] = check_value(name, value, declared[name][0])
        except ParameterError as err:
            raise ParameterError(f"notebook {path.stem}: {err}") from None
    everything = {name: default for name, (_, default, _) in declared.items()}
    everything.update(converted)
    check_combinations(path.stem, everything)
    return converted


# --- parameter files and the plan of a build -----------------------------------------------

def read_parameter_file(path: str | os.PathLike | None) -> dict[str, Any]:
    """A YAML or JSON mapping: notebook stem -> {name: value}, or name -> value."""
    if path is None:
        return {}
    import yaml

    path = Path(path)
    if path.suffix.lower() not in (".yml", ".yaml", ".json"):
        raise BadInput(f"parameter file {path}: unknown format {path.suffix or '(no suffix)'!r} "
                       "(allowed: .yml, .yaml, .json)")
    if path.is_dir():
        raise BadInput(f"parameter file {path} is a folder, expected a YAML or JSON file")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BadInput(f"parameter file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"cannot read parameter file {path}: "
                       f"{getattr(err, 'strerror', None) or err}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise BadInput(f"parameter file {path} is not valid "
                       f"{'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                       f"{str(err).splitlines()[0]}") from None
    if not isinstance(data, dict) or not data:
        got = ("nothing (an empty file)" if data is None else "an empty mapping"
               if data == {} else f"a {type(data).__name__}")
        raise BadInput(f"parameter file {path} must be a mapping of name: value "
                       f"(or notebook: {{name: value}}) with at least one value, got {got}")
    return data


def plan(parameter_sets: Mapping[str, Any] | None = None, quick: bool = False,
         root: str | os.PathLike | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Each notebook with its checked parameters; nothing is executed.

    A key naming a notebook (its stem) maps to that notebook's parameters; any
    other key is a global parameter given to every notebook that declares it
    and must be declared by at least one. ``quick`` adds the ``quick`` preset's
    short durations as global parameters (the file's values win).
    """
    notebooks = source_notebooks(root)
    stems = {nb.stem for nb in notebooks}
    given = dict(parameter_sets or {})
    per_notebook = {k: v for k, v in given.items() if k in stems}
    for stem, values in per_notebook.items():
        if not isinstance(values, dict):
            raise ParameterError(f"parameters of notebook {stem} must be a mapping of "
                                 f"name: value, got {values!r}")
    global_values = {**(QUICK if quick else {}),
                     **{k: v for k, v in given.items() if k not in stems}}
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    everywhere = set().union(*map(set, declared.values())) if declared else set()
    for name, value in global_values.items():
        if name not in everywhere and name not in QUICK:
            close = difflib.get_close_matches(name, sorted(everywhere | stems), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            if isinstance(value, dict):
                raise ParameterError(f"no notebook named {name!r}{hint} "
                                     f"(notebooks: {', '.join(sorted(stems))})")
            raise ParameterError(f"no notebook declares parameter {name!r}{hint} "
                                 f"(notebooks: {', '.join(sorted(stems))})")
    result = []
    for nb in notebooks:
        values = {k: v for k, v in global_values.items() if k in declared[nb]}
        values.update(per_notebook.get(nb.stem, {}))
        result.append((nb, check_parameters(nb, values)))
    return result
