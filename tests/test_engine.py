"""The standalone engine: the numpy target's results, reused across runs, safe to stop."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import tum2000
from tum2000 import config
from tum2000.model import engine
from tum2000.model.network import draw_network

QUICK = dict(burn_in_ms=100.0, duration_ms=500.0)

needs_engine = pytest.mark.skipif(
    not engine.compiler_available() and engine.find(engine.spec_for(
        tum2000.preset("default"), draw_network(tum2000.preset("default"), 1).n_synapses))
    is None, reason="no C++ compiler and no prebuilt engine")


def test_slots_are_buckets_that_hold_the_request():
    sizes = [engine.slots(n) for n in (1, 7, 500, 501, 25_000, 2_500_000)]
    assert sizes == sorted(sizes)
    for n, size in zip((1, 7, 500, 501, 25_000, 2_500_000), sizes):
        assert size >= n and size % 8 == 0 and size <= max(8, 1.1 * n)
    # Every seed of the default network fits one engine.
    params = tum2000.preset("default")
    counts = [draw_network(params, seed).n_synapses for seed in range(1, 6)]
    assert len({engine.spec_for(params, c)["key"] for c in counts}) == 1


@needs_engine
def test_engine_gives_the_numpy_targets_dataset():
    params = tum2000.preset("default", **QUICK)
    on_numpy = tum2000.simulate(params, seed=11, target="numpy")
    on_engine = tum2000.simulate(params, seed=11, target="engine")
    assert on_engine.sizes["spike"] > 1000
    xr.testing.assert_identical(on_engine, on_numpy)


FINAL_STATE_ATOL = 8.9e-16
"""Largest difference allowed between the engine's final synaptic state and the
numpy target's on a processor where NumPy's exp is its own SIMD kernel: 4 x the
largest difference measured (2.2e-16, one ulp of 1, in 689 of 25,270 synapses on
an AMD EPYC with AVX-512; x is computed as 1 - w, so its error is absolute)."""

FINAL_STATE_RUN = """
import json
import numpy as np
import tum2000
from tum2000.model import engine
from tum2000.model.brian_model import run_network
from tum2000.model.network import draw_network

params = tum2000.preset("reference_script", burn_in_ms=100.0, duration_ms=400.0)
net = draw_network(params, 4)
a, b = run_network(params, net, "numpy"), engine.run(params, net, final_state=True)
fields = ("spike_step", "spike_neuron", "final_x", "final_y", "final_u", "final_t_last_ms")
print(json.dumps({f: [bool(np.array_equal(getattr(a, f), getattr(b, f))),
                      float(np.max(np.abs(getattr(a, f) - getattr(b, f))))] for f in fields}))
