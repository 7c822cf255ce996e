"""The compiled inner loop of the resource replay (:mod:`tum2000.model.resources`).

A few dozen lines of C, compiled on first use (``make setup`` does it) with
the system's C compiler into the engine store (:func:`tum2000.config.engine_dir`)
and loaded with :mod:`ctypes`. It performs exactly the floating-point
operations of the NumPy implementation in :mod:`~tum2000.model.resources`, in
the same order: every exponential is computed by NumPy and passed in, the
compiler may not contract ``a*b + c`` into a fused multiply-add
(``-ffp-contract=off``) nor reassociate (no ``-ffast-math``), and the pathway
sums add the synapses one after the other in index order, as
``numpy.add.accumulate`` does. So both give the same bits, and a machine
without a compiler computes the same dataset, only more slowly.

Work: (synapses x recording intervals) multiply-adds. Synapses of the same
presynaptic neuron share their spike times and are advanced in lockstep, so
the compiler can vectorize across them.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from tum2000 import config

C_SOURCE = r"""
#include <stdint.h>
#include <stdlib.h>

#define GROUP 64
/* w and y below TINY become 0 (see tum2000.model.resources.TINY). */
#define TINY 1e-200

/* sums[s] += rows[s * stride + m] for m = 0 .. g-1, one after the other, for
   every sample s; eight samples at a time, so that their (independent) chains
   of additions overlap in the processor. */
static void add_rows(int64_t n_samples, int64_t g, const double *rows, int64_t stride,
                     double *sums)
{
    int64_t s = 0;
    for (; s + 8 <= n_samples; s += 8) {
        double acc[8];
        for (int j = 0; j < 8; j++) acc[j] = sums[s + j];
        for (int64_t m = 0; m < g; m++)
            for (int j = 0; j < 8; j++) acc[j] = acc[j] + rows[(s + j) * stride + m];
        for (int j = 0; j < 8; j++) sums[s + j] = acc[j];
    }
    for (; s < n_samples; s++) {
        double acc = sums[s];
        for (int64_t m = 0; m < g; m++) acc = acc + rows[s * stride + m];
        sums[s] = acc;
    }
}

/* Advance synapses [0, g) of a group by one propagator (r, wy, I, u). */
static inline void advance(int64_t g, double *restrict w, double *restrict y,
                           double *restrict u, const double *restrict r,
                           const double *restrict wy, const double *restrict I,
                           const double *restrict fu, int facil_any)
{
    for (int64_t m = 0; m < g; m++) {
        const double nw = w[m] * r[m] + y[m] * wy[m];
        const double ny = y[m] * I[m];
        w[m] = nw < TINY ? 0.0 : nw;
        y[m] = ny < TINY ? 0.0 : ny;
    }
    if (facil_any)
        for (int64_t m = 0; m < g; m++)
            u[m] = u[m] * fu[m];
}

/* Advance a group by k time steps: the propagators of 2^b steps for the bits
   of k, highest first. E holds [levels][r, wy, I, u][n] factors; a is the
   group's first synapse. */
static inline void advance_steps(int64_t k, int64_t g, double *w, double *y, double *u,
                                 const double *E, int64_t n, int64_t levels, int64_t a,
                                 int facil_any)
{
    for (int64_t b = levels - 1; b >= 0; b--)
        if ((k >> b) & 1) {
            const double *F = E + 4 * b * n + a;
            advance(g, w, y, u, F, F + n, F + 2 * n, F + 3 * n, facil_any);
        }
}

/* Replay synapses [0, n) of one pathway (see tum2000.model.resources):
   state (w = 1 - x, y, u) in/out; per-synapse factors over one recording
   interval (G*) and over 2^b time steps (E, b < levels); spikes of each
   presynaptic neuron as steps, grouped by neuron (CSR: spike_ptr, spike_step).
   Adds w and u of each synapse, in synapse order, to sum_w / sum_u at every
   recording sample. Returns 0, or -1 when out of memory. */
