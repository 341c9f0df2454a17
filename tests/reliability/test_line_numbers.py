"""Line numbers are Python's line numbers, also around form feeds and Unicode line separators.

``str.splitlines`` breaks at ``\\f``, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029, which do
not end a line of code. Looking a finding's line up that way shows the wrong source line and,
worse, reads the ``# noqa`` of another line: a suppressed call was reported (and rewritten by
``wfasync fix``) while its neighbour was silenced.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from flake8_wfasync.app.cli import main
from flake8_wfasync.source import source_lines

# The character sits on line 2 (a comment or a string); the noqa is on line 4, the call to
# report on line 5.
SEPARATORS = {
    "form_feed": "# a\x0c comment",
    "line_separator": 'x = "a\u2028b"',
    "next_line": 'x = "a\x85b"',
    "group_separator": "# a\x1d comment",
}


def _source(separator_line: str) -> str:
    return (
        "import time\n"
        f"{separator_line}\n"
        "async def f():\n"
        "    time.sleep(1)  # noqa: WFA103\n"
        "    time.sleep(2)\n"
    )


def _wfasync(*args: str, cwd: Path) -> tuple[int, str]:
    """The command's own entry point, in this process (the subprocess runs are in
    test_odd_sources.py)."""
    out = io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)  # (contextlib.chdir is new in Python 3.11)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(list(args))
    finally:
        os.chdir(before)
    return code, out.getvalue()


def test_source_lines_split_only_where_python_ends_a_line() -> None:
    text = "a\x0cb\r\nc\u2028d\re\x85f\ng"
    assert source_lines(text) == ["a\x0cb", "c\u2028d", "e\x85f", "g"]
    assert source_lines("x\n") == ["x"]
    assert source_lines("") == []


@pytest.mark.parametrize("name", sorted(SEPARATORS))
def test_check_applies_noqa_and_shows_the_line_of_the_finding(tmp_path: Path, name: str) -> None:
    (tmp_path / "mod.py").write_text(_source(SEPARATORS[name]), encoding="utf-8", newline="")
    code, out = _wfasync("check", "--isolated", "--no-cache", "--format", "json", "mod.py", cwd=tmp_path)
    assert code == 1
    findings = json.loads(out)["findings"]
    assert [(f["code"], f["line"], f["source_line"].strip()) for f in findings] == [
        ("WFA103", 5, "time.sleep(2)")]
    code, text = _wfasync("check", "--isolated", "--no-cache", "mod.py", cwd=tmp_path)
    assert "5 |     time.sleep(2)" in text and "| async def" not in text


@pytest.mark.parametrize("name", sorted(SEPARATORS))
def test_fix_leaves_the_noqa_line_alone(tmp_path: Path, name: str) -> None:
    path = tmp_path / "mod.py"
    path.write_text(_source(SEPARATORS[name]), encoding="utf-8", newline="")
    _wfasync("fix", "--isolated", "mod.py", cwd=tmp_path)
    lines = source_lines(path.read_text(encoding="utf-8"))
    assert "    time.sleep(1)  # noqa: WFA103" in lines
    assert "    await asyncio.sleep(2)" in lines
