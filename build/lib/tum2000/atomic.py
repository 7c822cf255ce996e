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
from pathlib import Path
from typing import Iterator, Sequence

from .interruption import deferred_signals, stage

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
def atomic_paths(paths: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield one temporary path per target; on success all replace their targets.

    The renames happen with SIGINT/SIGTERM held back, so the set of files
    appears whole. On any failure or interruption the temporary files and the
    folders created for them are removed, and the targets are untouched.
    """
    targets = [Path(p) for p in paths]
    created: list[Path] = []
    temporaries: list[Path] = []
    try:
        for target in targets:
            for folder in missing_parents(target):
                folder.mkdir()
                created.append(folder)
            handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.",
                                           suffix=f".tmp{target.suffix}", dir=target.parent)
            os.close(handle)
            temporaries.append(Path(tmp))
            os.chmod(tmp, file_mode())
        yield list(temporaries)
        stage("save")
        with deferred_signals():
            for tmp, target in zip(temporaries, targets):
                os.replace(tmp, target)
    except BaseException:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one step.

    A failure (or an interruption) leaves ``path`` as it was and removes the
    temporary file; two writers of the same path leave one complete file.
    """
    with atomic_paths([path]) as (tmp,):
        yield tmp


BACKUP_PREFIX = ".tum2000-backup-"


def _files(folder: Path, skip: Path) -> dict[Path, os.stat_result]:
    found = {}
    for path in folder.rglob("*"):
        if skip in path.parents or path == skip or path.is_dir() or path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            found[path.relative_to(folder)] = path.stat()
    return found


@contextlib.contextmanager
def restorable_folder(folder: str | os.PathLike, keep=lambda path: False) -> Iterator[Path]:
    """Inside the block anything may write files in ``folder``; if the block
    fails or is interrupted, the folder is put back as it was: files created
    in it are removed, files replaced or deleted are restored (from hard links
    taken before; files are replaced whole by tum2000's writes), except the
    paths for which ``keep(path)`` is true.

    For code that writes where we cannot make it write atomically, such as a
    notebook's cells (a figure, a dataset) in the notebook's folder.
    """
    import shutil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    backup = Path(tempfile.mkdtemp(prefix=BACKUP_PREFIX, dir=folder))
    before = _files(folder, backup)
    for rel in before:
        (backup / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(folder / rel, backup / rel)
        except OSError:  # a file system without hard links
            shutil.copy2(folder / rel, backup / rel)
    folders_before = {p for p in folder.rglob("*") if p.is_dir()}
    try:
        yield folder
    except BaseException:
        with deferred_signals():
            after = _files(folder, backup)
            for rel, stat in after.items():
                if keep(folder / rel):
                    continue
                if rel not in before:
                    (folder / rel).unlink(missing_ok=True)
                elif stat.st_ino != before[rel].st_ino:
                    os.replace(backup / rel, folder / rel)
            for rel in set(before) - set(after):
                if not keep(folder / rel):
                    os.replace(backup / rel, folder / rel)
            for path in sorted((p for p in folder.rglob("*") if p.is_dir()
                                and p not in folders_before and backup not in p.parents
                                and p != backup), reverse=True):
                with contextlib.suppress(OSError):
                    path.rmdir()
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)
