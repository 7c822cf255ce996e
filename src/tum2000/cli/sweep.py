"""``tum2000 sweep``: the command line of :func:`tum2000.run_sweep`.

Exit status (:mod:`tum2000.errors`, reported by the command line's one error
path): 0 every run succeeded; 1 no cluster could be reached or started;
2 bad input (a grid name, value or seed that is not allowed, an output that
cannot be written; nothing run, nothing written); 3 the sweep finished but
some runs failed (the result is written, with the reason in its ``error``
variable); 130 interrupted (Ctrl-C or SIGTERM: no result written; completed
runs stay in the cache).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Sequence

from tum2000.errors import ParameterError, SweepIncomplete

if TYPE_CHECKING:
    from tum2000.model.parameters import Parameters

EPILOG = """examples:
  tum2000 sweep --grid I_b_spread_mV=0.5,0.75,1 --seeds 4 --out w.nc
  tum2000 sweep --grid EE_U=0.3,0.5 --grid EE_tau_rec_ms=400,800 --seeds 3 --out u_tau.nc
  tum2000 sweep --grid-zip N_exc=400,1600 N_inh=100,400 p_connect=0.1,0.025 --out size.nc
  DASK_SCHEDULER_ADDRESS=tcp://head:8786 tum2000 sweep ...  # an existing cluster