int tum2000_replay(
    int64_t n, const int32_t *pre,
    const double *Gr, const double *Gwy, const double *GI, const double *Gu,
    const double *E, int64_t levels,
    const double *U, const uint8_t *facil,
    double *w, double *y, double *u,
    const int64_t *spike_ptr, const int64_t *spike_step,
    int64_t R, int64_t n_intervals, int64_t first_interval, int64_t n_samples,
    double *sum_w, double *sum_u)
{
    const size_t rows = (size_t)(n_samples > 0 ? n_samples : 1) * GROUP;
    double *rec_w = malloc(sizeof(double) * rows);
    double *rec_u = malloc(sizeof(double) * rows);
    if (!rec_w || !rec_u) { free(rec_w); free(rec_u); return -1; }
    int64_t a = 0;
    while (a < n) {
        /* a group: consecutive synapses of one presynaptic neuron */
        int64_t b = a + 1;
        while (b < n && b - a < GROUP && pre[b] == pre[a]) b++;
        const int64_t g = b - a;
        double *gw = w + a, *gy = y + a, *gu = u + a;
        int facil_any = 0;
        for (int64_t m = a; m < b; m++) facil_any |= facil[m];
        int64_t next = spike_ptr[pre[a]];
        const int64_t last = spike_ptr[pre[a] + 1];
        for (int64_t j = 0; j <= n_intervals; j++) {
            const int64_t k = j - first_interval;
            if (k >= 0 && k < n_samples) {  /* sample before the spikes at this time */
                for (int64_t m = 0; m < g; m++) rec_w[k * g + m] = gw[m];
                if (facil_any)
                    for (int64_t m = 0; m < g; m++) rec_u[k * g + m] = gu[m];
            }
            if (j == n_intervals) break;
            const int64_t start = j * R, stop = start + R;
            if (next < last && spike_step[next] < stop) {
                int64_t pos = 0;
                while (next < last && spike_step[next] < stop) {
                    const int64_t offset = spike_step[next] - start;
                    advance_steps(offset - pos, g, gw, gy, gu, E, n, levels, a, facil_any);
                    pos = offset;
                    for (int64_t m = 0; m < g; m++) {
                        if (facil[a + m]) gu[m] = gu[m] + U[a + m] * (1.0 - gu[m]);
                        const double released = gu[m] * (1.0 - gw[m]);
                        gw[m] = gw[m] + released;
                        gy[m] = gy[m] + released;
                    }
                    next++;
                }
                advance_steps(R - pos, g, gw, gy, gu, E, n, levels, a, facil_any);
            } else {
                advance(g, gw, gy, gu, Gr + a, Gwy + a, GI + a, Gu + a, facil_any);
            }
        }
        /* each sample adds the group's synapses in synapse order */
        add_rows(n_samples, g, rec_w, g, sum_w);
        if (facil_any)
            add_rows(n_samples, g, rec_u, g, sum_u);
        else  /* u = U never changes: the same row for every sample */
            add_rows(n_samples, g, gu, 0, sum_u);
        a = b;
    }
    free(rec_w);
    free(rec_u);
    return 0;
}
"""

COMPILE_ARGS: tuple[str, ...] = ("-O3", "-march=native", "-std=c99", "-ffp-contract=off",
                                 "-fno-fast-math", "-shared", "-fPIC")
"""``-march=native``: vector instructions of this processor (the library's name
includes the processor's feature flags, so another processor builds its own);
elementwise IEEE results do not depend on the vector width."""

_library: ctypes.CDLL | None | bool = False  # False: not looked for yet


def compiler() -> str | None:
    """The C compiler to use ($CC, cc or gcc), or None."""
    for name in config.c_compilers():
        if shutil.which(name):
            return name
    return None


def _cpu_flags() -> str:
    """The processor's feature flags (Linux), so a library built for one processor
    is not loaded on another."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if absent), held until the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def library_path() -> Path:
    digest = hashlib.sha256("\n".join((C_SOURCE, " ".join(COMPILE_ARGS), _cpu_flags()))
                            .encode()).hexdigest()[:16]
    return config.engine_dir() / f"replay-{digest}-{os.uname().machine}.so"


def build() -> Path | None:
    """Compile the kernel unless it exists; its path, or None without a compiler."""
    path = library_path()
    if path.exists():
        return path
    cc = compiler()
    if cc is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_suffix(".lock")):
        if path.exists():
            return path
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".replay-build-") as scratch:
            source = Path(scratch) / "replay.c"
            source.write_text(C_SOURCE)
            output = Path(scratch) / "replay.so"
            done = subprocess.run([cc, *COMPILE_ARGS, str(source), "-o", str(output)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                return None
            output.rename(path)
        for stale in path.parent.glob(f"replay-*-{os.uname().machine}.so"):
            if stale != path:  # built from other sources
                stale.unlink(missing_ok=True)
                stale.with_suffix(".lock").unlink(missing_ok=True)
    return path


def load() -> ctypes.CDLL | None:
    """The compiled kernel (built on first use), or None: then NumPy replays."""
    global _library
    if _library is False:
        _library = None
        path = build()
        if path is not None:
            try:
                lib = ctypes.CDLL(str(path))
            except OSError:
                lib = None
            if lib is not None:
                _declare(lib)
                _library = lib
    return _library or None


def _declare(lib: ctypes.CDLL) -> None:
    p = ctypes.c_void_p
    i64 = ctypes.c_int64
    lib.tum2000_replay.restype = ctypes.c_int
    lib.tum2000_replay.argtypes = [i64, p, p, p, p, p, p, i64, p, p, p, p, p, p, p,
                                   i64, i64, i64, i64, p, p]


def replay(lib: ctypes.CDLL, pre: np.ndarray, factors: dict[str, np.ndarray],
           U: np.ndarray, facil: np.ndarray, w: np.ndarray, y: np.ndarray, u: np.ndarray,
           spike_ptr: np.ndarray, spike_step: np.ndarray, R: int, n_intervals: int,
           first_interval: int, sum_w: np.ndarray, sum_u: np.ndarray) -> None:
    """Call the kernel on one block of synapses of one pathway (arrays are updated)."""
    def ptr(a: np.ndarray, dtype) -> int:
        assert a.dtype == np.dtype(dtype) and a.flags.c_contiguous
        return a.ctypes.data

    f8 = np.float64
    status = lib.tum2000_replay(
        int(pre.size), ptr(pre, np.int32),
        *(ptr(factors[k], f8) for k in ("Gr", "Gwy", "GI", "Gu")),
        ptr(factors["E"], f8), int(factors["E"].shape[0]),
        ptr(U, f8), ptr(facil, np.uint8), ptr(w, f8), ptr(y, f8), ptr(u, f8),
        ptr(spike_ptr, np.int64), ptr(spike_step, np.int64),
        int(R), int(n_intervals), int(first_interval), int(sum_w.size),
        ptr(sum_w, f8), ptr(sum_u, f8))
    if status != 0:
        raise MemoryError("the replay kernel could not allocate its buffers")
