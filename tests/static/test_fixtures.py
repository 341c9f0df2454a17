"""Every fixture file, both ways: each annotated line gets exactly its codes, no other line
gets anything. Also: without async/await the same files give nothing at all."""

from __future__ import annotations

import ast

import libcst as cst
import pytest
from fixture_tools import (
    FIXTURES,
    by_line,
    expected,
    fixture_config,
    fixture_files,
    strip_async,
)

from flake8_wfasync.analysis import analyze_module, analyze_source

FILES = fixture_files()


def _id(p) -> str:
    return str(p.relative_to(FIXTURES))


def test_fixtures_exist_for_every_rule():
    from flake8_wfasync.knowledge.rules import RULES

    seen = set()
    for path in FILES:
        for codes in expected(path.read_text(encoding="utf-8")).values():
            seen |= codes
    missing = set(RULES) - seen
    assert not missing, f"no fixture line expects {sorted(missing)}"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_fixture_both_ways(path):
    source = path.read_text(encoding="utf-8")
    got = by_line(analyze_source(source, str(path), fixture_config(source)))
    want = expected(source)
    lines = source.splitlines()
    diff = {
        n: (sorted(got.get(n, ())), sorted(want.get(n, ())), lines[n - 1].strip())
        for n in sorted(set(got) | set(want))
        if got.get(n, set()) != want.get(n, set())
    }
    assert not diff, "line: (found, expected, text)\n" + "\n".join(f"{k}: {v}" for k, v in diff.items())


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_stripped_fixture_has_no_findings(path):
    stripped = strip_async(path.read_text(encoding="utf-8"))
    tree = ast.parse(stripped)  # still valid Python, with no coroutine left
    assert not any(isinstance(n, (ast.AsyncFunctionDef, ast.Await)) for n in ast.walk(tree))
    findings = analyze_source(stripped, str(path), fixture_config(stripped))
    assert findings == [], [(f.line, f.code) for f in findings]


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_module_api_agrees_and_points_at_nodes(path):
    """analyze_module (no pre-pass) finds what analyze_source finds, so the pre-pass never
    skips a file that has findings; and every Finding.node belongs to that module."""
    source = path.read_text(encoding="utf-8")
    config = fixture_config(source)
    module = cst.parse_module(source)
    via_module = analyze_module(module, str(path), config)
    via_source = analyze_source(source, str(path), config)
    assert [(f.code, f.line, f.col) for f in via_module] == [(f.code, f.line, f.col) for f in via_source]

    ids: set[int] = set()
    stack: list[cst.CSTNode] = [module]
    while stack:
        n = stack.pop()
        ids.add(id(n))
        stack.extend(n.children)
    for f in via_module:
        assert id(f.node) in ids
        expected_type = cst.FunctionDef if f.code == "WFA401" else cst.Call
        assert isinstance(f.node, expected_type)
        if f.code not in ("WFA401", "WFA301"):
            # The node's own code sits on the reported line.
            text = module.code_for_node(f.node).strip()
            assert text.split("(")[0].split(".")[-1] in source.splitlines()[f.line - 1]