"""


@needs_engine
def test_engine_gives_the_numpy_targets_spikes_and_final_synaptic_state():
    # Here the numpy target's exp may be NumPy's SIMD kernel and the engine's the
    # C library's: the spikes are the same, the synaptic state within FINAL_STATE_ATOL.
    from tum2000.model.brian_model import run_network

    params = tum2000.preset("reference_script", burn_in_ms=100.0, duration_ms=400.0)
    net = draw_network(params, 4)
    a, b = run_network(params, net, "numpy"), engine.run(params, net, final_state=True)
    for field in ("spike_step", "spike_neuron", "final_t_last_ms"):
        np.testing.assert_array_equal(getattr(b, field), getattr(a, field), err_msg=field)
    for field in ("final_x", "final_y", "final_u"):
        np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=0,
                                   atol=FINAL_STATE_ATOL, err_msg=field)


@needs_engine
def test_engine_and_numpy_target_agree_bit_for_bit_where_both_use_the_c_librarys_exp():
    # Under an emulated processor without NumPy's SIMD kernels (and with glibc's
    # plain exp), both targets compute every exponential with the same function.
    from emulation import run_emulated

    done = run_emulated(FINAL_STATE_RUN, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(same for same, _ in result.values()), result


@needs_engine
def test_concurrent_runs_do_not_share_files():
    params = tum2000.preset("default", **QUICK)
    nets = [draw_network(params, seed) for seed in (1, 2, 3, 4)]
    alone = [engine.run(params, net) for net in nets]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda net: engine.run(params, net), nets))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a.spike_step, b.spike_step)
        np.testing.assert_array_equal(a.spike_neuron, b.spike_neuron)


@needs_engine
def test_a_cut_short_run_is_an_error(tmp_path, monkeypatch):
    params = tum2000.preset("default", **QUICK)
    net = draw_network(params, 1)
    built = engine.build(engine.spec_for(params, net.n_synapses))
    args = engine.write_inputs(built, tmp_path, params, net)
    # Ask the program for fewer steps than the parameters say.
    np.array([100.0]).tofile(tmp_path / "inputs" / "control.end_step")
    engine.run_program(built, tmp_path, args)
    with pytest.raises(engine.EngineRunError, match="stopped at step 100 of 6000"):
        engine.read_results(built, tmp_path, params, net)


@pytest.mark.slow
def test_a_reused_engine_gives_what_a_fresh_one_gives(tmp_path, monkeypatch):
    """Two seeds and two parameter sets through the engine this installation has
    used before, then through one built from scratch: identical datasets."""
    variants = [tum2000.preset("default", **QUICK),
                tum2000.preset("default", I_b_spread_mV=0.75, EE_U=0.4, dt_ms=0.05,
                               burn_in_ms=150.0, duration_ms=300.0)]
    jobs = [(p, seed) for p in variants for seed in (5, 6)]
    reused = [tum2000.simulate(p, seed, target="engine") for p, seed in jobs]
    monkeypatch.setenv(config.ENGINE_VAR, str(tmp_path / "fresh"))
    monkeypatch.setattr(engine, "_loaded", {})
    fresh = [tum2000.simulate(p, seed, target="engine") for p, seed in jobs]
    assert len(list((tmp_path / "fresh").glob("n*-s*"))) == 1  # one build served all four
    for a, b in zip(reused, fresh):
        xr.testing.assert_identical(a, b)
    assert not (reused[0]["spike_time"].size == reused[1]["spike_time"].size
                and np.array_equal(reused[0]["spike_time"], reused[1]["spike_time"]))


FALLBACK = textwrap.dedent("""
    import sys, tum2000
    from tum2000.model import engine
    from tum2000.model.engine import replay as replay_native
    assert not engine.compiler_available() and replay_native.compiler() is None
    params = tum2000.preset("default", burn_in_ms=100.0, duration_ms=300.0)
    tum2000.save(tum2000.simulate(params, seed=3, progress=True), sys.argv[1])
    assert replay_native.load() is None
""")


def test_without_a_compiler_numpy_gives_the_same_dataset(tmp_path):
    """No compiler on PATH and no engine built: the default target falls back to
    Brian2's numpy target and the NumPy replay, with the same result."""
    out = tmp_path / "fallback.nc"
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), config.ENGINE_VAR: str(tmp_path / "engines"),
           "CC": "", "CXX": ""}
    done = subprocess.run([sys.executable, "-c", FALLBACK, str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "numpy target" in done.stderr
    assert not (tmp_path / "engines").exists() or not any((tmp_path / "engines").iterdir())
    expected = tum2000.simulate(tum2000.preset("default", burn_in_ms=100.0, duration_ms=300.0),
                                seed=3)
    assert tum2000.save(expected, tmp_path / "here.nc").read_bytes() == out.read_bytes()


INTERRUPTED = textwrap.dedent("""
    import sys, tum2000
    params = tum2000.preset("default", burn_in_ms=0.0, duration_ms=200000.0)
    print("started", flush=True)
    tum2000.simulate(params, seed=1, target="engine", progress=True)
""")


def _engine_processes(program: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "exe")) == program:
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


@needs_engine
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stopping_kills_the_engine_and_leaves_nothing(tmp_path, signum):
    params = tum2000.preset("default", burn_in_ms=0.0, duration_ms=200000.0)
    program = engine.build(engine.spec_for(params, draw_network(params, 1).n_synapses)).program
    before = set(_engine_processes(program.resolve()))
    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED],
                             env={**os.environ, "TMPDIR": str(tmp_path)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("tum2000_run_*/results")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the engine is running
    assert set(_engine_processes(program.resolve())) - before
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert not list(tmp_path.glob("tum2000_run_*"))
    deadline = time.monotonic() + 10
    while set(_engine_processes(program.resolve())) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(_engine_processes(program.resolve())) - before
