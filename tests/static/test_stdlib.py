"""No crash on the CPython standard library: a fast subset here, every file when slow."""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

import libcst as cst
import pytest

from flake8_wfasync.analysis import (
    analyze_module,
    analyze_source,
    blocking_calls_on_line,
)

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SWEEP = Path(__file__).resolve().parents[2] / "bench" / "stdlib_sweep.py"


def _sweep_module():
    spec = importlib.util.spec_from_file_location("stdlib_sweep", SWEEP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_asyncio_package_analyses_cleanly():
    files = sorted((STDLIB / "asyncio").glob("*.py"))
    assert len(files) > 20
    for path in files:
        findings = analyze_source(path.read_bytes(), str(path))
        for f in findings:
            assert f.line >= 1 and f.message and f.code.startswith("WFA")


@pytest.mark.parametrize("name", ["asyncio/base_events.py", "subprocess.py", "shutil.py",
                                  "concurrent/futures/process.py"])
def test_full_modes_on_big_modules(name):
    """No pre-pass, every function as if it were a coroutine: the heaviest paths."""
    path = STDLIB / name
    text = path.read_text(encoding="utf-8")
    module = cst.parse_module(text)
    assert [(f.code, f.line) for f in analyze_module(module, str(path))] == [
        (f.code, f.line) for f in analyze_source(text, str(path))]
    lines = {f.line for f in blocking_calls_on_line(text, 1, str(path))}
    # Line lookups on a sync module still find its real blocking calls somewhere.
    hits = [n for n in range(1, text.count("\n") + 1) if blocking_calls_on_line(text, n, str(path))]
    assert hits and not lines - {1}
    for n in hits[:20]:
        for f in blocking_calls_on_line(text, n, str(path)):
            assert f.line <= n <= f.end_line


@pytest.mark.slow
def test_whole_stdlib_sweep():
    sweep = _sweep_module()
    counts = sweep.sweep(sweep.stdlib_files())
    assert counts["crashes"] == [], counts["crashes"][:3]
    assert counts["analysed"] > 1000
