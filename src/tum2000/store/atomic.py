"""Write files atomically: to a temporary file beside the target, then rename.

A file written through :func:`atomic_path` appears complete or not at all: a
failure, Ctrl-C or SIGTERM (see :mod:`tum2000.interruption`) before the rename
leaves the target as it was and removes the temporary file and any folder
created for it. :func:`atomic_paths` does the same for several files at once
(a dataset, its cache entry and its figure appear together or not at all).

Files get the permissions a plain ``open(path, "w")`` would give them (0666
less the umask), not the 0600 of :func:`tempfile.mkstemp`: a shared cache or
a class's shared folder stays readable by the others.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Iterator, Sequence

from tum2000.interruption import deferred_signals

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    try:
        match = re.search(r"^Umask:\s*([0-7]+)", Path("/proc/self/status").read_text(), re.M)
        if match:
            return int(match.group(1), 8)
    except OSError:
        pass
    with _umask_lock:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """Permission bits of a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def missing_parents(path: Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet, outermost first."""
    missing = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    return missing[::-1]


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike],
                 optional: Sequence[str | os.PathLike] = ()) -> Iterator[list[Path | None]]:
    """Yield one temporary path per target; on success all replace their targets.

    The renames happen with SIGINT/SIGTERM held back, so the set of files
    appears whole. On any failure or interruption the temporary files and the
    folders created for them are removed, and the targets are untouched.

    ``optional`` targets (e.g. a cache entry beside the user's ``--out``) may
    fail without failing the others: when the temporary file of one cannot be
    created (a read-only folder, a full disk, a path under a file), a
    ``RuntimeWarning`` says so and its slot holds None; when the caller
    removed its temporary file (its write failed), or its rename fails, it is
    left out, with a warning for a failed rename.
    """
    targets = [Path(p) for p in paths]
    spare = {Path(p) for p in optional}
    created: list[Path] = []
    temporaries: list[Path | None] = []
    try:
        for target in targets:
            try:
                temporaries.append(_temporary_for(target, created))
            except OSError as err:
                if target not in spare:
                    raise
                warnings.warn(f"cannot write {target} ({err.strerror or err}); "
                              "carrying on without it", RuntimeWarning, stacklevel=3)
                temporaries.append(None)
        yield list(temporaries)
        with deferred_signals():
            for tmp, target in zip(temporaries, targets):
                if tmp is None or (target in spare and not tmp.exists()):
                    continue
                try:
                    os.replace(tmp, target)
                except OSError as err:
                    if target not in spare:
                        raise
                    tmp.unlink(missing_ok=True)
                    warnings.warn(f"cannot write {target} ({err.strerror or err}); "
                                  "carrying on without it", RuntimeWarning, stacklevel=3)
    except BaseException:
        for tmp in temporaries:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _temporary_for(target: Path, created: list[Path]) -> Path:
    """Create the temporary file for ``target`` beside it, and the folders it
    needs (appended to ``created``; on failure removed again)."""
    mine: list[Path] = []
    try:
        for folder in missing_parents(target):
            folder.mkdir()
            mine.append(folder)
        handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.",
                                       suffix=f".tmp{target.suffix}", dir=target.parent)
    except OSError:
        for folder in reversed(mine):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        created.extend(folder for folder in mine if folder.exists())
    os.close(handle)
    os.chmod(tmp, file_mode())
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one step.

    A failure (or an interruption) leaves ``path`` as it was and removes the
    temporary file; two writers of the same path leave one complete file.
    """
    with atomic_paths([path]) as (tmp,):
        yield tmp


BACKUP_PREFIX = ".tum2000-backup-"
MANIFEST = "before.json"
"""In a backup folder: what the folder held before the block (name -> inode);
removed first when the block succeeds, so a backup with it was left by a run
that did not finish. The hard links are in the backup's ``files`` folder."""


def owned_prefix(prefix: str) -> str:
    """``prefix`` followed by this process's id and a dash: a temporary name that
    :func:`remove_stale` recognises once the process is gone."""
    return f"{prefix}{os.getpid()}-"


def process_gone(pid: int) -> bool:
    """True when no process ``pid`` exists (one of another user counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def stale_entries(folder: str | os.PathLike, prefix: str) -> list[Path]:
    """Entries of ``folder`` named ``prefix<pid>-...`` (see :func:`owned_prefix`),
    owned by this user, whose process is gone: left by a killed run."""
    found = []
    with contextlib.suppress(OSError), os.scandir(folder) as listing:
        for entry in listing:
            match = re.match(re.escape(prefix) + r"(\d+)-", entry.name)
            if match is None or int(match.group(1)) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_uid == os.getuid() \
                        and process_gone(int(match.group(1))):
                    found.append(Path(entry.path))
    return found


def remove_stale(folder: str | os.PathLike, prefix: str) -> list[Path]:
    """Remove what :func:`stale_entries` finds (folders and files); return them."""
    import shutil

    stale = stale_entries(folder, prefix)
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return stale


def _entries(folder: Path) -> dict[str, os.stat_result]:
    """Files and folders directly in ``folder`` (not below: a notebook writes in
    its own folder, and the folder may be a large one, such as a home folder),
    except the backups of :func:`restorable_folder`."""
    found = {}
    with os.scandir(folder) as listing:
        for entry in listing:
            if not entry.name.startswith(BACKUP_PREFIX):
                with contextlib.suppress(OSError):
                    found[entry.name] = entry.stat(follow_symlinks=False)
    return found


def _restore(folder: Path, backup: Path, before: dict[str, int], keep) -> None:
    """Put ``folder`` back as ``before`` (name -> inode) says it was: remove what is
    new, bring back from ``backup`` what was replaced or deleted. Best effort per
    entry: one that cannot be restored does not stop the others."""
    import shutil
    import stat

    backup = backup / "files"
    after = _entries(folder)
    for name, info in after.items():
        path = folder / name
        if keep(path):
            continue
        with contextlib.suppress(OSError):
            if name not in before:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            elif info.st_ino != before[name] and (backup / name).exists():
                os.replace(backup / name, path)
    for name in set(before) - set(after):
        with contextlib.suppress(OSError):
            if (backup / name).exists() and not keep(folder / name):
                os.replace(backup / name, folder / name)


def recover_folder(folder: str | os.PathLike) -> list[Path]:
    """Undo what runs killed inside :func:`restorable_folder` (SIGKILL, a power
    cut) left in ``folder``: the folder is put back as it was before them and
    their backups are removed. Return the backups found."""
    import json
    import shutil

    folder = Path(folder)
    stale = stale_entries(folder, BACKUP_PREFIX)
    for backup in stale:
        try:
            before = {str(k): int(v) for k, v in
                      json.loads((backup / MANIFEST).read_text()).items()}
        except (OSError, ValueError, AttributeError):
            before = None  # the run had finished (or not begun): nothing to undo
        if before is not None:
            with deferred_signals():
                _restore(folder, backup, before, lambda path: False)
        shutil.rmtree(backup, ignore_errors=True)
    return stale


@contextlib.contextmanager
def restorable_folder(folder: str | os.PathLike, keep=lambda path: False) -> Iterator[Path]:
    """Inside the block anything may write files in ``folder``; if the block
    fails or is interrupted, the folder is put back as it was: files and
    folders created in it are removed, files replaced or deleted are restored
    from hard links taken before (no data is copied), except the paths for
    which ``keep(path)`` is true.

    For code we cannot make write atomically, such as a notebook's cells,
    which write in the notebook's folder. A file rewritten in place (same
    inode, e.g. ``open(path, "w")``) cannot be restored; tum2000's own writes
    (:func:`atomic_path`, :func:`tum2000.save`, :func:`tum2000.plotting.figure1.save_figure`)
    replace files whole and can. The backup folder (``.tum2000-backup-<pid>-*``)
    records what the folder held; if the process is killed (SIGKILL), the
    next block in the same folder undoes the killed one first
    (:func:`recover_folder`).
    """
    import json
    import shutil
    import stat

    folder = Path(folder).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    recover_folder(folder)
    backup = Path(tempfile.mkdtemp(prefix=owned_prefix(BACKUP_PREFIX), dir=folder))
    try:
        (backup / "files").mkdir()
        before = {name: info.st_ino for name, info in _entries(folder).items()}
        for name in before:
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(folder / name).st_mode):
                    os.link(folder / name, backup / "files" / name, follow_symlinks=False)
        (backup / MANIFEST).write_text(json.dumps(before))
        try:
            yield folder
        except BaseException:
            with deferred_signals():
                _restore(folder, backup, before, keep)
            raise
        (backup / MANIFEST).unlink()  # done: a kill from here on leaves nothing to undo
    finally:
        shutil.rmtree(backup, ignore_errors=True)
