"""The ``tum2000`` command line: one parser, one error path, one exit-code table.

Every command checks all its input (parameters, seeds, notebook parameters,
parameter files, datasets, output paths and formats, estimated memory) before
it does any work, and reports in one line. Exit status (:mod:`tum2000.errors`):

  0   done
  1   a computation failed (one line names where)
  2   bad input: what is wrong and what is allowed; nothing written
  3   a sweep finished with some points failed
  130 interrupted (Ctrl-C / SIGTERM): nothing written, nothing cached, no
      temporary file left

Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Sequence

from tum2000.config import pin_relative_settings
from tum2000.errors import EXIT_CODES, EXIT_FAILED, BadInput, Tum2000Error, exit_status, first_line
from tum2000.interruption import handlers_installed
from tum2000.model.provenance import __version__
from tum2000.model.targets import TARGETS



class UsageError(BadInput):
    """Bad command-line syntax; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer >= 0, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be an integer >= 0, got {text!r}")
    return value


def _exit_table() -> str:
    return "exit status: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items())


# --- simulate, summary, figure, params ---------------------------------------------------

def _parameters(args: argparse.Namespace):
    from tum2000.model.parameters import parse_assignment, preset

    changes = dict(parse_assignment(item) for item in args.set or [])
    return preset(args.preset, **changes)


def cmd_simulate(args: argparse.Namespace) -> int:
    from tum2000.store import cache
    from tum2000.store import dataset
    from tum2000.store.atomic import atomic_paths
    from tum2000.model.simulation import check_request
    from tum2000.store.output_files import check_distinct, check_output

    check_output(args.out, "dataset", "--out")
    if args.figure is not None:
        check_output(args.figure, "image", "--figure")
    check_distinct(**{"--out": args.out, "--figure": args.figure})
    params = _parameters(args)
    check_request(params, args.seed, args.target)
    if not args.no_cache:
        cache.check_location()
    progress = not args.quiet

    ds = None if args.no_cache else cache.lookup(params, args.seed)
    new = ds is None
    if new:
        from tum2000.model.simulation import simulate

        ds = simulate(params, args.seed, target=args.target, progress=progress)
    elif progress:
        print(f"  using cached simulation {cache.cache_path(params, args.seed)}",
              file=sys.stderr, flush=True)
    dataset.validate(ds, "the simulation")
    # The dataset, its cache entry and the figure appear together or not at all;
    # a cache entry that cannot be written is left out with a warning, never the
    # user's files.
    targets = [Path(args.out)]
    entry = cache.cache_path(params, args.seed) if new and not args.no_cache else None
    if entry is not None:
        targets.append(entry)
    if args.figure:
        targets.append(Path(args.figure))
    with atomic_paths(targets, optional=[entry] if entry is not None else []) as temporaries:
        for target, tmp in zip(targets, temporaries):
            if target == entry:
                cache.write_entry(ds, tmp)
            elif target.suffix == ".nc":
                dataset.write_netcdf(ds, tmp)
            else:
                from tum2000.plotting.figure1 import write_figure1

                write_figure1(ds, tmp, format=target.suffix.lstrip("."))
    if progress:
        print(f"wrote {args.out}" + (f" and {args.figure}" if args.figure else ""),
              file=sys.stderr)
    return 0


def cmd_theory(args: argparse.Namespace) -> int:
    """Predict the network's population spikes without simulating it: one JSON object."""
    from functools import partial

    from tum2000.meanfield.theory import DENSITY_RUNS, predict
    from tum2000.sweeps.cluster import parallel_map

    # the same parsing and checks as `simulate` (names, values, seed), before any work
    params = _parameters(args)
    prediction = predict(params, args.seed, progress=not args.quiet,
                         run_map=partial(parallel_map, n_workers=DENSITY_RUNS))
    print(json.dumps(prediction, allow_nan=False))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from tum2000.analysis import summarize
    from tum2000.store.dataset import load

    print(json.dumps(summarize(load(args.file)), allow_nan=False))
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from tum2000.store.atomic import atomic_path
    from tum2000.store.dataset import load
    from tum2000.plotting.figure1 import write_figure1
    from tum2000.store.output_files import check_distinct, check_output

    check_output(args.out, "image", "--out")
    check_distinct(FILE=args.file, **{"--out": args.out})
    ds = load(args.file)
    with atomic_path(args.out) as tmp:
        write_figure1(ds, tmp, format=Path(args.out).suffix.lstrip("."))
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    if args.notebook:
        from tum2000.book import declared_parameters

        _book_tools()
        root = _root(args)
        for name, (kind, default, help_) in declared_parameters(args.notebook, root).items():
            type_name = kind.__name__ if kind else "?"
            print(f"{name}: {type_name} = {default!r}  # {help_}")
        return 0
    if args.list:
        from tum2000.model.parameters import parameter_table

        for row in parameter_table():
            print(f"{row['name']:22s} {row['default']:>10s} {row['unit']:3s}  "
                  f"[{row['source']}] {row['allowed']}: {row['meaning']}")
        return 0
    print(json.dumps(_parameters(args).to_dict(), indent=1, sort_keys=True))
    return 0


