"""Classifying a sampled line whose blocking call left no Python frame."""

from __future__ import annotations

import ast
import sys
import textwrap
import types

import pytest

from flake8_wfasync.analysis import blocking_calls_on_line
from flake8_wfasync.knowledge import catalog
from runtime.detect import lines
from runtime.detect.sampler import Classifier


def split(source: str) -> list[str]:
    return textwrap.dedent(source).splitlines(keepends=True)


def test_the_calls_on_a_line_are_found_from_the_statement_around_it():
    src = split(
        """
        async def go():
            data = fetch(
                url,
                timeout=3,
            )
            with open(path) as fh:
                pass
            total = len(items) + time.sleep(1)
        """
    )
    assert lines.calls_at(src, 3) == [["fetch"]]
    assert lines.calls_at(src, 4) == [["fetch"]]  # a continuation line of the call
    assert lines.calls_at(src, 7) == [["open"]]
    assert sorted(lines.calls_at(src, 9)) == [["len"], ["time", "sleep"]]
    assert lines.calls_at(src, 99) == []


@pytest.fixture
def fake_module(monkeypatch):
    module = types.ModuleType("wfa_fake_mod")
    exec("import time, os\nfrom time import sleep as nap\nimport urllib.request as ur\n", module.__dict__)
    monkeypatch.setitem(sys.modules, "wfa_fake_mod", module)
    return module


@pytest.mark.parametrize(
    "code, expected",
    [
        ("time.sleep(1)", ("WFA103", "time.sleep")),
        ("nap(1)", ("WFA103", "time.sleep")),
        ("ur.urlopen(u)", ("WFA101", "urllib.request.urlopen")),
        ("open(p).read()", ("WFA102", "builtins.open")),
        ("os.path.exists(p)", ("WFA102", "os.path.exists")),
        ("len(x)", None),
        ("unknown_name(x)", None),
    ],
)
def test_live_names_resolve_through_the_frames_module(fake_module, code, expected):
    found = lines.live_entries([code + "\n"], 1, "wfa_fake_mod", catalog.match_qualname)
    got = (found[0][0].code, found[0][1]) if found else None
    assert got == expected


def test_only_modules_and_classes_are_walked():
    calls: list[str] = []

    class Trap:
        @property
        def sleep(self):  # a property must never run from the watchdog
            calls.append("ran")

    assert lines.qualified_candidates(["obj", "sleep"], {"obj": Trap()}) == []
    assert calls == []


def test_the_excerpt_keeps_imports_and_the_enclosing_function():
    src = split(
        """
        import json

        class Store:
            def other(self):
                return 1

            async def load(self, path):
                fh = open(path)
                try:
                    return json.loads(fh.read())
                finally:
                    fh.close()

        def after():
            pass
        """
    )
    lineno = next(i for i, text in enumerate(src, 1) if "fh.read()" in text)
    excerpt, line_in_excerpt = lines.excerpt(src, lineno)
    ast.parse(excerpt)
    assert "def other" not in excerpt and "def after" not in excerpt
    assert excerpt.splitlines()[line_in_excerpt - 1].strip() == "return json.loads(fh.read())"
    codes = [f.code for f in blocking_calls_on_line(excerpt, line_in_excerpt, "store.py")]
    assert "WFA102" in codes


def test_the_classifier_falls_back_to_the_static_matcher_for_locals(tmp_path):
    path = tmp_path / "store.py"
    path.write_text(
        "import sqlite3\n\nasync def count(db):\n    conn = sqlite3.connect(db)\n    return conn.execute('select 1')\n"
    )
    verdict = Classifier().line_verdict(str(path), 5, None)
    assert verdict is not None and verdict.code == "WFA106"
    assert verdict.advice == catalog.match_qualname("sqlite3.connect").advice


def test_unreadable_or_unknown_lines_are_none(tmp_path):
    classifier = Classifier()
    assert classifier.line_verdict("<string>", 1, None) is None
    assert classifier.line_verdict(str(tmp_path / "missing.py"), 1, None) is None
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n    x = compute(\n")
    assert classifier.line_verdict(str(broken), 2, None) is None
