"""Odd but real source files each get a defined outcome from real flake8 and real ``wfasync check``.

A defined outcome is a list of findings at the right places, or, for a file Python cannot
read, flake8's E999 and one ``path:line:col: error: ...`` line from the command: never a
traceback, never a file silently passed over.

One flake8 process and one ``wfasync check`` process look at every case at once, which keeps
this fast while still going through the real entry points.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SLEEP = b"import time\nasync def f():\n    time.sleep(1)\n"


def _cookie(encoding: str, text: str) -> bytes:
    return (f"# -*- coding: {encoding} -*-\nimport time\nasync def f():\n"
            f"    s = {text!r}\n    time.sleep(1)\n").encode(encoding)


# name -> (content, what `wfasync check` gives, what flake8 gives). An outcome is a list of
# (code, line, col) findings with 1-based columns, or ("error", line) for a file that cannot
# be read as Python.
CASES: dict[str, tuple[bytes, object, object]] = {
    "bom": (b"\xef\xbb\xbf" + SLEEP, [("WFA103", 3, 5)], [("WFA103", 3, 5)]),
    "crlf": (SLEEP.replace(b"\n", b"\r\n"), [("WFA103", 3, 5)], [("WFA103", 3, 5)]),
    "bom_crlf": (b"\xef\xbb\xbf" + SLEEP.replace(b"\n", b"\r\n"), [("WFA103", 3, 5)], [("WFA103", 3, 5)]),
    "cr_only": (b"import time\r\rasync def f():\r    time.sleep(1)\r", [("WFA103", 4, 5)], [("WFA103", 4, 5)]),
    "mixed_endings": (b"import time\r\nasync def f():\n    x = 1\r    time.sleep(1)\r\n",
                      [("WFA103", 4, 5)], [("WFA103", 4, 5)]),
    "form_feed": (b"import time\n\x0c\nasync def f():\n\x0c    time.sleep(1)\n", [("WFA103", 4, 6)],
                  [("WFA103", 4, 6)]),
    "tabs": (b"import time\nasync def f():\n\ttime.sleep(1)\n\tif f:\n\t\ttime.sleep(2)\n",
             [("WFA103", 3, 2), ("WFA103", 5, 3)], [("WFA103", 3, 2), ("WFA103", 5, 3)]),
    "no_final_newline": (SLEEP.rstrip(b"\n"), [("WFA103", 3, 5)], [("WFA103", 3, 5)]),
    "latin_1": (_cookie("latin-1", "café"), [("WFA103", 5, 5)], [("WFA103", 5, 5)]),
    "cp1252": (_cookie("cp1252", "€ – “quoted”"), [("WFA103", 5, 5)], [("WFA103", 5, 5)]),
    "shift_jis": (_cookie("shift_jis", "日本語"), [("WFA103", 5, 5)], [("WFA103", 5, 5)]),
    "euc_kr": (_cookie("euc-kr", "한국어"), [("WFA103", 5, 5)], [("WFA103", 5, 5)]),
    "utf8_non_ascii_names": ("import time\nasync def café():\n    naïve = 1\n    time.sleep(naïve)\n".encode(),
                             [("WFA103", 4, 5)], [("WFA103", 4, 5)]),
    "empty": (b"", [], []),
    "only_bom": (b"\xef\xbb\xbf", [], []),
    "syntax_error": (b"import time\nasync def f(:\n    time.sleep(1)\n", ("error", 2), ("error", 2)),
    "bad_dedent": (b"import time\nasync def f():\n    time.sleep(1)\n  x = 1\n", ("error", 4), ("error", 4)),
    "truncated": (b"async def f():\n    ", ("error", 2), ("error", 2)),
    "null_byte": (b"async def f():\n    x = 1\x00\n", ("error", 1), ("error", 1)),
    "unclosed_string": (b'async def f():\n    x = """abc\n', ("error", 2), ("error", 2)),
    # New syntax is an error on the Python running the check, as Python itself says.
    "py312_syntax": (b"import time\ntype X = int\nasync def f():\n    time.sleep(1)\n",
                     *((("error", 2),) * 2 if sys.version_info < (3, 12) else ([("WFA103", 4, 5)],) * 2)),
    # Python itself refuses these; flake8 falls back to latin-1 and goes on, the command
    # says why it could not read them.
    "unknown_cookie": (b"# coding: nonsense\n" + SLEEP, ("error", 1), [("WFA103", 4, 5)]),
    "bom_vs_cookie": (b"\xef\xbb\xbf# coding: latin-1\n" + SLEEP, ("error", 1), [("WFA103", 4, 5)]),
    "invalid_utf8": (b"import time\nasync def f():\n    s = '\xff\xfe'\n    time.sleep(1)\n", ("error", 1),
                     [("WFA103", 4, 5)]),
}