# --- notebooks and the book ----------------------------------------------------------------

def _book_tools() -> None:
    """``tum2000 run``/``book`` need the [book] extra; say so in one line."""
    import importlib.util

    from tum2000.errors import ComputationFailed

    missing = [name for name in ("papermill", "ipykernel", "myst_nb")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise ComputationFailed(f"this command needs the book tools ({', '.join(missing)} "
                                "missing): pip install 'tum2000[book]'")


def _root(args: argparse.Namespace):
    from tum2000.book import check_root, find_root, root_of

    if getattr(args, "root", None):
        return check_root(args.root)
    notebook = getattr(args, "notebook", None)
    if notebook and Path(notebook).suffix == ".ipynb" and Path(notebook).is_file():
        return root_of(Path(notebook))
    return find_root()


def cmd_run(args: argparse.Namespace) -> int:
    from tum2000.book import run_notebook
    from tum2000.model.values import parse_assignments

    _book_tools()
    changes = parse_assignments(args.set)
    out = run_notebook(args.notebook, changes, output=args.out, root=_root(args),
                       progress=not args.no_progress)
    print(out)  # where it wrote, alone on stdout (for scripts)
    if not args.no_progress:
        lab = Path(sys.executable).with_name("jupyter")
        print(f"wrote {Path(out).resolve()}; open it with: "
              f"{lab if lab.exists() else 'jupyter'} lab {out}", file=sys.stderr)
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from tum2000.book import build
    from tum2000.model.values import parse_assignments

    _book_tools()
    if args.render_only:
        given = [option for option, value in (
            ("--parameters", args.parameters), ("--set", args.set), ("--quick", args.quick),
            ("--student", args.student), ("--output-dir", args.output_dir),
            ("--force", args.force), ("--strict", args.strict)) if value]
        if given:
            raise BadInput(f"--render-only executes nothing, so it takes no {', '.join(given)} "
                           "(allowed with it: --root)")
        from tum2000.book.build import render_unexecuted

        print(render_unexecuted(_root(args)))
        return 0
    build(parameter_file=args.parameters, quick=args.quick, student=args.student,
          output_dir=args.output_dir, root=_root(args), force=args.force,
          parameters=parse_assignments(args.set), strict=args.strict)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``data check`` (exit 1 naming every file that did not verify) and
    ``data regenerate`` (exit 2 before any work for an unknown name or a file
    too large for this machine)."""
    import time

    from tum2000.sweeps import stored

    root = _root(args)
    if args.action == "check":
        started = time.perf_counter()
        files = stored.select_files(root, args.names)
        failed = 0
        for path in files:
            check = stored.check_file(path, points=None if args.all else
                                      stored.BUILD_CHECK_POINTS,
                                      progress=not args.quiet)
            print(check.line(args.strict), flush=True)
            for note in check.notes if not args.strict else ():
                print(f"  note: {note}", flush=True)
            failed += not check.verified_as(args.strict)
        print(f"checked {len(files)} stored file(s) in {root / 'book' / 'data'} in "
              f"{time.perf_counter() - started:.0f} s: "
              + (f"{failed} did not verify" if failed else "all verified"), file=sys.stderr)
        return 1 if failed else 0
    written = stored.regenerate(args.names, root, workers=args.workers,
                                    progress=not args.quiet)
    for path in written:
        print(path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """One run as NWB or NIX (exit 2 before any work for a bad request or file)."""
    from tum2000.store.export import check_export_request, export_run

    check_export_request(args.out, args.format)
    print(export_run(args.run, args.out, args.format))
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from tum2000.store import cache

    if args.path:
        print(cache.cache_dir())
    elif args.clear:
        count, size, kept = cache.clear()
        print(f"removed {count} file(s), {size / 2**20:.1f} MiB, from {cache.cache_dir()}"
              + (f"; kept {kept} temporary file(s) of writes that may still be running"
                 if kept else ""))
    else:
        entries = cache.entries()
        for entry in entries:
            print(entry.line())
        total = sum(e.size_bytes for e in entries)
        print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
              f"{total / 2**20:.1f} MiB, in {cache.cache_dir()}", file=sys.stderr)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Every grid point x seed through Dask (exit 3: some runs failed; 130: interrupted)."""
    from tum2000.cli.sweep import run

    return run(args, _parameters(args))


# --- the parser ---------------------------------------------------------------------------------

def _add_parameter_options(parser: argparse.ArgumentParser) -> None:
    from tum2000.model.parameters import PRESETS

    parser.add_argument("--preset", default="default", choices=PRESETS,
                        help="named parameter set (default: %(default)s)")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE",
                        help="change one parameter (repeatable); `tum2000 params --list` "
                             "lists names, units and allowed values")


