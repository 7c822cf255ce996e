"""Every constant of the Tsodyks, Uziel & Markram (2000) network, in one place.

Each parameter is declared once, in :data:`SPECS`, with its unit (in the name:
``_ms``, ``_mV``), the source of its value, its valid range and a one-line
explanation. Everything else (validation, the command line, the book's
parameter table, notebook parameters) is generated from these declarations.

Sources
-------
``paper``
    Tsodyks, Uziel & Markram (2000), J Neurosci 20:RC50, Fig. 1 and Methods.
``reference script``
    The Brian2 example reproducing Fig. 1 (Schmitt 2022, after Helias' NEST
    example of 2006), where it fills in or changes a value.
``our choice``
    A numerical or bookkeeping choice of this project, explained in the book.

Pathways are named source-then-target: ``EI`` is excitatory -> inhibitory.
Synapses onto excitatory neurons (EE, IE) depress; synapses onto inhibitory
neurons (EI, II) also facilitate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from tum2000.errors import ParameterError
from tum2000.model.values import coerce, parse_assignment as _split_assignment

PATHWAYS: tuple[str, ...] = ("EE", "EI", "IE", "II")
"""Synaptic pathways, source population first (E = excitatory, I = inhibitory)."""

INTEGRATION_SCHEMES: tuple[str, ...] = ("exact", "reference_script")

SEED_LIMIT = 2**31
"""Seeds are integers in ``[0, SEED_LIMIT)``. NumPy's ``SeedSequence``
(:mod:`tum2000.model.network`, every random draw; Brian2 is never seeded)
accepts any integer >= 0, but the narrowest place a seed is stored is a
sweep result (classic netCDF, ``tum2000.sweeps.run.save_sweep``), whose
integers are 32-bit signed: a seed of 2**31 or more fails only when the
finished sweep is written. One bound for every entry point keeps a seed that
works in ``simulate`` usable in a sweep."""


def _bound(value: float | None) -> str:
    """A range bound as a reader writes it: 1000000, not 1e+06; 0.001 stays 0.001."""
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


@dataclass(frozen=True)
class Spec:
    """Declaration of one model parameter.

    ``kind`` is one of ``float``, ``int``, ``bool``, ``str``; ``low``/``high``
    bound numbers (``None``: unbounded), ``low_open`` excludes ``low`` itself;
    ``choices`` lists the allowed strings; ``nullable`` allows ``None``.
    """

    name: str
    default: Any
    unit: str
    source: str
    doc: str
    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    nullable: bool = False

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.kind is bool:
            text = "true or false"
        elif self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            kind = "an integer" if self.kind is int else "a number"
            low, high = _bound(self.low), _bound(self.high)
            if self.low is not None and self.high is not None:
                left = "(" if self.low_open else "["
                text = f"{kind} in {left}{low}, {high}]"
            elif self.low is not None:
                text = f"{kind} {'>' if self.low_open else '>='} {low}"
            elif self.high is not None:
                text = f"{kind} <= {high}"
            else:
                text = f"a finite {kind[2:] if kind.startswith('a ') else kind}"
        if self.nullable:
            text += " or null"
        return text + (f" ({self.unit})" if self.unit else "")

    def coerce(self, value: Any) -> Any:
        """Convert ``value`` (possibly a command-line string) and check it
        (:func:`tum2000.model.values.coerce`, then the range or the choices)."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            if self.nullable:
                return None
            raise ParameterError(f"{self.name} must be {self.allowed()}, got {value!r}")
        value_in = value
        value = coerce(self.name, value, self.kind, allowed=self.allowed())
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"{self.name} must be {self.allowed()}, got {value_in!r}")
        if self.kind in (int, float):
            too_low = self.low is not None and (
                value <= self.low if self.low_open else value < self.low
            )
            too_high = self.high is not None and value > self.high
            if too_low or too_high:
                raise ParameterError(f"{self.name} must be {self.allowed()}, got {value_in!r}")
        return value


