"""``wfasync``: check a project for blocking calls in coroutines, fix them, explain the rules.

Exit codes
    0   nothing found (``check``); nothing left to fix (``fix``)
    1   findings (``check``), findings left after fixing or changes shown (``fix``), or a file
        that could not be read or parsed (reported as one ``file:line:col: error:`` line; every
        other file is still checked); ``check --exit-zero`` makes these 0
    2   usage or configuration error, or an internal error of the analyzer
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..config import SCOPES, Config, ConfigError
from .command_plugins import PluginCommand, load_commands
from .discovery import DiscoveryError, discover
from .output import FORMATS, Style

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(Exception):
    """A problem with what was asked: printed as one line, exit 2."""


def _codes_arg(value: str) -> list[str]:
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    for code in codes:
        if not (code.startswith("WFA") and (code[3:].isdigit() or not code[3:]) and len(code) <= 6):
            raise argparse.ArgumentTypeError(f"{code!r} is not a rule code or prefix like WFA101, WFA1 or WFA")
    return codes


def _add_selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the current folder)")
    p.add_argument("--config", metavar="FILE", help="pyproject.toml to read [tool.wfasync] from "
                   "(default: the nearest one at or above the current folder)")
    p.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    p.add_argument("--select", type=_codes_arg, metavar="CODES",
                   help="comma-separated codes or prefixes to report (replaces the configured select)")
    p.add_argument("--ignore", type=_codes_arg, metavar="CODES",
                   help="comma-separated codes or prefixes to drop (added to the configured ignore)")
    p.add_argument("--scope", choices=SCOPES, help="'async': every coroutine; 'steps': workflow steps "
                   "and the coroutines they await")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="gitignore-style pattern to skip, relative to the project root (repeatable)")
    p.add_argument("--force-exclude", action="store_true",
                   help="apply excludes to files named on the command line too (for pre-commit)")
    p.add_argument("--no-gitignore", action="store_true", help="do not read .gitignore files")


def build_parser(extra: Mapping[str, PluginCommand] | None = None) -> argparse.ArgumentParser:
    """The command line; ``extra`` adds the commands other packages offer (``timeline``)."""
    parser = argparse.ArgumentParser(
        prog="wfasync",
        description="Find and fix blocking calls inside asyncio coroutines and workflow steps.",
        epilog="Exit status: 0 clean, 1 findings (or a file that could not be parsed), 2 usage or "
               "configuration error.",
    )
    parser.add_argument("--version", action="version", version=f"wfasync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="report blocking calls", description="Report blocking calls in "
                           "coroutines and workflow steps.")
    _add_selection_options(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write the results cache")
    check.add_argument("--cache-dir", metavar="DIR", help="where to keep the cache (default: "
                       ".wfasync_cache in the project root)")
    check.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                       help="processes to use (default: one per core; 1 = no pool)")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    check.add_argument("--no-source", action="store_true", help="text format: do not show source lines")
    check.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even when there are findings or unparsable files (usage and "
                            "configuration errors still exit 2)")
    check.add_argument("-v", "--verbose", action="store_true",
                       help="say on stderr how many files came from the cache, were analysed or skipped")

    fix = sub.add_parser("fix", help="rewrite blocking calls that can be rewritten safely",
                         description="Rewrite blocking calls that can be rewritten safely; report the rest.")
    _add_selection_options(fix)
    fix.add_argument("--diff", action="store_true", help="print a unified diff and change nothing")
    fix.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    explain = sub.add_parser("explain", help="what a rule finds, why it matters, how to fix it")
    explain.add_argument("code", metavar="CODE", help="a rule code such as WFA101")

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--markdown", action="store_true", help="the full reference as Markdown (docs/rules.md)")
    for name, command in (extra or {}).items():
        command.configure(sub.add_parser(name, help=command.help))
    return parser


# --- configuration --------------------------------------------------------------------------


def resolve_config(args: argparse.Namespace) -> tuple[Config, Path]:
    """The settings of this run and the project root they are relative to."""
    from .project_config import find_pyproject, load_pyproject

    config = Config()
    root = Path.cwd()
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise UsageError(f"--config {args.config}: no such file")
        config = load_pyproject(path)
        root = path.resolve().parent
    elif not args.isolated:
        start = Path(args.paths[0]) if args.paths else Path.cwd()
        found = find_pyproject(start if start.exists() else Path.cwd())
        if found is not None:
            config = load_pyproject(found)
            root = found.parent
    changes: dict[str, object] = {}
    if args.select is not None:
        changes["select"] = frozenset(args.select)
    if args.ignore:
        changes["ignore"] = config.ignore | frozenset(args.ignore)
    if args.scope:
        changes["scope"] = args.scope
    if args.exclude:
        changes["exclude"] = tuple(config.exclude) + tuple(args.exclude)
    return (dataclasses.replace(config, **changes) if changes else config), root


def _files(args: argparse.Namespace, config: Config, root: Path) -> list[Path]:
    paths = args.paths or ["."]
    try:
        return discover(paths, root, config.exclude, use_gitignore=not args.no_gitignore,
                        force_exclude=args.force_exclude)
    except DiscoveryError as exc:
        raise UsageError(str(exc)) from None


def _project_files(args: argparse.Namespace, config: Config, root: Path, files: list[Path]) -> list[Path]:
    """What the project index covers: every file of the project (so that a coroutine in a
    checked file sees the blocking helpers of modules that were not named, as with pre-commit's
    file lists), plus the checked files. Only under a marked project root (pyproject.toml or
    .git): a folder that is merely the current one may be a home directory."""
    if not ((root / "pyproject.toml").is_file() or (root / ".git").exists()):
        return list(files)
    try:
        shown_root = os.path.relpath(root)
    except ValueError:  # another drive
        shown_root = str(root)
    try:
        project = discover([shown_root], root, config.exclude, use_gitignore=not args.no_gitignore)
    except (DiscoveryError, OSError):
        project = []
    merged = {os.path.abspath(p): p for p in project}
    for f in files:
        merged.setdefault(os.path.abspath(f), f)
    return list(merged.values())


# --- commands -------------------------------------------------------------------------------


def _fewer_collections() -> None:
    """Parsing builds millions of small, long-lived objects (ast and libcst trees) with no
    reference cycles worth collecting; at the default threshold the cyclic collector walks them
    over and over, about a third of a cold run. Collect rarely instead: memory stays bounded."""
    import gc

    gc.set_threshold(100_000, 50, 100)



def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .cache import CACHE_DIR_NAME
    from .output import write_github, write_json, write_text
    from .runner import check_cached

    _fewer_collections()
    config, root = resolve_config(args)
    files = _files(args, config, root)
    cache_dir = None if args.no_cache else Path(args.cache_dir) if args.cache_dir else root / CACHE_DIR_NAME
    project = _project_files(args, config, root, files) if files else []
    result, index, unchanged = check_cached(files, project, config, cache_dir=cache_dir, jobs=args.jobs)
    if args.verbose:
        print(f"wfasync: {result.files_checked} files: {result.cache_hits} from the cache, "
              f"{result.files_analysed} analysed, {result.skipped_by_precheck} skipped by the pre-check "
              f"(no coroutine that might block); index: "
              f"{'yes' if index is not None else 'not needed (unchanged tree)' if unchanged else 'none'}",
              file=sys.stderr)

    stream = out
    handle = None
    if args.output:
        try:
            handle = open(args.output, "w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {args.output}: {exc.strerror or exc}") from None
        stream = handle
    try:
        if args.format == "json":
            write_json(result, stream)
        elif args.format == "sarif":
            import json

            from .sarif import build_sarif

            json.dump(build_sarif(result, root), stream, indent=2)
            stream.write("\n")
        elif args.format == "github":
            write_github(result, stream)
        else:
            write_text(result, stream, Style.for_stream(stream, args.color), show_source=not args.no_source)
    finally:
        if handle is not None:
            handle.close()
    for error in result.errors:
        if args.format != "text" or args.output:
            print(error.text(), file=sys.stderr)
    if any(e.internal for e in result.errors):
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if (result.findings or result.errors) else EXIT_OK


def cmd_fix(args: argparse.Namespace, out: TextIO) -> int:
    from ..fix.files import fix_files

    _fewer_collections()
    config, root = resolve_config(args)
    files = _files(args, config, root)
    style = Style.for_stream(out, args.color)
    from .cache import CACHE_DIR_NAME

    # The project index keeps its module summaries in the cache folder, as for check.
    report = fix_files(files, config, write=not args.diff, cache_dir=root / CACHE_DIR_NAME,
                       project=_project_files(args, config, root, files) if files else None)
    for file_report in report.files:
        if args.diff and file_report.diff:
            out.write(file_report.diff)
    for line in report.lines(style, diff=args.diff):
        out.write(line + "\n")
    if report.internal_errors:
        return EXIT_ERROR
    if args.diff and report.changed_files:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if (report.remaining or report.errors) else EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    from ..knowledge.rules import RULES
    from .docs_gen import explain_text

    code = args.code.strip().upper()
    if code not in RULES:
        raise UsageError(f"unknown rule code {args.code!r}; known: {', '.join(sorted(RULES))}")
    out.write(explain_text(RULES[code]))
    return EXIT_OK


def cmd_rules(args: argparse.Namespace, out: TextIO) -> int:
    from .docs_gen import rules_markdown, rules_table

    out.write(rules_markdown() if args.markdown else rules_table())
    return EXIT_OK


COMMANDS = {"check": cmd_check, "fix": cmd_fix, "explain": cmd_explain, "rules": cmd_rules}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A built-in command starts without scanning the installed entry points.
    extra = {} if argv[:1] and argv[0] in COMMANDS else load_commands(COMMANDS, sys.stderr)
    parser = build_parser(extra)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    out = sys.stdout
    try:
        if args.command in extra:
            return extra[args.command].run(args)
        return COMMANDS[args.command](args, out)
    except (UsageError, ConfigError) as exc:
        print(f"wfasync: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("wfasync: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`wfasync check | head`): not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_FINDINGS


def run() -> None:
    """The ``wfasync`` command: :func:`main`, then out of the process. After a built-in
    command, without tearing the heap down: freeing the trees and the index one object at a
    time takes longer than a warm check, and everything that must outlive the run (the
    output, the cache, a fixed file) has been written by then."""
    argv = sys.argv[1:]
    code = main(argv)
    if not (argv[:1] and argv[0] in COMMANDS):
        sys.exit(code)  # a command of another package may leave work to its exit handlers
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # the reader went away, or the stream is closed: nothing more can be said
    os._exit(code)


if __name__ == "__main__":
    run()