def _add_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", metavar="DIR",
                        help="the book's folder (with _config.yml, _toc.yml, book/); "
                             "default: the working directory or a folder above it")


def make_parser() -> argparse.ArgumentParser:
    from tum2000.config import CACHE_VAR, cache_dir

    parser = _Parser(
        prog="tum2000",
        description="Tsodyks, Uziel & Markram (2000) Fig. 1: simulate, analyse, plot, "
                    "re-execute the book's notebooks and build the book.",
        epilog=f"Dataset cache: {cache_dir()} (set {CACHE_VAR} to move it). {_exit_table()}.")
    parser.add_argument("--version", action="version", version=f"tum2000 {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("simulate", help="simulate the network and write a dataset",
                       epilog=f"Dataset cache: {cache_dir()} (set {CACHE_VAR} to move it).")
    _add_parameter_options(p)
    p.add_argument("--seed", type=_seed, default=1, help="random seed (default: %(default)s)")
    p.add_argument("--out", required=True, help="dataset to write (netCDF, .nc)")
    p.add_argument("--figure", help="also write Fig. 1 to this image file (.png, .pdf, .svg)")
    p.add_argument("--target", default="auto", choices=TARGETS,
                   help="where to simulate (same result on each): the compiled engine, "
                        "else Brian2's numpy target (auto, default); engine; or a Brian2 "
                        "code-generation target")
    p.add_argument("--no-cache", action="store_true",
                   help="simulate even if the dataset cache holds the result; cache nothing")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("theory", help="predict the rate of full population spikes and x "
                       "before/after them from the parameters alone (one JSON object; "
                       "the network is not simulated)")
    _add_parameter_options(p)
    p.add_argument("--seed", type=_seed, default=1,
                   help="seed of the model's finite-size noise (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_theory)

    p = sub.add_parser("summary", help="print headline statistics of a dataset as JSON")
    p.add_argument("file", help="dataset written by `tum2000 simulate`")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("figure", help="draw Fig. 1 (raster, activity, recovered x)")
    p.add_argument("file", help="dataset written by `tum2000 simulate`")
    p.add_argument("--out", required=True, help="image to write (.png, .pdf, .svg, ...)")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("params", help="model parameters (JSON, or --list), or what a "
                                      "notebook declares (tum2000 params NOTEBOOK)")
    p.add_argument("notebook", nargs="?",
                   help="a book notebook (name or path): list the parameters it declares")
    _add_parameter_options(p)
    p.add_argument("--list", action="store_true", help="list names, units, sources, ranges")
    _add_root_option(p)
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("run", help="re-execute one book notebook with papermill")
    p.add_argument("notebook", help="a book notebook: its name (panel_a_raster) or path")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a parameter the notebook declares (repeatable); "
                        "`tum2000 params NOTEBOOK` lists them")
    p.add_argument("--out", help="executed notebook to write "
                                 "(default: output/notebooks/NAME.ipynb)")
    p.add_argument("--no-progress", action="store_true", help="no progress messages")
    _add_root_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("book", help="execute every notebook and build the book")
    p.add_argument("--parameters", metavar="FILE",
                   help="YAML/JSON: name: value for every notebook that declares it, "
                        "or notebook: {name: value}")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a parameter for every notebook that declares it (repeatable)")
    p.add_argument("--quick", action="store_true", help="short simulations (a smoke build)")
    p.add_argument("--student", action="store_true",
                   help="student edition: exercises without their solutions, in "
                        "_build/student/html, and the bundle _build/student/tum2000-student.zip")
    p.add_argument("--output-dir", metavar="DIR", help="where _build/ goes (default: the root); "
                   "a variant book (--parameters, --set, --quick) goes to _build/variant-NAME/")
    p.add_argument("--force", action="store_true", help="re-execute every notebook")
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 1) before executing anything if the book's stored data "
                        "(book/data) does not verify; without it the build goes on and warns")
    p.add_argument("--render-only", action="store_true",
                   help="render the committed notebooks without executing anything, into "
                        "_build/unexecuted/html (no figures or computed numbers; seconds): "
                        "for reading the text and checking links")
    _add_root_option(p)
    p.set_defaults(func=cmd_book)

    from tum2000.cli.sweep import positive_int

    p = sub.add_parser("data", help="check or regenerate the results stored with the book "
                                    "(book/data/*.nc)")
    data = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = data.add_parser("check", help="verify every stored file: its content hash and "
                        "recomputed runs (exit 1 naming each file that does not verify)")
    q.add_argument("names", nargs="*", metavar="NAME", help="stored files (default: all)")
    q.add_argument("--all", action="store_true",
                   help="recompute every fingerprinted run, not only the two a build checks")
    q.add_argument("--strict", action="store_true",
                   help="also fail when a recomputed run's spikes differ from its stored "
                        "fingerprint although every statistic agrees (CI's rule)")
    q.add_argument("--quiet", action="store_true", help="no progress messages")
    _add_root_option(q)
    q.set_defaults(func=cmd_data)
    q = data.add_parser("regenerate", help="recompute stored files and replace them "
                        "atomically (default: all of them)")
    q.add_argument("names", nargs="*", metavar="NAME", help="stored files (default: all)")
    q.add_argument("--workers", type=positive_int, default=None,
                   help="simulations at once (default: one per core)")
    q.add_argument("--quiet", action="store_true", help="no progress messages")
    _add_root_option(q)
    q.set_defaults(func=cmd_data)

    p = sub.add_parser("export", help="write one run's spikes, recorded x and u and "
                       "parameters as NWB (pynwb) or NIX (Neo's NixIO)")
    p.add_argument("run", metavar="RUN.nc", help="dataset written by `tum2000 simulate`")
    p.add_argument("--format", required=True, choices=("nwb", "nix"), help="file format")
    p.add_argument("--out", required=True, help="file to write (.nwb or .nix)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("cache", help="list or clear the dataset cache, or print its folder")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="every entry (the default)")
    what.add_argument("--clear", action="store_true", help="remove every entry")
    what.add_argument("--path", action="store_true", help="print the cache's folder")
    p.set_defaults(func=cmd_cache)

    from tum2000.cli.sweep import add_arguments as add_sweep_arguments

    p = sub.add_parser("sweep", help="run a parameter grid x seeds through Dask; write "
                       "their statistics as one dataset")
    _add_parameter_options(p)
    add_sweep_arguments(p)
    p.set_defaults(func=cmd_sweep)
    return parser


# --- the one error path ---------------------------------------------------------------------

def _where(error: BaseException) -> str:
    """The innermost frame of tum2000's own code in the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if "tum2000" in f.filename.replace("\\", "/").split("/")]
    frame = (own or frames or [None])[-1]
    if frame is None:
        return "tum2000"
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def report(error: BaseException, debug: bool = False) -> int:
    """Print ``error`` as one line (a traceback too with ``debug``); return the status."""
    status = exit_status(error)
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, KeyboardInterrupt):
        name = getattr(error, "signal_name", "SIGINT")
        print(f"interrupted ({name}): nothing written, nothing partial cached, "
              "no temporary file left", file=sys.stderr)
    elif isinstance(error, Tum2000Error):
        print(f"error: {first_line(str(error)) or type(error).__name__}", file=sys.stderr)
    else:
        detail = first_line(str(error))
        hint = "" if debug else " (run with --debug for the traceback)"
        print(f"error in {_where(error)}: {type(error).__name__}"
              f"{': ' + detail if detail else ''}{hint}", file=sys.stderr)
    return status


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {first_line(str(message))}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (see the module's table)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    formatwarning = warnings.formatwarning
    if not debug:
        warnings.formatwarning = _warning_line
    try:
        with handlers_installed():
            try:
                pin_relative_settings()
                args = make_parser().parse_args(argv)
                return args.func(args)
            except SystemExit as done:  # --help, --version
                return done.code if isinstance(done.code, int) else EXIT_FAILED
            except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error
                import os

                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return EXIT_FAILED
            except BaseException as error:  # noqa: BLE001 - the one error path
                return report(error, debug)
    finally:
        warnings.formatwarning = formatwarning