def _pathway_specs() -> list[Spec]:
    """A, U (mean and truncation bounds), tau_rec, tau_facil, tau_I per pathway."""
    # Values of the reference script (its get_synapses calls); the paper's
    # Methods give the same means.
    table = {
        #      A (mV)  U     U_min  U_max  tau_rec tau_facil
        "EE": (1.8, 0.5, 0.1, 0.9, 800.0, None),
        "EI": (7.2, 0.04, 0.001, 0.07, 100.0, 1000.0),
        "IE": (-5.4, 0.5, 0.1, 0.9, 800.0, None),
        "II": (-7.2, 0.04, 0.001, 0.07, 100.0, 1000.0),
    }
    specs: list[Spec] = []
    for pathway, (a, u, u_min, u_max, tau_rec, tau_facil) in table.items():
        source, target = pathway
        sign = "excitatory" if source == "E" else "inhibitory"
        specs += [
            Spec(f"{pathway}_A_mV", a, "mV", "paper",
                 f"mean absolute strength of {pathway} synapses ({sign}: "
                 f"{'positive' if source == 'E' else 'negative'})",
                 low=0.0 if source == "E" else -1000.0,
                 high=1000.0 if source == "E" else 0.0),
            Spec(f"{pathway}_U", u, "", "paper",
                 f"mean utilization of synaptic efficacy, {pathway}", low=0.0, high=1.0,
                 low_open=True),
            Spec(f"{pathway}_U_min", u_min, "", "paper",
                 f"lower truncation bound of U, {pathway}", low=0.0, high=1.0),
            Spec(f"{pathway}_U_max", u_max, "", "paper",
                 f"upper truncation bound of U, {pathway}", low=0.0, high=1.0,
                 low_open=True),
            Spec(f"{pathway}_tau_rec_ms", tau_rec, "ms", "paper",
                 f"mean recovery time constant of {pathway} synapses",
                 low=0.0, high=1e6, low_open=True),
            Spec(f"{pathway}_tau_facil_ms", tau_facil, "ms", "paper",
                 f"mean facilitation time constant of {pathway} synapses "
                 "(null: the pathway does not facilitate, u stays at U)",
                 low=0.0, high=1e6, low_open=True, nullable=True),
            Spec(f"{pathway}_tau_I_ms", 3.0, "ms", "paper",
                 f"decay time constant of the active state y (the synaptic "
                 f"current), {pathway}", low=0.0, high=1000.0, low_open=True),
        ]
    return specs


SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in [
        # --- network -------------------------------------------------------
        Spec("N_exc", 400, "", "paper", "number of excitatory neurons",
             kind=int, low=1, high=1_000_000),
        Spec("N_inh", 100, "", "paper", "number of inhibitory neurons",
             kind=int, low=1, high=1_000_000),
        Spec("p_connect", 0.1, "", "paper",
             "probability that a given ordered pair of neurons is connected",
             low=0.0, high=1.0, low_open=True),
        Spec("allow_autapses", True, "", "reference script",
             "whether a neuron may connect to itself (the reference script's "
             "connect(p=0.1) allows it)", kind=bool),
        # --- neurons -------------------------------------------------------
        Spec("tau_mem_ms", 30.0, "ms", "paper", "membrane time constant",
             low=0.0, high=1e4, low_open=True),
        Spec("v_thresh_mV", 15.0, "mV", "paper", "firing threshold",
             low=-1000.0, high=1000.0),
        Spec("v_reset_mV", 13.5, "mV", "paper", "reset potential after a spike",
             low=-1000.0, high=1000.0),
        Spec("tau_ref_exc_ms", 3.0, "ms", "paper",
             "absolute refractory period of excitatory neurons", low=0.0, high=1000.0),
        Spec("tau_ref_inh_ms", 2.0, "ms", "paper",
             "absolute refractory period of inhibitory neurons", low=0.0, high=1000.0),
        Spec("I_b_center_mV", 15.0, "mV", "paper",
             "centre of the uniform distribution of background inputs I_b "
             "(at threshold)", low=-1000.0, high=1000.0),
        Spec("I_b_spread_mV", 1.0, "mV", "reference script",
             "full width of the uniform distribution of I_b (paper: 0.05 mV "
             "as reported by the reference script; NEST and ANNarchy ports: "
             "0.75 mV)", low=0.0, high=100.0),
        Spec("v_init_min_mV", 0.0, "mV", "reference script",
             "lower bound of the uniform initial membrane potential", low=-1000.0,
             high=1000.0),
        Spec("v_init_max_mV", 0.0, "mV", "reference script",
             "upper bound of the uniform initial membrane potential", low=-1000.0,
             high=1000.0),
        Spec("v_init_seed", None, "", "our choice",
             "seed of the initial membrane potentials alone (null: drawn from the "
             "network's seed, as always); with it, one wiring can start from many "
             "initial states. It matters only when v_init_min_mV < v_init_max_mV",
             kind=int, low=0, high=SEED_LIMIT - 1, nullable=True),
        # --- synapses ------------------------------------------------------
        *_pathway_specs(),
        Spec("A_sd_fraction", 0.5, "", "paper",
             "standard deviation of A as a fraction of its mean", low=0.0, high=10.0),
        Spec("A_min_fraction", 0.2, "", "reference script",
             "lower truncation bound of A as a fraction of its mean", low=0.0, high=1.0),
        Spec("A_max_fraction", 2.0, "", "reference script",
             "upper truncation bound of A as a fraction of its mean", low=1.0, high=100.0),
        Spec("U_sd_fraction", 0.5, "", "paper",
             "standard deviation of U as a fraction of its mean", low=0.0, high=10.0),
        Spec("tau_sd_fraction", 0.5, "", "paper",
             "standard deviation of tau_rec and tau_facil as a fraction of their mean",
             low=0.0, high=10.0),
        Spec("tau_min_ms", 5.0, "ms", "reference script",
             "lower truncation bound of tau_rec and tau_facil", low=0.0, high=1e5,
             low_open=True),
        # --- stimulus ------------------------------------------------------
        Spec("stim_amplitude_mV", 0.0, "mV", "our choice",
             "input added to the background input I_b of every excitatory neuron "
             "while a pulse is on (0: no stimulus)", low=-100.0, high=100.0),
        Spec("stim_duration_ms", 1.0, "ms", "our choice",
             "length of each pulse (a whole multiple of dt_ms)", low=0.0, high=1000.0,
             low_open=True),
        Spec("stim_start_ms", 0.0, "ms", "our choice",
             "onset of the first pulse, from the start of the recording (the "
             "dataset's time axis; negative: inside the burn-in)", low=-1e7, high=1e7),
        Spec("stim_interval_ms", None, "ms", "our choice",
             "period of a pulse train, onset to onset, longer than a pulse "
             "(null: one pulse)", low=0.0, high=1e7, low_open=True, nullable=True),
        # --- numerics and recording ---------------------------------------
        Spec("integration", "exact", "", "our choice",
             "'exact': membrane and synaptic current integrated exactly over each "
             "step; 'reference_script': the summed synaptic input held constant "
             "over each step, as in the reference script", kind=str,
             choices=INTEGRATION_SCHEMES),
        Spec("dt_ms", 0.1, "ms", "our choice",
             "simulation time step (reference script: 1 ms)", low=0.001, high=1.0),
        Spec("burn_in_ms", 900.0, "ms", "reference script",
             "simulated time before recording starts, for the network to settle",
             low=0.0, high=1e7),
        Spec("duration_ms", 4200.0, "ms", "paper",
             "recorded time (Fig. 1 shows 4200 ms)", low=0.0, high=1e7, low_open=True),
        Spec("record_dt_ms", 1.0, "ms", "reference script",
             "sampling interval of the recorded mean synaptic variables",
             low=0.001, high=1000.0),
    ]
}

