"""`wfasync fix` through the real command: --diff, atomic writes that keep the file's shape,
verification of every rewrite, errors that lose nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cli_helpers import run_wfasync, write

BAD = """\
import time


async def poll():
    time.sleep(1)  # wait a little
    return 1
"""
FIXED = """\
import asyncio
import time


async def poll():
    await asyncio.sleep(1)  # wait a little
    return 1
"""


def test_diff_prints_and_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.py", BAD)
    before = path.stat().st_mtime_ns
    result = run_wfasync("fix", "--isolated", "--diff", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert path.read_text() == BAD and path.stat().st_mtime_ns == before
    assert "--- a/bad.py\n+++ b/bad.py\n" in result.stdout
    assert "-    time.sleep(1)  # wait a little\n+    await asyncio.sleep(1)  # wait a little\n" in result.stdout
    assert "+import asyncio\n" in result.stdout
    assert "bad.py:5:5: would fix WFA103: time.sleep(1) -> await asyncio.sleep(1)" in result.stdout


def test_fix_writes_then_is_a_fixed_point(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.py", BAD)
    first = run_wfasync("fix", "--isolated", ".", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Fixed 1 problem in 1 file." in first.stdout
    assert path.read_text() == FIXED
    second = run_wfasync("fix", "--isolated", ".", cwd=tmp_path)
    assert second.returncode == 0
    assert "Fixed 0 problems in 0 files." in second.stdout
    assert path.read_text() == FIXED
    assert run_wfasync("check", "--isolated", ".", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".wfasync_cache") == ["bad.py"]  # no temp files


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("crlf", BAD.replace("\n", "\r\n").encode()),
        ("bom", b"\xef\xbb\xbf" + BAD.encode()),
        ("latin1", b"# -*- coding: latin-1 -*-\n" + BAD.replace("# wait a little", "# caf\xe9").encode("latin-1")),
        ("no_final_newline", BAD.rstrip("\n").encode()),
    ],
)
def test_fix_keeps_encoding_newlines_and_mode(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / f"{name}.py"
    path.write_bytes(data)
    os.chmod(path, 0o754)
    result = run_wfasync("fix", "--isolated", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o754
    if name == "crlf":
        assert out == FIXED.replace("\n", "\r\n").encode()
    elif name == "bom":
        assert out == b"\xef\xbb\xbf" + FIXED.encode()
    elif name == "latin1":
        assert out == b"# -*- coding: latin-1 -*-\n" + FIXED.replace("# wait a little", "# caf\xe9").encode("latin-1")
    else:
        assert out == FIXED.rstrip("\n").encode()


def test_symlink_keeps_pointing_at_the_fixed_file(tmp_path: Path) -> None:
    target = write(tmp_path, "real/bad.py", BAD)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    result = run_wfasync("fix", "--isolated", "link.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert link.is_symlink()
    assert target.read_text() == FIXED


def test_unparsable_file_is_reported_and_the_others_fixed(tmp_path: Path) -> None:
    broken = write(tmp_path, "a_broken.py", "async def f(:\n    time.sleep(1)\n")
    good = write(tmp_path, "b_bad.py", BAD)
    result = run_wfasync("fix", "--isolated", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert broken.read_text() == "async def f(:\n    time.sleep(1)\n"
    assert good.read_text() == FIXED
    error_lines = [line for line in result.stdout.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and error_lines[0].startswith("a_broken.py: error: cannot parse")
    assert "Traceback" not in result.stdout + result.stderr


def test_a_rewrite_that_would_add_findings_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard, fed a wrong rewrite table: "requests.get -> await asyncio.run(...)" would trade
    # a WFA101 for a WFA303, so nothing is written and the reason is given.
    from flake8_wfasync import fix
    from flake8_wfasync.config import Config
    from flake8_wfasync.fix import plan

    monkeypatch.setitem(plan.DROP_IN_TWINS, "requests.get", "asyncio.run")
    source = "import requests\n\n\nasync def f(url):\n    return requests.get(url)\n"
    path = write(tmp_path, "bad.py", source)
    result = fix.fix_file(path, Config(), write=True)
    assert result.error == "a rewrite would add findings (WFA303 asyncio.run); file left unchanged"
    assert not result.changed and result.applied == []
    assert path.read_text() == source


def test_a_rewrite_that_would_not_compile_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flake8_wfasync import fix
    from flake8_wfasync.config import Config
    from flake8_wfasync.fix import plan, rewrite

    # Awaiting inside a plain def does not compile: the guard notices and writes nothing.
    monkeypatch.setattr(plan.ModuleFacts, "enclosing", _any_function)
    source = "import time\n\n\ndef f():\n    time.sleep(1)\n\n\nasync def g():\n    time.sleep(1)\n"
    path = write(tmp_path, "bad.py", source)
    monkeypatch.setattr(rewrite, "_analyze", _sleep_everywhere)
    result = fix.fix_file(path, Config(), write=True)
    assert result.error is not None and result.error.startswith("a rewrite would not compile")
    assert path.read_text() == source


def _any_function(facts, node):
    """A wrong scope check: any enclosing def counts as a coroutine."""
    import libcst as cst

    while node in facts.parent:
        node = facts.parent[node]
        if isinstance(node, cst.FunctionDef):
            return node, None
    return None, "not in a function"


def _sleep_everywhere(module, path, config, index=None):
    """Findings for every time.sleep call, also outside coroutines (a wrong analysis)."""
    import libcst as cst

    from flake8_wfasync.knowledge.findings import Finding

    found = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "sleep":
                found.append(Finding("WFA103", 1, 0, "time.sleep", path, qualname="time.sleep",
                                     twin="asyncio.sleep", node=node))

    module.visit(Calls())
    return found


def test_select_limits_what_is_fixed(tmp_path: Path) -> None:
    source = "import time\n\nimport requests\n\n\nasync def f(url):\n    time.sleep(1)\n    return requests.get(url)\n"
    path = write(tmp_path, "bad.py", source)
    result = run_wfasync("fix", "--isolated", "--select", "WFA101", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    text = path.read_text()
    assert "time.sleep(1)" in text
    assert "return await asyncio.to_thread(requests.get, url)" in text


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", FIXED)
    result = run_wfasync("fix", "--isolated", ".", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "Fixed 0 problems in 0 files."
