"""The README's demo: the static checker and the runtime detector agree on one workflow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_wfasync.analysis import analyze_source

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "examples" / "report_flow.py"


@pytest.mark.wfasync_allow_blocking(reason="runs the demo, which blocks on purpose, in a child process")
def test_runtime_reports_what_the_static_checker_found() -> None:
    static = {(f.line, f.code) for f in analyze_source(DEMO.read_text(), str(DEMO))}
    assert (44, "WFA103") in static

    run = subprocess.run(
        [sys.executable, str(DEMO)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "result: 1000 rows" in run.stdout

    reports = re.findall(r"BlockingCallWarning: (WFA\d+) step '(\w+)' of ReportFlow .* at [^:]+:(\d+): ", run.stderr)
    assert ("WFA103", "throttle", "44") in reports
    # Each block is reported once: as a warning, not a second time by the logger.
    assert len(reports) == len(set(reports))
    assert "Stack of the loop thread" not in run.stderr
    for code, _step, line in reports:
        assert (int(line), code) in static
