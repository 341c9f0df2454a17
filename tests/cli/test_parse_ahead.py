"""Workers that parse while the project index is built: same findings as one process, the
index reaches them, and a worker that dies loses nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import run_wfasync, write

from flake8_wfasync.app import runner
from flake8_wfasync.app.file_check import FileJob, analyse_job
from flake8_wfasync.app.parse_ahead import ParseAhead
from flake8_wfasync.config import Config, analysis_config

BAD = """\
import time

import requests


async def poll(url):
    time.sleep(1)
    return requests.get(url, timeout=5)
"""
# Blocks only through the project: the pre-check passes it on the index's word alone.
THROUGH_HELPER = """\
from pkg import helpers


async def main(p):
    return helpers.load(p)
"""


def _project(root: Path, n: int) -> None:
    write(root, "pkg/__init__.py", "")
    write(root, "pkg/helpers.py", "def load(path):\n    with open(path) as fh:\n        return fh.read()\n")
    for i in range(n):
        write(root, f"pkg/m{i:02}.py", BAD if i % 2 else THROUGH_HELPER)


def test_parallel_run_with_parse_ahead_matches_one_process(tmp_path: Path) -> None:
    _project(tmp_path, 60)  # 30 files pass the pre-check: over the threshold for workers
    seq = run_wfasync("check", "--isolated", "--no-cache", "--jobs", "1", "--format", "json", ".", cwd=tmp_path)
    par = run_wfasync("check", "--isolated", "--no-cache", "--jobs", "2", "--format", "json", ".", cwd=tmp_path)
    assert par.stderr == "" and par.returncode == seq.returncode == 1
    found = json.loads(par.stdout)["findings"]
    assert found == json.loads(seq.stdout)["findings"]
    # The helper's callers went to the workers after the index was linked, and got its chain.
    chained = [f for f in found if f["code"] == "WFA201"]
    assert len(chained) == 30 and all("pkg.helpers.load() -> open" in f["message"] for f in chained)
    assert len(found) == 30 + 2 * 30


def _jobs(root: Path) -> list[FileJob]:
    out = []
    for path in sorted(root.rglob("*.py")):
        out.append(FileJob(str(path), path.read_bytes(), pre=True))
    return out


def test_a_worker_that_dies_costs_only_time(tmp_path: Path, capfd) -> None:
    for i in range(30):
        write(tmp_path, f"m{i:02}.py", BAD + f"\n\nX = {i}\n")
    write(tmp_path, "broken.py", "async def (\n")
    config = analysis_config(Config())
    expected = {job.path: analyse_job(job, config, None) for job in _jobs(tmp_path)}
    jobs = _jobs(tmp_path)
    ahead = ParseAhead.start(config, jobs, 2)
    assert ahead is not None and len(ahead.procs) == 2
    ahead.procs[0].kill()
    ahead.procs[0].join()
    got = ahead.results(jobs, None)
    assert {job.path: got[id(job)] for job in jobs} == expected
    assert expected[str(tmp_path / "broken.py")]["error"]["message"].startswith("cannot parse")
    assert ahead.procs == [] and ahead.conns == []
    assert "Traceback" not in capfd.readouterr().err


def test_a_counter_lock_held_for_ever_costs_only_time(tmp_path: Path) -> None:
    """A worker killed while it holds the shared counter's lock (an out-of-memory kill) would
    leave its siblings waiting for ever; here this process holds the lock instead."""
    for i in range(6):
        write(tmp_path, f"m{i:02}.py", BAD + f"\n\nX = {i}\n")
    config = analysis_config(Config())
    expected = {job.path: analyse_job(job, config, None) for job in _jobs(tmp_path)}
    jobs = _jobs(tmp_path)
    ahead = ParseAhead.start(config, jobs, 2)
    assert ahead is not None
    lock = ahead.counters[0].get_lock()
    assert lock.acquire(timeout=60)
    try:
        got = ahead.results(jobs, None)
    finally:
        lock.release()
    assert {job.path: got[id(job)] for job in jobs} == expected


def test_files_outside_the_shares_are_analysed_too(tmp_path: Path) -> None:
    for i in range(4):
        write(tmp_path, f"a{i}.py", BAD)
        write(tmp_path, f"b{i}.py", BAD.replace("time.sleep(1)", "time.sleep(2)"))
    config = analysis_config(Config())
    jobs = _jobs(tmp_path)
    early, late = jobs[:4], jobs[4:]
    ahead = ParseAhead.start(config, early, 2)
    assert ahead is not None
    got = ahead.results(early[1:] + late, None)  # one parsed for nothing, four it never saw
    assert set(got) == {id(j) for j in early[1:] + late}
    for job in early[1:] + late:
        assert [f["code"] for f in got[id(job)]["findings"]] == ["WFA103", "WFA101"], os.path.basename(job.path)


def test_no_fork_while_another_thread_runs(tmp_path: Path, monkeypatch) -> None:
    """A program that checks code while it runs other threads gets a one-process run: a
    forked child could hang on a lock one of those threads held."""
    import threading

    _project(tmp_path, 200)  # over every pool's threshold
    files = sorted(tmp_path.rglob("*.py"))
    expected, _ = runner.check_project(files, files, Config(), jobs=1)

    def no_fork() -> int:
        raise AssertionError("forked while another thread ran")

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        monkeypatch.setattr(os, "fork", no_fork)
        got, _ = runner.check_project(files, files, Config(), jobs=2)
    finally:
        stop.set()
        other.join()
    assert got.findings == expected.findings and len(got.findings) == 100 + 2 * 100
