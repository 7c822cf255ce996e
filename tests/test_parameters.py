"""Parameters: one declaration per constant, validation that names the problem."""

import json

import pytest

import tum2000

from tum2000 import PATHWAYS, SPECS, ParameterError, Parameters, preset
from tum2000.model.parameters import parameter_table, parse_assignment


def test_every_spec_has_unit_source_and_doc():
    for spec in SPECS.values():
        assert spec.source in ("paper", "reference script", "our choice"), spec.name
        assert spec.doc, spec.name
        # Units live in the name (_ms, _mV) or in spec.unit, and agree.
        if spec.name.endswith("_ms"):
            assert spec.unit == "ms", spec.name
        if spec.name.endswith("_mV"):
            assert spec.unit == "mV", spec.name
        # Defaults satisfy their own ranges.
        assert spec.coerce(spec.default) == spec.default


def test_reference_script_values():
    """The default preset carries the reference script's model values."""
    p = preset("default")
    assert (p["N_exc"], p["N_inh"], p["p_connect"]) == (400, 100, 0.1)
    assert (p["tau_mem_ms"], p["v_thresh_mV"], p["v_reset_mV"]) == (30.0, 15.0, 13.5)
    assert (p["tau_ref_exc_ms"], p["tau_ref_inh_ms"]) == (3.0, 2.0)
    assert p["I_b_spread_mV"] == 1.0 and p["allow_autapses"] is True
    assert [p[f"{k}_A_mV"] for k in PATHWAYS] == [1.8, 7.2, -5.4, -7.2]
    assert [p.facilitating(k) for k in PATHWAYS] == [False, True, False, True]
    assert (p["burn_in_ms"], p["duration_ms"]) == (900.0, 4200.0)


def test_reference_script_preset_changes_only_numerics():
    diff = preset("default").differences(preset("reference_script"))
    assert set(diff) == {"dt_ms", "integration"}
    assert diff["dt_ms"][1] == 1.0


def test_json_round_trip():
    p = preset("default", I_b_spread_mV=0.75, EE_tau_facil_ms=500.0)
    text = p.to_json()
    assert Parameters.from_json(text) == p
    assert json.loads(text)["I_b_spread_mV"] == 0.75
    assert Parameters.from_json(text).to_json() == text


@pytest.mark.parametrize("name", ["I_b_sprad_mV", "tau_m", "dt"])
def test_unknown_name_is_named_with_suggestions(name):
    with pytest.raises(ParameterError) as err:
        preset("default", **{name: 1.0})
    message = str(err.value)
    assert repr(name) in message and "allowed:" in message


def test_misspelling_suggests_the_right_name():
    with pytest.raises(ParameterError, match="did you mean I_b_spread_mV"):
        Parameters(I_b_sprad_mV=0.5)


@pytest.mark.parametrize("name,value,allowed", [
    ("p_connect", 1.5, "in (0, 1]"),
    ("dt_ms", 0.0, "in [0.001, 1]"),
    ("N_exc", 2.5, "an integer"),
    ("EE_A_mV", -1.0, "in [0, 1000]"),
    ("IE_A_mV", 1.0, "in [-1000, 0]"),
    ("integration", "euler", "'exact', 'reference_script'"),
    ("allow_autapses", "maybe", "true or false"),
    ("EE_tau_rec_ms", None, "a number"),
    ("tau_mem_ms", float("nan"), "a number"),
])
def test_out_of_range_values_name_parameter_and_range(name, value, allowed):
    with pytest.raises(ParameterError) as err:
        preset("default", **{name: value})
    assert name in str(err.value) and allowed in str(err.value)


@pytest.mark.parametrize("changes,fragment", [
    ({"v_reset_mV": 16.0}, "v_reset_mV must be below v_thresh_mV"),
    ({"duration_ms": 100.05}, "duration_ms must be a whole multiple of dt_ms"),
    ({"EE_U": 0.95}, "EE_U must lie between"),
    ({"tau_min_ms": 2.0}, "tau_min_ms must exceed every tau_I"),
    ({"v_init_min_mV": 5.0}, "v_init_min_mV must be <= v_init_max_mV"),
])
def test_inconsistent_combinations_are_refused(changes, fragment):
    with pytest.raises(ParameterError, match=fragment):
        preset("default", **changes)


def test_command_line_strings_are_coerced():
    name, value = parse_assignment("N_exc=800")
    p = preset("default", **{name: value}, allow_autapses="false", EE_tau_facil_ms="null")
    assert p["N_exc"] == 800 and p["allow_autapses"] is False
    assert p["EE_tau_facil_ms"] is None
    with pytest.raises(ParameterError, match="expected NAME=VALUE"):
        parse_assignment("N_exc")


def test_unknown_preset():
    with pytest.raises(ParameterError, match="unknown preset 'fast'.*default"):
        preset("fast")


def test_parameter_table_covers_every_parameter():
    rows = parameter_table()
    assert [r["name"] for r in rows] == list(SPECS)
    assert {r["source"] for r in rows} == {"paper", "reference script", "our choice"}


# --- one coercion for every way a value comes in ----------------------------------------

@pytest.mark.parametrize("raw,typed", [("3", 3), ("3.0", 3), ("true", True), ("yes", True),
                                       ("0", False), ("[0.5, 1]", [0.5, 1]),
                                       ("0.5,1", [0.5, 1])])
def test_strings_and_typed_values_coerce_alike(raw, typed):
    from tum2000.model.values import coerce

    kind = type(typed)
    assert coerce("x", raw, kind) == coerce("x", typed, kind) == typed


@pytest.mark.parametrize("value,kind", [("three", int), ("2.5", int), ("nan", float),
                                        ("inf", float), (True, float), ("maybe", bool),
                                        ("0.5", list), (3, str)])
def test_values_that_do_not_fit_are_refused(value, kind):
    from tum2000.model.values import coerce

    with pytest.raises(tum2000.ParameterError):
        coerce("x", value, kind)


def test_set_notebook_parameters_and_files_share_the_parser():
    from tum2000.book.parameters import check_value
    from tum2000.model.values import parse_assignments

    assert parse_assignments(["a=1", "b = x=y "]) == {"a": "1", "b": "x=y"}
    # The same model parameter given as --set text, a YAML number, a notebook value.
    assert tum2000.SPECS["dt_ms"].coerce("0.25") == check_value("dt_ms", 0.25, float) == 0.25
    assert check_value("spreads_mV", "[0.5, 1]", list) == [0.5, 1.0]
    with pytest.raises(tum2000.ParameterError, match="each item of spreads_mV"):
        check_value("spreads_mV", [0.5, -1], list)
