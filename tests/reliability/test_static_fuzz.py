"""Generated programs never make the analyzer, the line lookup or the fixer raise.

hypothesmith writes programs from the Python grammar (``from_grammar``) and from libcst's
node types (``from_node``). Each program is also planted inside an ``async def`` step next to
a few blocking imports, so the analyzer's deeper paths (coroutines, resolution, findings,
rewrites) see the generated code, not only the pre-check. The only exception allowed is the
documented ``SourceParseError`` for input that does not parse.
"""

from __future__ import annotations

import ast
import textwrap

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_wfasync.analysis import (
    SourceParseError,
    analyze_module,
    analyze_source,
    blocking_calls_on_line,
    might_block,
)
from flake8_wfasync.app.flake8_plugin import WfasyncChecker
from flake8_wfasync.config import Config
from flake8_wfasync.fix import FixError, fix_module

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=1500)

PRELUDE = """\
import time, subprocess, requests, sqlite3
from pathlib import Path
from runtime import Workflow, step


class Flow(Workflow):
    @step
    async def go(self, ev):
        data = requests.get("http://x")
        time.sleep(1)
"""


def _planted(program: str) -> str:
    """The generated program as the body of a step (after two known blocking calls)."""
    body = textwrap.indent(program, " " * 8) if program.strip() else ""
    return PRELUDE + body + "\n        return data\n"


programs = st.one_of(
    hypothesmith.from_grammar(),
    hypothesmith.from_node(),
)
sources = st.one_of(programs, programs.map(_planted))


def _exercise(source: str) -> None:
    """Every public entry point of the static side on one source; raise only what is documented."""
    might_block(source)
    might_block(source.encode("utf-8", "surrogatepass"))
    try:
        findings = analyze_source(source, "gen.py")
    except SourceParseError as exc:
        assert str(exc).count("\n") == 0, "a parse error is one line"
        # Either Python or libcst rejects it: nothing else may depend on it parsing.
        return
    for f in findings:
        assert f.code.startswith("WFA") and f.line >= 1, f
    for f in findings[:3]:
        blocking_calls_on_line(source, f.line, "gen.py")
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return
    full = analyze_module(module, "gen.py")
    # With no pre-check, the full analysis may only add findings, never lose one.
    assert {(f.code, f.line) for f in findings} <= {(f.code, f.line) for f in full}
    tree = ast.parse(source)
    list(WfasyncChecker(tree, source.splitlines(keepends=True), "gen.py").run())
    try:
        fixed, _applied, _refusals, _left = fix_module(module, "gen.py", Config())
    except FixError:
        return  # a rewrite refused with a reason: the file is left as it was
    compile(fixed.code, "gen.py", "exec", dont_inherit=True)


# Generated code is full of `True()` and `x is 1`: the compiler's warnings about it are noise here.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")


@FAST
@given(sources)
def test_generated_programs_never_make_the_static_side_raise(source: str) -> None:
    _exercise(source)


@pytest.mark.slow
@SLOW
@given(sources)
def test_generated_programs_never_make_the_static_side_raise_many(source: str) -> None:
    _exercise(source)


@FAST
@given(st.binary(max_size=400).map(lambda b: b"async def f():\n    " + b))
def test_arbitrary_bytes_in_a_coroutine_are_findings_or_a_parse_error(data: bytes) -> None:
    try:
        analyze_source(data, "bytes.py")
    except SourceParseError as exc:
        assert exc.path == "bytes.py" and exc.line >= 1
