"""Positions read off the defs the scan located (only the defs that hold findings are parsed
with ``ast``) are the positions read off the whole tree, on every fixture and on code whose
defs do not parse by their lines alone."""

from __future__ import annotations

import ast

import libcst as cst
import pytest
from fixture_tools import FIXTURES, fixture_config

from flake8_wfasync.analysis import analyze_module
from flake8_wfasync.analysis.def_spans import def_spans

SOURCES = sorted(p for p in FIXTURES.rglob("*.py") if "async" in p.read_text(encoding="utf-8"))


def _placed(text: str, *, spans: bool) -> list[tuple]:
    config = fixture_config(text)
    tree = ast.parse(text)
    found = analyze_module(cst.parse_module(text), "m.py", config, tree=None if spans else tree, text=text,
                           spans=def_spans(tree) if spans else None)
    return [(f.code, f.line, f.col, f.end_line, f.end_col) for f in found]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_the_defs_alone_place_findings_as_the_whole_tree_does(path):
    text = path.read_text(encoding="utf-8")
    assert _placed(text, spans=True) == _placed(text, spans=False)


def test_tabs_decorators_nesting_and_a_def_that_ends_where_another_statement_does():
    text = (
        "import time\n\n"
        "class A:\n"
        "\t@staticmethod\n"
        "\tasync def f():\n"
        "\t\tdef inner():\n"
        "\t\t\treturn time.sleep(\n"
        "\t1)\n"
        "\t\tinner(); time.sleep(2)\n\n"
        "async def g(): time.sleep(3); x = '''\n"
        "text'''\n"
    )
    placed = _placed(text, spans=True)
    assert placed == _placed(text, spans=False)
    assert [(code, line) for code, line, *_ in placed] == [("WFA201", 9), ("WFA103", 9), ("WFA103", 11)]


def test_spans_that_do_not_match_the_source_fall_back_to_the_whole_tree():
    text = "import time\n\nasync def f():\n    time.sleep(1)\n"
    found = analyze_module(cst.parse_module(text), "m.py", tree=None, text=text, spans=[(1, 0, 1)])
    assert [(f.line, f.col) for f in found] == [(4, 4)]