# Under Python 3.10, flake8 itself stops with a traceback on a null byte (ast.parse raises
# ValueError there, SyntaxError from 3.11 on): not a file our plugin ever sees.
FLAKE8_CRASHES = {"null_byte"} if sys.version_info < (3, 11) else set()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("odd")
    for name, (data, _, _) in CASES.items():
        (root / f"{name}.py").write_bytes(data)
    return root


def _by_file(rows: list[tuple[str, object]]) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {name: [] for name in CASES}
    for name, row in rows:
        out[name].append(row)
    return out


def _expected(outcome: object) -> list[object]:
    return [outcome] if isinstance(outcome, tuple) else sorted(outcome)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def check_run(corpus: Path) -> tuple[dict[str, list[object]], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "flake8_wfasync", "check", "--isolated", "--no-cache", "-j", "1",
         "--format", "json", "."],
        cwd=corpus, capture_output=True, text=True, timeout=120, check=False,
    )
    rows: list[tuple[str, object]] = []
    for f in json.loads(proc.stdout)["findings"]:
        rows.append((Path(f["path"]).stem, (f["code"], f["line"], f["col"])))
    for line in proc.stderr.splitlines():
        path, lineno, _col, rest = line.split(":", 3)
        assert rest.startswith(" error: "), line
        rows.append((Path(path).stem, ("error", int(lineno))))
    return _by_file(rows), proc


@pytest.fixture(scope="module")
def flake8_run(corpus: Path) -> tuple[dict[str, list[object]], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=WFA,E9",
         "--format=%(path)s|%(row)d|%(col)d|%(code)s",
         *(f"--extend-exclude={name}.py" for name in sorted(FLAKE8_CRASHES)), "."],
        cwd=corpus, capture_output=True, text=True, timeout=120, check=False,
    )
    rows: list[tuple[str, object]] = []
    for line in proc.stdout.splitlines():
        path, row, col, code = line.split("|")
        item = ("error", int(row)) if code == "E999" else (code, int(row), int(col))
        rows.append((Path(path).stem, item))
    return _by_file(rows), proc


@pytest.mark.parametrize("name", sorted(CASES))
def test_wfasync_check_gives_findings_or_one_error_line(name: str, check_run) -> None:
    got, proc = check_run
    assert "Traceback" not in proc.stderr and proc.returncode == 1, proc.stderr
    assert sorted(got[name], key=str) == sorted(_expected(CASES[name][1]), key=str)


@pytest.mark.parametrize("name", sorted(CASES))
def test_flake8_gives_findings_or_e999(name: str, flake8_run) -> None:
    if name in FLAKE8_CRASHES:
        pytest.skip("flake8 itself cannot read it on this Python")
    got, proc = flake8_run
    assert "Traceback" not in proc.stderr, proc.stderr
    assert sorted(got[name], key=str) == sorted(_expected(CASES[name][2]), key=str)


def test_every_file_is_accounted_for(check_run, corpus: Path) -> None:
    _, proc = check_run
    report = json.loads(proc.stdout)
    assert report["files_checked"] == len(CASES)
    assert len(proc.stderr.splitlines()) == sum(isinstance(c[1], tuple) for c in CASES.values())


def test_python_warnings_about_the_checked_code_are_not_printed(tmp_path: Path) -> None:
    """Parsing a file can make Python warn about it (an invalid escape sequence is a
    SyntaxWarning from 3.12 on): that is the checked code's business, not the check's output."""
    (tmp_path / "esc.py").write_text(
        'import re, time\n\n\nasync def f(s):\n    time.sleep(1)\n    return re.match("\\d+", s)\n',
        encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-m", "flake8_wfasync", "check", "--isolated", "--no-cache",
         "-j", "1", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1 and "WFA103" in proc.stdout
    assert proc.stderr == ""
