"""Where a sweep's simulations run: a Dask client on a local or remote cluster.

:func:`dask_client` chooses, in this order:

1. ``scheduler``: the address of a running Dask scheduler (``tcp://host:8786``);
2. ``scheduler_file``: the JSON file a scheduler wrote (``dask scheduler
   --scheduler-file FILE``), the usual way on an HPC cluster;
3. ``slurm_jobs``: that many SLURM jobs of workers, submitted through
   dask-jobqueue (:func:`slurm_cluster`; ``pip install tum2000[slurm]``);
4. the standard ``DASK_SCHEDULER_ADDRESS`` setting (environment variable or
   Dask's configuration key ``scheduler-address``);
5. otherwise a :class:`~distributed.LocalCluster` on this machine, bound to
   the loopback interface (nothing is reachable from the network), with one
   single-threaded worker process per core and the dashboard off unless asked
   for (then also on loopback).

Brian2 runs one simulation per process, and a Brian2 run turns the first
Ctrl-C into "stop the simulation here", which would end a run early and
leave it looking complete. Every worker therefore imports Brian2 with that
behaviour switched off; the workers of a cluster this module starts ignore
Ctrl-C altogether (the sweep cancels its work and closes the cluster).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from distributed.diagnostics.plugin import WorkerPlugin

from tum2000 import config
from tum2000.errors import BadInput, ClusterError
from tum2000.store.atomic import owned_prefix, remove_stale

CONNECT_TIMEOUT_S = 20.0
"""How long to wait for a remote scheduler before giving up (s)."""


@dataclass
class Connection:
    """A connected client, what it is connected to, and whether this process
    started (and will close) the cluster."""

    client: Any
    description: str
    owned: bool


class Brian2WorkerSetup(WorkerPlugin):
    """Dask worker plugin: ``ignore_sigint``: ignore Ctrl-C (the sweep cancels
    its work and closes the cluster; the engine's child processes inherit it);
    ``brian2``: import Brian2 now, in the worker's main thread (its import
    installs a SIGINT handler, which Python allows only there), without its
    stop-on-Ctrl-C behaviour. The compiled engine needs no Brian2 in the
    worker, and a worker that may fall back to Brian2's numpy target (no
    compiler) imports it here too."""

    name = "tum2000-brian2-setup"

    def __init__(self, ignore_sigint: bool, brian2: bool = True):
        self.ignore_sigint = ignore_sigint
        self.brian2 = brian2

    def setup(self, worker: Any = None) -> None:
        if self.ignore_sigint:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        from tum2000.model.engine import compiler_available

        if self.brian2 or not compiler_available():
            from tum2000.interruption import prepare_brian2

            prepare_brian2()



DASK_PREFIX = "tum2000-dask-"
"""Private temporary folder of a local cluster's scratch space (``tum2000-dask-<pid>-*``),
removed when the cluster closes; the next cluster removes those of killed runs."""

SCHEMES: tuple[str, ...] = ("tcp", "tls", "ws", "wss", "ucx", "inproc")
"""The address schemes Dask's communication registry knows
(``distributed.comm.registry.backends``); all but ``inproc`` need host:port."""
_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                        r":([0-9]{1,5})")


def check_scheduler_address(address: str, what: str = "--scheduler") -> str:
    """Refuse (:class:`BadInput`, before any work) a scheduler address Dask
    would not accept: ``SCHEME://host:port`` with a scheme of :data:`SCHEMES`
    and a port in 1..65535 (``inproc://...`` has no port). Whether anything
    listens there is found out when the sweep connects; an address is checked
    even when every run is cached and no connection is made."""
    text = str(address).strip()
    allowed = (f"allowed: SCHEME://HOST:PORT with SCHEME one of {', '.join(SCHEMES[:-1])}, "
               "e.g. tcp://127.0.0.1:8786, or inproc://...")
    scheme, sep, rest = text.partition("://")
    if scheme == "inproc":
        valid = bool(rest) and not any(c.isspace() for c in rest)
    else:
        match = _HOST_PORT.fullmatch(rest)
        valid = (bool(sep) and scheme in SCHEMES and match is not None
                 and 1 <= int(match.group(1)) <= 65535)
    if not valid:
        raise BadInput(f"{what} {address!r} is not a Dask scheduler address ({allowed})")
    return text


def check_where(scheduler: str | None = None,
                scheduler_file: str | os.PathLike | None = None,
                slurm_jobs: int | None = None) -> None:
    """Check where a sweep would run (:func:`dask_client`'s choice) before any
    work: the address given, a scheduler file that is a file, or, when no
    place is given, the address of ``DASK_SCHEDULER_ADDRESS`` (or Dask's config)."""
    if scheduler:
        check_scheduler_address(scheduler)
    elif scheduler_file is not None:
        if not Path(scheduler_file).is_file():
            raise BadInput(f"--scheduler-file {scheduler_file}: no such file (allowed: the "
                           "JSON file of a running scheduler, dask scheduler --scheduler-file)")
    elif not slurm_jobs and environment_scheduler():
        check_scheduler_address(environment_scheduler(), config.SCHEDULER_VAR)


def environment_scheduler() -> str | None:
    """The scheduler address of ``DASK_SCHEDULER_ADDRESS`` or Dask's config, if set."""
    address = config.scheduler_address()
    if address:
        return address
    import dask

    return dask.config.get("scheduler-address", None) or None


def slurm_cluster(cache_directory: str | os.PathLike | None = None, **overrides: Any) -> Any:
    """A dask-jobqueue ``SLURMCluster`` for tum2000 sweeps (no job submitted yet).

    Site defaults (partition, account, cores and memory per job, walltime,
    network interface, ...) come from Dask's jobqueue configuration, e.g.
    ``~/.config/dask/jobqueue.yaml``::

        jobqueue:
          slurm:
            queue: normal          # partition (#SBATCH -p)
            account: mylab         # #SBATCH -A
            cores: 16              # cores per job
            memory: 32GB           # memory per job
            walltime: "02:00:00"
            interface: ib0         # network the workers reach the scheduler on

    ``overrides`` are ``SLURMCluster`` arguments that win over the config.
    Unless configured otherwise, each job runs one single-threaded worker
    process per core (Brian2 runs one simulation per process), and the job
    exports ``TUM2000_CACHE=cache_directory``, which must be a directory every
    node sees (the workers write their runs there and the sweep reads them).
    """
    import dask

    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise ClusterError("SLURM clusters need dask-jobqueue: pip install "
                           "'tum2000[slurm]' (or dask-jobqueue)") from None

    slurm = dict(dask.config.get("jobqueue.slurm", {}))
    cores = overrides.get("cores", slurm.get("cores"))
    options: dict[str, Any] = {}
    if overrides.get("processes", slurm.get("processes")) is None and cores:
        options["processes"] = int(cores)  # one single-threaded worker per core
    if cache_directory is not None:
        prologue = list(overrides.get("job_script_prologue",
                                      slurm.get("job-script-prologue") or []))
        prologue.append(f"export {config.CACHE_VAR}={Path(cache_directory).resolve()}")
        options["job_script_prologue"] = prologue
    options.update(overrides)
    try:
        return SLURMCluster(**options)
    except ValueError as err:  # e.g. cores and memory configured nowhere
        raise ClusterError(f"cannot set up a SLURM cluster: {str(err).splitlines()[0]} "
                           "(set jobqueue.slurm.cores and .memory in Dask's config)") from None


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, scheduler_file: str | os.PathLike | None = None,
                n_workers: int | None = None, dashboard: bool = False,
                slurm_jobs: int | None = None,
                cache_directory: str | os.PathLike | None = None,
                brian2_workers: bool = True) -> Iterator[Connection]:
    """A connected Dask client (see the module's docstring for the choice);
    a cluster started here is closed on exit, also on Ctrl-C. ``brian2_workers``:
    the workers import Brian2 up front (:class:`Brian2WorkerSetup`)."""
    import dask
    from dask.distributed import Client, LocalCluster

    cluster = None
    scratch: Path | None = None
    settings = contextlib.ExitStack()
    address = scheduler or None
    try:
        if address:
            client, description = _connect(address=address), f"scheduler {address}"
        elif scheduler_file is not None:
            if not Path(scheduler_file).is_file():
                raise FileNotFoundError(f"no such scheduler file: {scheduler_file}")
            client = _connect(scheduler_file=str(scheduler_file))
            description = f"scheduler of {scheduler_file}"
        elif slurm_jobs:
            cluster = slurm_cluster(cache_directory)
            cluster.scale(jobs=int(slurm_jobs))
            client = Client(cluster)
            description = f"SLURM cluster of {slurm_jobs} job(s)"
        elif environment_scheduler():
            address = environment_scheduler()
            client = _connect(address=address)
            description = f"scheduler {address} ({config.SCHEDULER_VAR})"
        else:
            workers = max(1, n_workers or os.cpu_count() or 1)
            # Dask's scratch space (its lock files) in a folder of ours, removed
            # at the end: nothing of the cluster stays in the temporary folder.
            remove_stale(tempfile.gettempdir(), DASK_PREFIX)  # left by killed runs
            scratch = Path(tempfile.mkdtemp(prefix=owned_prefix(DASK_PREFIX)))
            settings.enter_context(dask.config.set({"temporary-directory": str(scratch)}))
            # The scheduler's HTTP server (the dashboard, or only its health and
            # metrics pages) on a free loopback port, never a public interface.
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                   scheduler_kwargs={"dashboard": dashboard},
                                   silence_logs=40, local_directory=str(scratch))
            client = Client(cluster)
            description = f"local cluster of {workers} worker(s) on 127.0.0.1"
            if dashboard:
                description += f", dashboard {client.dashboard_link}"
                if importlib.util.find_spec("bokeh") is None:
                    description += " (its pages need bokeh: pip install bokeh)"
    except BaseException as err:
        if cluster is not None:
            cluster.close()
        settings.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if isinstance(err, (ClusterError, FileNotFoundError)) or not isinstance(err, Exception):
            raise  # ours, or Ctrl-C
        # an unreachable scheduler, ports taken, ...
        detail = str(err).splitlines()[0] if str(err) else ""
        raise ClusterError(f"cannot reach or start a Dask cluster ({description_of(address, scheduler_file)}): "
                           f"{type(err).__name__}: {detail}") from None
    connection = Connection(client, description, owned=cluster is not None)
    try:
        client.register_plugin(Brian2WorkerSetup(ignore_sigint=connection.owned,
                                                 brian2=brian2_workers))
        yield connection
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        settings.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def parallel_map(function: Any, *iterables: Any, n_workers: int | None = None,
                 scheduler: str | None = None, brian2_workers: bool = False) -> list[Any]:
    """``list(map(function, *iterables))`` on Dask workers: ``scheduler``'s, or
    those :func:`dask_client` finds or starts (a local cluster of one
    single-threaded process per item, up to ``n_workers``, default one per
    core; ``brian2_workers`` as there). ``function`` must be importable (a
    module's top-level function); a worker's exception is raised here, and
    Ctrl-C cancels the work and closes the cluster."""
    from dask.distributed import as_completed

    items = list(zip(*iterables))
    if not items:
        return []
    workers = max(1, min(n_workers or os.cpu_count() or 1, len(items)))
    with dask_client(scheduler, n_workers=workers, brian2_workers=brian2_workers) as connection:
        futures = connection.client.map(function, *zip(*items), pure=False)
        try:
            for future in as_completed(futures):
                future.result()             # re-raises a worker's exception here
        except BaseException:
            connection.client.cancel(futures)
            raise
        return [future.result() for future in futures]


def description_of(address: str | None, scheduler_file: str | os.PathLike | None) -> str:
    if address:
        return f"scheduler {address}"
    if scheduler_file is not None:
        return f"scheduler file {scheduler_file}"
    return "local or SLURM cluster"


def _connect(**where: Any) -> Any:
    from dask.distributed import Client

    return Client(**where, timeout=f"{CONNECT_TIMEOUT_S:g}s")


__all__ = ["Brian2WorkerSetup", "ClusterError", "Connection", "check_scheduler_address",
           "check_where", "dask_client", "environment_scheduler", "parallel_map",
           "slurm_cluster"]
