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

Bad input never ends in a traceback: an :class:`~analysis.inputs.loading.InputError` prints
every violation (``validate`` on standard output, with a per-column summary; the other
commands on standard error) and exits with status 1 (so does an OSError, e.g. an output
file that cannot be written, or a study file that cannot be used). Usage errors exit
with status 2 (argparse).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analysis.inputs.loading import InputError, Study, parse_cutoff
from analysis.inputs.studyfile import StudyFileError, StudySettings, load_settings, resolve_study


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
    """[COHORT] [--study FILE] [--kinetics FILE] [--cutoff YYYY-MM-DD]: the input of every data
    command. Arguments override the study file, which overrides the defaults (the demo)."""
    parser.add_argument(
        "cohort",
        metavar="COHORT",
        nargs="?",
        default=None,
        help="cohort table, CSV (UTF-8) or Excel .xlsx (default: the study file's, else the bundled demo)",
    )
    parser.add_argument(
        "--study", metavar="FILE", help="study file (default: study.yml in the working directory, when present)"
    )
    parser.add_argument(
        "--kinetics", metavar="FILE", default="", help="CAR-T kinetics table, CSV or .xlsx ('none': no kinetics table)"
    )
    parser.add_argument(
        "--cutoff",
        metavar="YYYY-MM-DD",
        type=_cutoff,
        default=None,
        help="data cut-off; any later date is an error (required for an export named without a study file)",
    )
    parser.add_argument("--sheet", metavar="NAME", help="the workbook sheet holding the cohort")
    parser.add_argument(
        "--disease",
        metavar="PROFILE",
        default=None,
        help="disease profile: b-all, lbcl, mm (default: the study file's, else b-all)",
    )


def settings_from_args(args: argparse.Namespace) -> StudySettings:
    """The effective settings (raises StudyFileError)."""
    return resolve_study(
        args.study,
        cohort=args.cohort,
        kinetics=args.kinetics,
        cutoff=args.cutoff,
        sheet=args.sheet,
        disease=getattr(args, "disease", None),
    )


def study_from_args(args: argparse.Namespace) -> Study:
    """Load the study named by :func:`add_study_arguments` (raises InputError, StudyFileError)."""
    return load_settings(settings_from_args(args))


def describe(study: Study) -> str:
    """One line of counts: "93 patients, 4 centers, 24 patients with 212 kinetics samples"."""
    cohort = study.cohort
    parts = [_count(len(cohort), "patient"), _count(cohort["center"].nunique(), "center")]
    if study.kinetics is not None:
        kinetics = study.kinetics
        parts.append(
            f"{_count(kinetics['patient_id'].nunique(), 'patient')} with {_count(len(kinetics), 'kinetics sample')}"
        )
    text = ", ".join(parts)
    return text + " (SYNTHETIC data set)" if study.is_synthetic else text


