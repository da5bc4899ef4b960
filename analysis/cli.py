"""Command line: ``python -m analysis <command> ...``.

Subcommands live in :data:`COMMANDS` (name -> :class:`Command`). Adding one takes a
few lines, e.g.::

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
