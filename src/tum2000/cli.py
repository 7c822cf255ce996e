"""The ``tum2000`` command line.

Bad input (an unknown parameter or preset, a value out of range, a file that
is not a tum2000 dataset) exits with status 2 and a one-line message, and
writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from .book import BookError
from .cache import ENV_VAR, cache_dir
from .dataset import DatasetError
from .model.parameters import PRESETS, ParameterError, Parameters, parse_assignment, preset

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def _parameters(args: argparse.Namespace) -> Parameters:
    changes = dict(parse_assignment(item) for item in args.set or [])
    return preset(args.preset, **changes)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer >= 0, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be an integer >= 0, got {text!r}")
    return value


def _add_parameter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="default", choices=PRESETS,
                        help="named parameter set (default: %(default)s)")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE",
                        help="change one parameter (repeatable); `tum2000 params --list` "
                             "lists names, units and allowed values")


def cmd_simulate(args: argparse.Namespace) -> int:
    from .cache import cached_simulate
    from .dataset import save
    from .model.simulation import simulate

    params = _parameters(args)
    for path in (args.out, args.figure):
        if path is not None and Path(path).is_dir():
            raise UsageError(f"{path} is a directory, expected a file name")
    progress = not args.quiet
    if args.no_cache:
        ds = simulate(params, args.seed, target=args.target, progress=progress)
    else:
        ds = cached_simulate(params, args.seed, target=args.target, progress=progress)
    save(ds, args.out)
    if not args.quiet:
        print(f"wrote {args.out}", file=sys.stderr)
    if args.figure:
        from .figures import save_figure1

        save_figure1(ds, args.figure)
        if not args.quiet:
            print(f"wrote {args.figure}", file=sys.stderr)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from .analysis import summarize
    from .dataset import load

    print(json.dumps(summarize(load(args.file)), allow_nan=False))
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from .dataset import load
    from .figures import save_figure1

    ds = load(args.file)
    save_figure1(ds, args.out)
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    if args.list:
        from .model.parameters import parameter_table

        for row in parameter_table():
            print(f"{row['name']:22s} {row['default']:>10s} {row['unit']:3s}  "
                  f"[{row['source']}] {row['allowed']}: {row['meaning']}")
        return 0
    print(json.dumps(_parameters(args).to_dict(), indent=1, sort_keys=True))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .book import run_notebook

    changes = {}
    for item in args.set or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"expected NAME=VALUE, got {item!r}")
        changes[name.strip()] = value.strip()
    run_notebook(args.notebook, changes, output=args.out)
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import build

    build(parameter_file=args.parameters, quick=args.quick, student=args.student)
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tum2000",
        description="Tsodyks, Uziel & Markram (2000) Fig. 1: simulate, analyse, plot, "
                    "and re-execute the book's notebooks.",
        epilog=f"Dataset cache: {cache_dir()} (set {ENV_VAR} to move it). "
               "Exit status 2: bad input, nothing written.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("simulate", help="simulate the network and write a dataset",
                       epilog=f"Dataset cache: {cache_dir()} (set {ENV_VAR} to move it).")
    _add_parameter_options(p)
    p.add_argument("--seed", type=_seed, default=1, help="random seed (default: %(default)s)")
    p.add_argument("--out", required=True, help="dataset to write (netCDF, .nc)")
    p.add_argument("--figure", help="also write Fig. 1 to this image file")
    p.add_argument("--target", default="auto",
                   choices=("auto", "engine", "numpy", "cython", "cpp_standalone"),
                   help="where to simulate (same result on each): the compiled engine, "
                        "else Brian2's numpy target (auto, default); engine; or a Brian2 "
                        "code-generation target")
    p.add_argument("--no-cache", action="store_true",
                   help="simulate even if the dataset cache holds the result")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("summary", help="print headline statistics of a dataset as JSON")
    p.add_argument("file", help="dataset written by `tum2000 simulate`")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("figure", help="draw Fig. 1 (raster, activity, recovered x)")
    p.add_argument("file", help="dataset written by `tum2000 simulate`")
    p.add_argument("--out", required=True, help="image to write (.png, .pdf, .svg)")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("params", help="print a parameter set as JSON, or list all parameters")
    _add_parameter_options(p)
    p.add_argument("--list", action="store_true", help="list names, units, sources, ranges")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("run", help="re-execute one book notebook with papermill")
    p.add_argument("notebook", help="a notebook under book/")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a parameter the notebook declares (repeatable)")
    p.add_argument("--out", help="executed notebook to write")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("book", help="execute every notebook and build the book")
    p.add_argument("--parameters", help="YAML/JSON file of notebook parameters")
    p.add_argument("--quick", action="store_true", help="short simulations (a smoke build)")
    p.add_argument("--student", action="store_true",
                   help="student edition: exercises without their solutions")
    p.set_defaults(func=cmd_book)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except (UsageError, ParameterError, DatasetError, FileNotFoundError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except BookError as err:  # a notebook failed or the book did not build
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