Each --grid is one dimension (the sweep runs their outer product); the
parameters of one --grid-zip move together along one dimension. Runs and
their statistics are cached (--cache-dir), so an interrupted sweep resumes
and a finished one computes nothing. Exit status: 0 done; 1 no cluster;
2 bad input; 3 some runs failed (recorded in the result's 'error'); 130
interrupted (nothing written)."""


def seed_list(text: str) -> list[int]:
    """``"1,5,9"`` as ``[1, 5, 9]``, each a seed
    (:func:`tum2000.model.parameters.check_seed`: an integer in [0, 2**31))."""
    from tum2000.model.parameters import SEED_LIMIT, check_seed

    items = [t.strip() for t in text.split(",")]
    try:
        return [check_seed(t) for t in items]
    except ParameterError:
        raise argparse.ArgumentTypeError(
            f"--seed-list needs integers in [0, {SEED_LIMIT - 1}] separated by commas, "
            f"got {text if len(text) <= 60 else text[:60] + '...'!r}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tum2000 sweep`` (besides ``--preset``/``--set``)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="a swept parameter and its values (repeatable: one dimension "
                             "each)")
    parser.add_argument("--grid-zip", action="append", nargs="+", default=[],
                        metavar="NAME=V1,V2,...",
                        help="parameters that move together along one dimension (equal "
                             "numbers of values); repeatable")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                       help="seeds 1..K for every grid point (default: %(default)s)")
    seeds.add_argument("--seed-list", type=seed_list, metavar="S1,S2,...",
                       help="these seeds instead of 1..K")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running Dask scheduler (tcp://host:8786); "
                            "default: $DASK_SCHEDULER_ADDRESS, else a local cluster")
    where.add_argument("--scheduler-file", metavar="FILE",
                       help="JSON file of a running Dask scheduler (dask scheduler "
                            "--scheduler-file FILE)")
    where.add_argument("--slurm", type=positive_int, metavar="JOBS",
                       help="submit JOBS SLURM jobs of workers (dask-jobqueue; site "
                            "settings from Dask's jobqueue config); needs tum2000[slurm]")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--dashboard", action="store_true",
                        help="serve the local cluster's Dask dashboard on 127.0.0.1")
    from tum2000.model.targets import TARGETS

    parser.add_argument("--target", default="auto", choices=TARGETS,
                        help="where the simulations run (same results on each): the compiled "
                             "engine, else Brian2's numpy target (auto, default); engine; or "
                             "a Brian2 code-generation target")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache of runs and their statistics (default: $TUM2000_CACHE "
                             "or ~/.cache/tum2000); on a cluster, a directory all nodes see")
    parser.add_argument("--out", required=True, help="sweep result to write (netCDF, .nc)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def grid_options(grid: Sequence[str], zipped: Sequence[Sequence[str]]
                 ) -> tuple[dict[str, list[str]], list[dict[str, list[str]]]]:
    """``--grid`` and ``--grid-zip`` strings as the ``grid`` and ``zipped``
    arguments of :func:`tum2000.run_sweep` (values still strings)."""
    from tum2000.sweeps.grid import parse_values

    axes: dict[str, list[str]] = {}
    for text in grid:
        name, values = parse_values(text)
        if name in axes:
            raise ParameterError(f"grid parameter {name} is given more than once")
        axes[name] = values
    groups = [dict(parse_values(text) for text in group) for group in zipped]
    return axes, groups


def seed_count(args: argparse.Namespace) -> int:
    """How many seeds ``--seed-list`` or ``--seeds`` gives, without listing them."""
    return len(args.seed_list) if args.seed_list is not None else args.seeds


def seeds_of(args: argparse.Namespace) -> list[int]:
    """The seeds of a sweep: ``--seed-list`` as given, else 1 .. ``--seeds``
    (``--seeds 1000000000`` is refused by its count, never listed)."""
    from tum2000.sweeps.bounds import check_run_count

    check_run_count(1, seed_count(args))
    return list(args.seed_list) if args.seed_list is not None else list(range(1, args.seeds + 1))


def check_request(args: argparse.Namespace, base: "Parameters") -> None:
    """Everything about ``tum2000 sweep`` that is refused before any work and
    that :func:`tum2000.run_sweep` cannot see: a parameter both ``--set`` and
    swept (after the grid's values are checked), the number of runs before any is listed,
    and where the sweep runs (:class:`ParameterError` or
    :class:`~tum2000.errors.BadInput`, exit status 2)."""
    from tum2000.model.values import parse_assignments
    from tum2000.store.cache import check_location
    from tum2000.sweeps.bounds import check_run_count
    from tum2000.sweeps.cluster import check_where
    from tum2000.sweeps.grid import make_grid

    grid, zipped = grid_options(args.grid, args.grid_zip)
    if not grid and not zipped:
        raise ParameterError("nothing to sweep: give --grid NAME=V1,V2,... or --grid-zip")
    checked = make_grid(grid, zipped, base)  # values and points (bounded in number)
    for name, value in parse_assignments(args.set).items():
        if name in checked.names:
            raise ParameterError(f"{name} is both set (--set {name}={value}) and swept "
                                 f"(--grid/--grid-zip): give it in one of them")
    check_run_count(len(checked), seed_count(args), base, args.workers)
    check_where(args.scheduler, args.scheduler_file, args.slurm)
    check_location()  # every run goes through the dataset cache


def run(args: argparse.Namespace, base: "Parameters") -> int:
    """Run ``tum2000 sweep`` with parsed ``args`` from ``base``; 0 when every run
    succeeded. Raises :class:`~tum2000.errors.SweepIncomplete` (exit 3) after
    writing the result when some runs failed; bad input, an unreachable cluster
    and Ctrl-C raise as well (the command line reports them in one line)."""
    from tum2000.store.output_files import check_output
    from tum2000.sweeps.run import run_sweep, save_sweep, sweep_command
    from tum2000.sweeps.grid import Grid

    check_request(args, base)
    grid, zipped = grid_options(args.grid, args.grid_zip)
    out = check_output(args.out, "dataset", "--out")
    seeds = seeds_of(args)
    result = run_sweep(base, grid, seeds, zipped=zipped, target=args.target,
                       scheduler=args.scheduler, scheduler_file=args.scheduler_file,
                       slurm_jobs=args.slurm, n_workers=args.workers,
                       dashboard=args.dashboard, directory=args.cache_dir,
                       progress=not args.quiet)
    result.attrs["command"] = sweep_command(base, Grid.from_json(result.attrs["grid"]),
                                            result["seed"].values.tolist(),
                                            target=args.target, out=args.out)
    save_sweep(result, out)
    n_runs, n_failed = int(result.attrs["n_runs"]), int(result.attrs["n_failed"])
    if not args.quiet:
        print(f"wrote {out}: {n_runs} runs ({result.attrs['runs_computed']} computed, "
              f"{result.attrs['runs_cached']} cached)", file=sys.stderr)
    if n_failed:
        first = next(e for e in result["error"].values.ravel() if e)
        raise SweepIncomplete(f"{n_failed} of {n_runs} runs failed (first: {first}); the "
                              f"others are saved in {out}, the reasons in its variable 'error'")
    return 0


__all__ = ["add_arguments", "check_request", "grid_options", "run", "seed_count", "seeds_of"]