def screened_out(study: Study) -> str:
    """The rows of the export the study file's screening rules left out before validation, by
    reason ('' when none): validate's counts then differ from the export's, and it says why
    (new user 31: "96 records" became "93 patients" without a word until the render)."""
    from analysis.inputs.screening import rows_left_out

    ruled = rows_left_out(study.excluded)
    if not ruled:
        return ""
    n = sum(e.n for e in ruled)
    reasons = "; ".join(f"{e.reason} ({e.n})" for e in ruled)
    samples = f", with {_count(study.samples_excluded, 'kinetics sample')}" if study.samples_excluded else ""
    return (
        f"the study file's screening rules left {_count(n, 'row')} of the export out before validation "
        f"({reasons}){samples}; the cohort flow counts them"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _refuse_inputs(output, settings: StudySettings, option: str) -> None:
    """An output path that is one of the files the run reads is refused before anything is
    written (raises OSError: the message names the option, the path and which input it is)."""
    from analysis.inputs.outfiles import refuse_input

    inputs = [
        ("the cohort export", settings.cohort),
        ("the kinetics export", settings.kinetics),
        ("the study file", settings.study_file),
    ]
    refuse_input(output, inputs, option)


def _validate(args: argparse.Namespace) -> int:
    from analysis.inputs.problems import format_report, format_warnings, write_problems_csv
    from analysis.inputs.studyfile import hint_context

    settings = settings_from_args(args)
    _refuse_inputs(args.problems, settings, "--problems")
    headers = settings.mapping.columns  # contract column -> the export's header
    try:
        study = load_settings(settings)
    except InputError as err:
        # The data manager's report: on standard output (it can be redirected to a file).
        print(format_report(err, headers, hint_context(settings)))
        if err.warnings:
            print("\n" + format_warnings(err.warnings))
        if args.problems:
            written = write_problems_csv(err.violations, args.problems, headers, err.warnings)
            print(f"\nEvery problem written to {written}")
        return 1
    if args.problems:  # only the warnings: a stale list of problems must not survive a clean run
        write_problems_csv([], args.problems, headers, study.warnings)
    for note in study.notes:
        print(f"note: {note}")
    if study.not_collected:
        print(
            f"not collected: {', '.join(study.not_collected)} (optional columns: the report leaves out "
            "what they would show)"
        )
    if left_out := screened_out(study):
        print(f"excluded: {left_out}")
    print(f"OK: {describe(study)}")
    if study.warnings:
        print("\n" + format_warnings(study.warnings))
    return 0


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_arguments(parser)
    parser.add_argument(
        "--problems",
        metavar="FILE.csv",
        help="also write every problem to this CSV (row, record, column, rule, value, related value)",
    )


COMMANDS: dict[str, Command] = {
    "validate": Command(
        "check a cohort (and its kinetics) against the data contract (data/README.md)", _validate, _validate_arguments
    ),
}


def _map(args: argparse.Namespace) -> int:
    from analysis.inputs.errors import terminal_text
    from analysis.inputs.mapping import MappingOutputError, propose_mapping, write_study_file

    try:
        proposal = propose_mapping(
            args.export, kinetics=args.kinetics, sheet=args.sheet, dictionary=args.dictionary, disease=args.disease
        )
    except ValueError as err:  # a sheet or a dictionary that is not what it was named as
        print(f"error: {terminal_text(str(err))}", file=sys.stderr)
        return 1
    print(terminal_text(proposal.report()))  # it echoes the export's values: no escape sequence reaches the terminal
    if args.output:
        from analysis.inputs.outfiles import refuse_input

        target = Path(args.output)
        refuse_input(
            target,
            [
                ("the cohort export", args.export),
                ("the kinetics export", args.kinetics),
                ("the data dictionary", args.dictionary),
                ("the data dictionary", proposal.dictionary_file),
            ],
            "-o",
        )
        if target.exists() and not args.force:
            print(f"error: {target} exists: choose another name or add --force to overwrite it", file=sys.stderr)
            return 1
        try:
            write_study_file(proposal, target)
        except MappingOutputError as err:
            print(f"error: {terminal_text(str(err))}", file=sys.stderr)
            return 1
        print(f"\nWrote {target}: review it, set data.cutoff, then run `python -m analysis validate --study {target}`")
    return 0 if proposal.complete else 1


def _map_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", metavar="EXPORT", help="the cohort export, CSV or Excel .xlsx")
    parser.add_argument("--kinetics", metavar="FILE", help="the kinetics export, CSV or .xlsx")
    parser.add_argument(
        "--sheet",
        metavar="NAME",
        help="the sheet holding the cohort (default: the first sheet that is not a data dictionary)",
    )
    parser.add_argument(
        "--dictionary",
        metavar="FILE.csv",
        help="REDCap's data dictionary CSV (default: a CSV named '...DataDictionary...' beside "
        "the export, or a dictionary sheet of the workbook)",
    )
    parser.add_argument(
        "--disease",
        choices=("b-all", "lbcl", "mm"),
        default=None,
        help="the disease profile to map onto (default: the one the export's headers and "
        "response levels speak of; b-all when none)",
    )
    parser.add_argument("-o", "--output", metavar="study.yml", help="write the proposed study file here")
    parser.add_argument("--force", action="store_true", help="overwrite the output file if it exists")


COMMANDS["map"] = Command(
    "propose a study file mapping an export's columns and values onto the contract", _map, _map_arguments
)


def _synthesize(args: argparse.Namespace) -> int:
    from analysis.demo.synthetic import write_synthetic

    if args.disease not in (None, "b-all"):  # the LBCL and MM demos (analysis.demo.synthetic_disease)
        from analysis.demo import synthetic_lbcl, synthetic_mm
        from analysis.demo.synthetic_disease import write

        calibration = {"lbcl": synthetic_lbcl.CALIBRATION, "mm": synthetic_mm.CALIBRATION}[args.disease]
        print(write(calibration, Path(args.out) / args.disease / "cohort.csv"))
        return 0
    for path in write_synthetic(args.out, args.n, args.seed):
        print(path)
    return 0


def _synthesize_arguments(parser: argparse.ArgumentParser) -> None:
    from analysis.demo.synthetic import DEFAULT_SEED, N_PUBLISHED

    parser.add_argument("--out", default="data", help="output directory (default: data)")
    parser.add_argument("--n", type=int, default=N_PUBLISHED, help=f"patients (default: {N_PUBLISHED})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    parser.add_argument(
        "--disease",
        choices=("b-all", "lbcl", "mm"),
        default=None,
        help="the LBCL or MM demo instead (written to OUT/<disease>/cohort.csv; --n, --seed ignored)",
    )


COMMANDS["synthesize"] = Command("write the SYNTHETIC demo cohort (data/README.md)", _synthesize, _synthesize_arguments)


def _document(args: argparse.Namespace) -> int:
    """The documents ``make report`` renders: the manuscript and its supplement (B-ALL,
    report.qmd supplement.qmd) or report-disease.qmd supplement-disease.qmd (LBCL, MM)."""
    from analysis.inputs.studyfile import default_study_file, read_study_file
    from analysis.registry.diseases import DEFAULT_DISEASE, disease

    key = args.disease
    if not key:
        path = Path(args.study) if args.study else default_study_file(Path.cwd())
        key = read_study_file(path).model.disease if path is not None else DEFAULT_DISEASE
    try:
        profile = disease(key)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        "report.qmd supplement.qmd" if profile.key == DEFAULT_DISEASE else "report-disease.qmd supplement-disease.qmd"
    )
    return 0


