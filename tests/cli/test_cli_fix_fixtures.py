"""`wfasync fix` on a copy of fixtures/fix produces the .fixed.py files, and the result holds.

Every ``name.py`` has a ``name.fixed.py``. The two are compared with the ``# expect:``
annotations removed (they are test data: a rewritten line keeps its comments, so an input's
annotation survives on a line that no longer produces the finding); what the fixed files
still produce is checked against their own annotations.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import REPO, run_wfasync

FIX_DIR = REPO / "fixtures" / "fix"
INPUTS = sorted(p for p in FIX_DIR.glob("*.py") if not p.name.endswith(".fixed.py"))
_EXPECT = re.compile(r"\s*# expect: *(?P<codes>WFA\d+(?:\s*,\s*WFA\d+)*)\s*$")


def strip_expect(text: str) -> str:
    return "\n".join(_EXPECT.sub("", line) for line in text.split("\n"))


def expected(path: Path) -> set[tuple[int, str]]:
    out = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _EXPECT.search(line)
        if match:
            out |= {(number, code.strip()) for code in match.group("codes").split(",")}
    return out


def found(report: dict, name: str) -> set[tuple[int, str]]:
    return {(f["line"], f["code"]) for f in report["findings"] if Path(f["path"]).name == name}


def test_every_input_has_a_fixed_file() -> None:
    assert INPUTS, "no fix fixtures"
    for src in INPUTS:
        assert src.with_name(src.stem + ".fixed.py").exists(), src.name
    rewrites = [p for p in INPUTS if not p.name.startswith("refuse_")]
    refusals = [p for p in INPUTS if p.name.startswith("refuse_")]
    assert len(rewrites) >= 6 and len(refusals) >= 6
    for src in refusals:  # a refusal changes nothing at all
        assert src.read_bytes() == src.with_name(src.stem + ".fixed.py").read_bytes(), src.name


@pytest.fixture(scope="module")
def fixed_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    work = tmp_path_factory.mktemp("fix") / "fix"
    work.mkdir()
    for src in INPUTS:
        shutil.copy(src, work / src.name)
    first = run_wfasync("fix", "--isolated", ".", cwd=work)
    second = run_wfasync("fix", "--isolated", "--diff", ".", cwd=work)
    return work, first, second


@pytest.mark.parametrize("src", INPUTS, ids=[p.stem for p in INPUTS])
def test_fix_produces_the_fixed_file(src: Path, fixed_copy) -> None:
    work, first, _ = fixed_copy
    assert "Traceback" not in first.stderr
    want = src.with_name(src.stem + ".fixed.py").read_text(encoding="utf-8")
    got = (work / src.name).read_text(encoding="utf-8")
    assert strip_expect(got) == strip_expect(want)


def test_fix_reports_and_exit_code(fixed_copy) -> None:
    _, first, _ = fixed_copy
    # Refusals leave findings for a person: exit 1, each with its reason.
    assert first.returncode == 1, first.stderr
    assert "refuse_with.py:7:10: WFA102 left as is: used as a context manager" in first.stdout
    assert "refuse_sqlite.py:7:12: WFA106 left as is: sqlite3 objects" in first.stdout
    assert "sleep.py:9:5: fixed WFA103: time.sleep(delay) -> await aio.sleep(delay)" in first.stdout
    assert re.search(r"^Fixed \d+ problems in \d+ files; \d+ left for a person", first.stdout, re.M)


def test_second_fix_changes_nothing(fixed_copy) -> None:
    _, _, second = fixed_copy
    assert "+++" not in second.stdout
    assert "would fix" not in second.stdout
    assert re.search(r"^Would fix 0 problems in 0 files", second.stdout, re.M)


def test_fixed_files_produce_what_the_fixed_fixtures_expect(fixed_copy) -> None:
    work, _, _ = fixed_copy
    result = run_wfasync("check", "--isolated", "--no-cache", "--format", "json", ".", cwd=work)
    report = json.loads(result.stdout)
    assert report["errors"] == []
    for src in INPUTS:
        fixed_fixture = src.with_name(src.stem + ".fixed.py")
        assert found(report, src.name) == expected(fixed_fixture), src.name


def test_inputs_produce_what_they_expect() -> None:
    result = run_wfasync("check", "--isolated", "--no-cache", "--format", "json", str(FIX_DIR))
    report = json.loads(result.stdout)
    for path in sorted(FIX_DIR.glob("*.py")):
        assert found(report, path.name) == expected(path), path.name
