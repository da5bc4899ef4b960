"""Command line: ``python -m analysis <command> ...``.

Subcommands live in :data:`COMMANDS` (name -> :class:`Command`). Adding one takes a
few lines, e.g.::

    def _results(args: argparse.Namespace) -> int:
        study = study_from_args(args)
        ...
        return 0

    COMMANDS["results"] = Command(
        "export the results object as JSON",
        _results,
        lambda parser: (add_study_arguments(parser), parser.add_argument("-o", "--output")),
    )

Bad input never ends in a traceback: an :class:`~analysis.loading.InputError` prints
every violation on standard error and exits with status 1 (so does an OSError, e.g. an
output file that cannot be written). Usage errors exit with status 2 (argparse).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from analysis.loading import DEFAULT_CUTOFF, InputError, Study, load_study, parse_cutoff


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[argparse.Namespace], int]
    #: Adds the subcommand's arguments to its parser.
    arguments: Callable[[argparse.ArgumentParser], object] = lambda parser: None


def _cutoff(text: str):
    try:
        return parse_cutoff(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    """COHORT [--kinetics FILE] [--cutoff YYYY-MM-DD]: the input of every data command."""
    parser.add_argument("cohort", metavar="COHORT", help="cohort table, CSV (UTF-8) or Excel .xlsx")
    parser.add_argument("--kinetics", metavar="FILE", help="CAR-T kinetics table, CSV or .xlsx")
    parser.add_argument("--cutoff", metavar="YYYY-MM-DD", type=_cutoff, default=parse_cutoff(DEFAULT_CUTOFF),
                        help=f"data cut-off; any later date is an error (default {DEFAULT_CUTOFF})")


def study_from_args(args: argparse.Namespace) -> Study:
    """Load the study named by :func:`add_study_arguments` (raises InputError)."""
    return load_study(args.cohort, args.kinetics, cutoff=args.cutoff)


def describe(study: Study) -> str:
    """One line of counts: "93 patients, 4 centers, 24 patients with 212 kinetics samples"."""
    cohort = study.cohort
    parts = [_count(len(cohort), "patient"), _count(cohort["center"].nunique(), "center")]
    if study.kinetics is not None:
        kinetics = study.kinetics
        parts.append(f"{_count(kinetics['patient_id'].nunique(), 'patient')} with "
                     f"{_count(len(kinetics), 'kinetics sample')}")
    text = ", ".join(parts)
    return text + " (SYNTHETIC data set)" if study.is_synthetic else text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _validate(args: argparse.Namespace) -> int:
    print(f"OK: {describe(study_from_args(args))}")
    return 0


COMMANDS: dict[str, Command] = {
    "validate": Command("check a cohort (and its kinetics) against the data contract (data/README.md)",
                        _validate, add_study_arguments),
}


def _synthesize(args: argparse.Namespace) -> int:
    from analysis.synthetic import write_synthetic

    for path in write_synthetic(args.out, args.n, args.seed):
        print(path)
    return 0


def _synthesize_arguments(parser: argparse.ArgumentParser) -> None:
    from analysis.synthetic import DEFAULT_SEED, N_PUBLISHED

    parser.add_argument("--out", default="data", help="output directory (default: data)")
    parser.add_argument("--n", type=int, default=N_PUBLISHED, help=f"patients (default: {N_PUBLISHED})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")


COMMANDS["synthesize"] = Command("write the SYNTHETIC demo cohort (data/README.md)", _synthesize,
                                 _synthesize_arguments)


def _results(args: argparse.Namespace) -> int:
    from analysis.results import compute_results

    # Written beside the target and renamed: an earlier results file is never half-overwritten.
    # A symlink is written through (its target is replaced, the link stays); a device, a
    # folder or a pipe is refused (before any computing) rather than replaced by a file.
    target = Path(os.path.realpath(args.output)) if args.output else None
    if target is not None and target.exists() and not target.is_file():
        print(f"error: {args.output}: not a regular file; give the path of a file to write", file=sys.stderr)
        return 1
    text = compute_results(study_from_args(args)).to_json() + "\n"
    if target is None:
        sys.stdout.write(text)
        return 0
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a killed run
    try:
        with open(partial, "x", encoding="utf-8") as fh:  # exclusive: never through a planted link
            fh.write(text)
        partial.replace(target)
    except BaseException:  # a full disk, a failed rename, an interrupt: no partial file is left
        partial.unlink(missing_ok=True)
        raise
    return 0


def _results_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON here (default: standard output)")


COMMANDS["results"] = Command("export every number of the report as JSON (shared/spec/results.md)", _results,
                              _results_arguments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a value in any script prints on any console
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as err:
        print(err.format(), file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
