"""Ctrl-C on a long ``wfasync check`` stops it promptly, quietly, and leaves no half-written cache.

A real ``wfasync check`` runs over a project large enough that it forks its worker pool; once
the workers exist, SIGINT goes to the whole process group, as a terminal's Ctrl-C does. The
command must end without a traceback (neither its own nor a worker's), say it was interrupted,
and leave the cache folder without temporary files, every file in it whole JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT")

N_FILES = 1200  # enough that the scan forks its pool and the analysis takes a good while
TEMPLATE = '''\
import time
from pathlib import Path


async def step_NUMBER(path):
    time.sleep(NUMBER)
    text = Path(path).read_text()
    for line in text.splitlines():
        if line.startswith("#"):
            time.sleep(0.1)
    return [open(path).read() for _ in range(NUMBER)]
'''


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out: list[int] = []
    for tid in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            pass
    return out


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc")
def test_sigint_stops_a_long_check_promptly_without_traceback_or_half_written_cache(tmp_path):
    project = tmp_path / "proj" / "pkg"
    project.mkdir(parents=True)
    (project / "__init__.py").write_text("", encoding="utf-8")
    for i in range(N_FILES):
        (project / f"mod{i}.py").write_text(TEMPLATE.replace("NUMBER", str(i)), encoding="utf-8")
    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "flake8_wfasync", "check", "--jobs", "2", "--cache-dir", str(cache),
         str(tmp_path / "proj")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        # Wait for the event: the worker pool exists (polling the process table, not a timer).
        deadline = time.monotonic() + 120
        while not _children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the check ended before its workers were seen"
        assert _children(proc.pid), "no worker process appeared"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)  # stuck waiting on its workers: fails here
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    text = err.decode()
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, text)
    assert "Traceback" not in text and "Error" not in text, text
    assert "interrupted" in text, text
    assert b"Found" not in out  # no report of a run that did not finish
    leftovers = [p.name for p in cache.rglob("*") if p.name.endswith(".tmp")] if cache.exists() else []
    assert not leftovers, leftovers
    for path in cache.rglob("*.json") if cache.exists() else ():
        json.loads(path.read_text(encoding="utf-8"))  # whole, or not there at all