def _document_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", help="study file (default: study.yml when present)")
    parser.add_argument("--disease", help="disease profile (b-all, lbcl, mm): overrides the study file")


COMMANDS["document"] = Command(
    "print the documents make report renders for a study (report.qmd supplement.qmd, or "
    "report-disease.qmd supplement-disease.qmd)",
    _document,
    _document_arguments,
)


def _results(args: argparse.Namespace) -> int:
    from analysis.inputs.outfiles import resolve_output
    from analysis.report.export import write_results
    from analysis.report.results import compute_results

    if args.output:  # a folder, a pipe or a device is refused before any computing
        try:
            resolve_output(args.output)
        except OSError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    settings = settings_from_args(args)
    _refuse_inputs(args.output, settings, "-o")
    if settings.disease != "b-all":  # LBCL, MM: analysis.report.disease_results
        from analysis.inputs.outfiles import write_atomic
        from analysis.report.disease_results import compute_disease_results, disease_plan, disease_results_to_json

        results = compute_disease_results(load_settings(settings), **disease_plan(settings.analysis))
        text = disease_results_to_json(results) + "\n"
        write_atomic(args.output, text) if args.output else sys.stdout.write(text)
        return 0
    write_results(compute_results(load_settings(settings), **settings.analysis.model_dump()), args.output)
    return 0


def _results_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON here (default: standard output)")


COMMANDS["results"] = Command(
    "export every number of the report as JSON (docs/results.md)", _results, _results_arguments
)


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
    except StudyFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader of the output stopped (`validate ... | head`): nothing is wrong with the
        # data; standard output goes nowhere from here on, so that exiting does not fail again
        # (Python's documented recipe, library/signal.html#note-on-sigpipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
