"""``wfasync timeline RUN.json -o RUN.html``: draw a saved timeline as an HTML page.

Reached through the ``wfasync.commands`` entry point group, so the static package's command
line offers it without importing the runtime.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .model import Timeline, TimelineError, write_atomically
from .page import render

HELP = "draw a timeline saved as JSON (handler.save_timeline) as an HTML page"

EXIT_OK = 0
EXIT_ERROR = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Draw a timeline saved with handler.save_timeline('run.json') as one HTML page: a lane "
        "per step worker, a bar per execution, blocked-loop spans in red."
    )
    parser.add_argument("source", metavar="RUN.json", help="a timeline saved as JSON")
    parser.add_argument("-o", "--output", metavar="FILE", help="the page to write (default: RUN.html beside the source)")


def run(args: argparse.Namespace) -> int:
    source = Path(args.source)
    target = Path(args.output) if args.output else source.with_suffix(".html")
    if target.resolve() == source.resolve():
        print(f"wfasync: error: the output {target} would replace the source; give another -o", file=sys.stderr)
        return EXIT_ERROR
    try:
        timeline = Timeline.load_json(source)
        write_atomically(target, render(timeline))
    except TimelineError as exc:
        print(f"wfasync: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    steps, blocked = len(timeline.steps), len(timeline.blocks)
    print(
        f"wrote {target}: {steps} step execution{'s' if steps != 1 else ''}, "
        f"{blocked} blocked span{'s' if blocked != 1 else ''}"
    )
    return EXIT_OK
