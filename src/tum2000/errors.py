"""The errors every tum2000 command reports, and the exit status of each.

One table, used by every command (``tum2000 ...``) and printed in the README:

====  ==========================================================================
code  meaning
====  ==========================================================================
0     done
1     a computation failed (e.g. a notebook cell raised); one line names where
2     bad input: what is wrong and what is allowed; nothing was written
3     a sweep finished, but some of its points failed
130   interrupted (Ctrl-C or SIGTERM): nothing written, nothing cached, no
      temporary file left
====  ==========================================================================

Library code raises the exceptions below, and only these: every one derives from
:class:`Tum2000Error`, except :class:`Interrupted`, which stays a
``KeyboardInterrupt`` so that no ``except Exception`` can swallow a Ctrl-C. Only
the command line turns them into a message and an exit status (:func:`exit_status`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_FAILED: "a computation failed (one line names where)",
    EXIT_BAD_INPUT: "bad input: what is wrong and what is allowed; nothing written",
    EXIT_PARTIAL: "a sweep finished with some points failed",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C / SIGTERM): nothing written, nothing cached, "
                      "no temporary files left",
}
"""The exit-code table, as the README and ``tum2000 --help`` show it."""


class Tum2000Error(Exception):
    """Base of every error tum2000 reports to a user."""

    exit_status = EXIT_FAILED


class BadInput(Tum2000Error, ValueError):
    """Input that cannot be used: an unknown name, a value out of range, a file
    that is not what it should be, an output that cannot be written. Raised
    before any work is done."""

    exit_status = EXIT_BAD_INPUT


class ParameterError(BadInput):
    """An unknown parameter name, or a value outside what is allowed."""


class ComputationFailed(Tum2000Error, RuntimeError):
    """A computation failed (a notebook cell raised, a build broke); the
    message names where."""

    exit_status = EXIT_FAILED


class SweepIncomplete(Tum2000Error, RuntimeError):
    """A sweep finished, but some of its points failed (listed in the message)."""

    exit_status = EXIT_PARTIAL


class IncompleteRun(ComputationFailed):
    """A simulation stopped before the end of its span (and was not saved)."""


class StoredDataError(ComputationFailed):
    """Data stored with the book (``book/data/``) did not verify: its content
    hash does not match its values, or a recomputed point disagrees with it.
    The message names the file and the command that regenerates it."""


class DatasetError(BadInput):
    """A file or object that is not a valid tum2000 dataset."""


class CorruptDatasetError(DatasetError):
    """The file cannot be read as netCDF (truncated, damaged, not netCDF)."""


class ForeignDatasetError(DatasetError):
    """A readable netCDF file that is not a tum2000 dataset of this format."""


class IncompleteDatasetError(DatasetError):
    """A dataset whose simulated span is shorter than its parameters say (a run
    that was cut short)."""


class EngineUnavailable(ComputationFailed):
    """No compiled engine can be used here (no C++ compiler, or its build failed);
    ``target="auto"`` then falls back to Brian2."""


class EngineRunError(ComputationFailed):
    """The compiled engine failed or stopped before the end of the simulation."""


class ClusterError(ComputationFailed):
    """No Dask cluster could be reached or started."""


class BookError(ComputationFailed):
    """A notebook failed to execute or the book failed to build."""


class NotebookCancelled(Tum2000Error):
    """Raised inside the thread that executes a notebook, to stop it before its next
    cell. Not a KeyboardInterrupt on purpose: asyncio then still runs nbclient's
    clean-up (the kernel's shut-down, the last save) before the thread ends; the
    caller turns it into :class:`Interrupted`."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM: raised in the main thread so that every
    ``finally`` and every temporary file is cleaned up on the way out."""

    exit_status = EXIT_INTERRUPTED

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


class SweepInterrupted(Interrupted):
    """A sweep was interrupted (Ctrl-C or SIGTERM); nothing was written, the runs
    still to do were cancelled, completed runs stay in the cache."""


def first_line(text: object) -> str:
    """The first non-blank line of ``text`` (stripped), or "": how a message is shown
    in one line."""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def one_line_error(error: BaseException) -> str:
    """``error`` as ``"TypeName: first line of its message"`` (a failed run's record)."""
    message = first_line(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def exit_status(error: BaseException) -> int:
    """The exit status that reports ``error`` (see the table above)."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return getattr(error, "exit_status", EXIT_FAILED)