PRESET_CHANGES: dict[str, dict[str, Any]] = {
    # The reference script's parameter values with converged numerics.
    "default": {},
    # The same values with the reference script's own numerics.
    "reference_script": {"dt_ms": 1.0, "integration": "reference_script"},
    # A short, cheap run for tests and notebook smoke tests (often without a
    # population spike: the book's pages must hold up on it).
    "quick": {"burn_in_ms": 300.0, "duration_ms": 1200.0},
    # A laptop-sized run that still shows population spikes without a compiler
    # (Brian2's numpy target; benchmarks/classroom.py times the book's pages with
    # it). The NEST and ANNarchy ports' background spread (0.75 mV) makes
    # population spikes about three times as frequent as the reference script's
    # 1 mV, so 2.5 s of recording hold 1 to 3 of them for each of seeds 1-8
    # (measured: 3, 2, 2, 2, 2, 1, 1, 1; at least 2, hence a recovery to fit,
    # for seeds 1-4, those the book uses; tests/test_presets.py checks them).
    # Their time step, 0.25 ms, costs 2.5 times fewer steps than 0.1 ms on the
    # numpy target, whose cost is per step. With exact integration the change
    # is well inside the scatter over networks: over seeds 1-8 (3 s recordings)
    # the means of the excitatory and inhibitory rates, mean x and PS count
    # moved by +0.05 Hz, +0.10 Hz, 0.000 and 0 against 0.1 ms, where the seeds
    # scatter by s.d. 0.37 Hz, 0.64 Hz, 0.026 and 0.8. The 500 ms burn-in leaves
    # out the synchronous start (every membrane starts at 0 mV): with 300 ms,
    # seeds 3 and 4 fire an event within the first 71 ms of the recording.
    "classroom": {"I_b_spread_mV": 0.75, "burn_in_ms": 500.0, "duration_ms": 2500.0,
                  "dt_ms": 0.25},
}
PRESETS: tuple[str, ...] = tuple(PRESET_CHANGES)

PRESET_PURPOSES: dict[str, str] = {
    "default": "the published book: the reference script's values, converged numerics",
    "reference_script": "the reference script's own numerics (dt = 1 ms, input held over "
                        "each step), for comparison",
    "quick": "smoke tests: a short run, often without any population spike",
    "classroom": "laptops without a compiler: a 2.5 s recording with the NEST/ANNarchy "
                 "background spread (0.75 mV) and time step (0.25 ms), which still "
                 "shows population spikes",
}
"""What each preset is for, in one line (the book's tables quote it)."""


def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-9 * max(1.0, abs(ratio))


class Parameters(Mapping[str, Any]):
    """A complete, validated, immutable set of model parameters.

    Build one with :func:`preset`, :meth:`from_dict` or :meth:`from_json`;
    derive another with :meth:`replace`. Access values as ``params["dt_ms"]``.
    """

    def __init__(self, values: Mapping[str, Any] | None = None, **changes: Any):
        merged = {name: spec.default for name, spec in SPECS.items()}
        given = {**(values or {}), **changes}
        unknown = sorted(set(given) - set(SPECS))
        if unknown:
            raise ParameterError(_unknown_message(unknown[0]))
        for name, value in given.items():
            merged[name] = SPECS[name].coerce(value)
        _check_consistency(merged)
        self._values = merged

    # Mapping interface -----------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise ParameterError(_unknown_message(name)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != SPECS[k].default}
        return f"Parameters({changed!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameters) and self._values == other._values

    def __hash__(self) -> int:
        return hash(self.to_json())

    # Derivation and serialization -----------------------------------------
    def replace(self, **changes: Any) -> "Parameters":
        """A copy with some values changed (validated again)."""
        return Parameters({**self._values, **changes})

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal parameters give equal text."""
        return json.dumps(self._values, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Parameters":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ParameterError(f"parameters are not valid JSON: {err}") from None
        if not isinstance(values, dict):
            raise ParameterError("parameters JSON must be an object of name: value")
        return cls(values)

    def differences(self, other: "Parameters") -> dict[str, tuple[Any, Any]]:
        """Names whose values differ, with (self, other) values."""
        return {k: (v, other[k]) for k, v in self._values.items() if other[k] != v}

    # Derived quantities ------------------------------------------------------
    @property
    def N(self) -> int:
        """Total number of neurons."""
        return self["N_exc"] + self["N_inh"]

    def facilitating(self, pathway: str) -> bool:
        """True when ``pathway``'s synapses facilitate (tau_facil is not null)."""
        return self[f"{pathway}_tau_facil_ms"] is not None

    def steps(self, name: str) -> int:
        """A duration parameter (``*_ms``) in whole time steps."""
        return int(round(self[name] / self["dt_ms"]))


