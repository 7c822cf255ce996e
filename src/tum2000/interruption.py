"""Interruption safety: signals and Brian2's Ctrl-C handler.

* :func:`handlers_installed` turns SIGTERM (and SIGINT) into
  :class:`tum2000.errors.Interrupted`, an exception raised in the main
  thread, so every ``finally`` runs and every temporary file is removed on
  the way out (by default SIGTERM kills without any clean-up).
* :func:`prepare_brian2` imports Brian2 and undoes what its import does to
  Ctrl-C: Brian2 installs a SIGINT handler that turns the first Ctrl-C into
  "Simulation stop requested", after which ``Network.run`` returns early and
  *normally*, and a caller that does not check the span it reached saves a
  cut-short run. (The simulation checks the span too.)
* :func:`deferred_signals` holds SIGINT/SIGTERM back while several files are
  renamed into place, so that a set of outputs appears completely or not at all.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from tum2000.errors import Interrupted


def _raise_interrupted(signum: int, frame) -> None:
    raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def handlers_installed() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM raise :class:`Interrupted` in the main
    thread; the previous handlers come back after it (a program's entry point,
    e.g. the command line, runs inside). Does nothing outside the main thread,
    where Python cannot set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def prepare_brian2():
    """Import Brian2 with Ctrl-C left as it was; return the module.

    Brian2's import replaces the SIGINT handler by one that asks a running
    simulation to stop (``Network.run`` then returns early without an error).
    Here the previous handler is put back (in the main thread), and Brian2's
    preference ``core.stop_on_keyboard_interrupt`` is switched off, so that its
    handler, wherever it is still installed (a worker thread imported Brian2
    first), passes Ctrl-C on as usual.
    """
    import brian2

    brian2.prefs.core.stop_on_keyboard_interrupt = False
    handler = getattr(brian2, "_int_handler", None)
    if (handler is not None and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is handler):
        signal.signal(signal.SIGINT, handler.previous_handler)
    return brian2


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back inside the block (main thread, POSIX);
    a signal that arrives meanwhile is delivered when the block ends."""
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
