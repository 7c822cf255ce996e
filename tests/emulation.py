"""Another processor, emulated on this one (for the tests, the benchmark and CI).

NumPy dispatches its SIMD kernels (``exp``, ``log``, sums) by processor and
honours ``NPY_DISABLE_CPU_FEATURES`` at import; glibc picks an FMA or a plain
``exp`` by processor and honours ``GLIBC_TUNABLES=glibc.cpu.hwcaps=-FEATURE``
(glibc 2.36 takes the feature names without the ``_Usable`` suffix of older
releases: with the suffix the setting is silently ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys

GLIBC_FEATURES_OFF = ("AVX2", "FMA", "AVX512F", "AVX")
"""glibc's ifunc features that select its FMA/AVX variants of exp and log."""


def numpy_features_off(python: str = sys.executable) -> list[str]:
    """The non-baseline CPU features NumPy uses on this machine (what a machine
    with only NumPy's baseline lacks), read in a child process of ``python``."""
    code = ("import numpy._core._multiarray_umath as m; "
            "print(' '.join(f for f, on in m.__cpu_features__.items() "
            "if on and f not in m.__cpu_baseline__))")
    return subprocess.run([python, "-c", code], check=True, capture_output=True,
                          text=True).stdout.split()


def foreign_processor_environment(python: str = sys.executable) -> dict[str, str]:
    """Environment entries under which this machine computes like a processor
    with NumPy's baseline features only and glibc's plain exp."""
    return {"NPY_DISABLE_CPU_FEATURES": " ".join(numpy_features_off(python)),
            "GLIBC_TUNABLES": "glibc.cpu.hwcaps=" + ",".join(f"-{f}" for f in GLIBC_FEATURES_OFF)}


def run_emulated(code: str, **kwargs) -> subprocess.CompletedProcess:
    """Run Python ``code`` in a child process under :func:`foreign_processor_environment`."""
    env = {**os.environ, **foreign_processor_environment()}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, **kwargs)


if __name__ == "__main__":  # print the entries as shell assignments (used by .ci/run)
    for name, value in foreign_processor_environment().items():
        print(f"{name}='{value}'")