def _unknown_message(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, SPECS, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return (f"unknown parameter {name!r}{hint} "
            f"(allowed: {', '.join(SPECS)})")


def _check_consistency(v: Mapping[str, Any]) -> None:
    """Relations between parameters that single ranges cannot express."""
    if v["v_reset_mV"] >= v["v_thresh_mV"]:
        raise ParameterError(
            f"v_reset_mV must be below v_thresh_mV ({v['v_thresh_mV']:g} mV), "
            f"got {v['v_reset_mV']:g}")
    if v["v_init_min_mV"] > v["v_init_max_mV"]:
        raise ParameterError("v_init_min_mV must be <= v_init_max_mV, got "
                             f"{v['v_init_min_mV']:g} > {v['v_init_max_mV']:g}")
    dt = v["dt_ms"]
    for name in ("burn_in_ms", "duration_ms", "record_dt_ms"):
        if not _is_multiple(v[name], dt):
            raise ParameterError(
                f"{name} must be a whole multiple of dt_ms ({dt:g} ms), got {v[name]:g}")
    for name in ("stim_start_ms", "stim_duration_ms", "stim_interval_ms"):
        if v[name] is not None and not _is_multiple(v[name], dt):
            raise ParameterError(
                f"{name} must be a whole multiple of dt_ms ({dt:g} ms), got {v[name]:g}")
    if v["stim_start_ms"] < -v["burn_in_ms"]:
        raise ParameterError(
            "stim_start_ms must be >= -burn_in_ms (the simulation starts at "
            f"{-v['burn_in_ms']:g} ms), got {v['stim_start_ms']:g}")
    if v["stim_interval_ms"] is not None and v["stim_interval_ms"] <= v["stim_duration_ms"]:
        raise ParameterError(
            "stim_interval_ms must exceed stim_duration_ms "
            f"({v['stim_duration_ms']:g} ms), got {v['stim_interval_ms']:g}")
    for name in ("burn_in_ms", "duration_ms"):
        if not _is_multiple(v[name], v["record_dt_ms"]):
            raise ParameterError(
                f"{name} must be a whole multiple of record_dt_ms "
                f"({v['record_dt_ms']:g} ms), got {v[name]:g}")
    for pathway in PATHWAYS:
        lo, mean, hi = (v[f"{pathway}_U_min"], v[f"{pathway}_U"], v[f"{pathway}_U_max"])
        if not lo <= mean <= hi:
            raise ParameterError(
                f"{pathway}_U must lie between {pathway}_U_min and {pathway}_U_max "
                f"([{lo:g}, {hi:g}]), got {mean:g}")
        tau_i = v[f"{pathway}_tau_I_ms"]
        if v["tau_min_ms"] <= tau_i:
            # The exact recovery solution divides by (tau_rec - tau_I).
            raise ParameterError(
                f"tau_min_ms must exceed every tau_I ({pathway}_tau_I_ms = {tau_i:g} ms), "
                f"got {v['tau_min_ms']:g}")
        for name in (f"{pathway}_tau_rec_ms", f"{pathway}_tau_facil_ms"):
            if v[name] is not None and v[name] <= v["tau_min_ms"]:
                raise ParameterError(
                    f"{name} must exceed tau_min_ms ({v['tau_min_ms']:g} ms), got {v[name]:g}")
        # The closed-form membrane propagator divides by (tau_mem - tau_I).
        if abs(tau_i - v["tau_mem_ms"]) < 1e-9:
            raise ParameterError(
                f"{pathway}_tau_I_ms must differ from tau_mem_ms ({v['tau_mem_ms']:g} ms)")


def preset(name: str = "default", **changes: Any) -> Parameters:
    """A named parameter set, optionally with some values changed.

    ``default``: the reference script's values with converged numerics;
    ``reference_script``: the same values with the script's dt = 1 ms and its
    discretization; ``quick``: ``default`` with a short burn-in and recording;
    ``classroom``: a 2.5 s recording after a 500 ms burn-in, with the 0.75 mV
    background spread and the 0.25 ms time step of the NEST and ANNarchy ports (see :data:`PRESET_PURPOSES`).
    """
    if name not in PRESET_CHANGES:
        raise ParameterError(f"unknown preset {name!r} (allowed: {', '.join(PRESETS)})")
    return Parameters({**PRESET_CHANGES[name], **changes})


def notebook_parameters(preset_name: str = "default", **values: Any) -> Parameters:
    """The model parameters of a book notebook: preset ``preset_name`` with the
    notebook's own values as changes.

    A notebook declares each model parameter it exposes with the published
    book's (the ``default`` preset's) value. A value equal to that default
    means "not changed", so the preset decides it; any other value (given with
    ``--set``, a parameter file or ``--quick``) overrides the preset. So
    ``tum2000 run panel_a_raster --set preset=classroom`` runs the classroom
    preset, and ``--set preset=classroom --set seed=2 --set EE_U=0.4`` changes
    U on top of it. (To combine a preset with the published value of a
    parameter it changes, choose the ``default`` preset and set the others.)
    """
    base = preset(preset_name)
    published = preset("default")
    changes = {}
    for name, value in values.items():
        if name not in SPECS:
            raise ParameterError(_unknown_message(name))
        if SPECS[name].coerce(value) != published[name]:
            changes[name] = value
    return base.replace(**changes)


def check_seed(value: Any, name: str = "seed") -> int:
    """``value`` (an integer, or its digits) as a seed in ``[0, SEED_LIMIT)``,
    exactly (:func:`tum2000.model.values.coerce`: no float round trip; a float
    beyond 2**53 or not integral is refused); :class:`ParameterError` otherwise."""
    allowed = f"an integer in [0, {SEED_LIMIT - 1}]"
    seed = coerce(name, value, int, allowed=allowed)
    if not 0 <= seed < SEED_LIMIT:
        raise ParameterError(f"{name} must be {allowed}, got {value!r}")
    return seed


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a command-line ``NAME=VALUE`` into its name and raw value."""
    name, value = _split_assignment(text)
    if name not in SPECS:
        raise ParameterError(_unknown_message(name))
    return name, value


def parameter_table() -> list[dict[str, str]]:
    """Rows (name, default, unit, source, allowed, meaning) for the book's table."""
    rows = []
    for spec in SPECS.values():
        default = "null" if spec.default is None else (
            str(spec.default).lower() if isinstance(spec.default, bool) else f"{spec.default:g}"
            if isinstance(spec.default, (int, float)) else spec.default)
        rows.append({"name": spec.name, "default": default, "unit": spec.unit,
                     "source": spec.source, "allowed": spec.allowed(), "meaning": spec.doc})
    return rows
