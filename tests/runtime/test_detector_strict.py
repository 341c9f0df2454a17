"""Strict mode: known blocking calls too short for the threshold, on the loop thread only."""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from flake8_wfasync.knowledge.catalog import module_level_callables
from runtime.detect import strict
from runtime.detect.detector import BlockingDetector

pytestmark = pytest.mark.wfasync_allow_blocking

HERE = os.path.abspath(__file__)


def line_of(tag: str) -> int:
    with open(HERE) as fh:
        for number, text in enumerate(fh, 1):
            if text.rstrip().endswith(f"# line: {tag}"):
                return number
    raise AssertionError(tag)


def snapshot() -> dict[tuple[str, str], object]:
    out = {}
    for module_name, attr, _ in module_level_callables():
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, attr):
            out[(module_name, attr)] = getattr(module, attr)
    return out


def run_strict(body, threshold: float = 0.1):
    async def main():
        with BlockingDetector(threshold, strict=True, warn=False, log=False) as detector:
            result = await body()
        return detector.reports, result

    return asyncio.run(main())


def test_a_short_sleep_in_a_task_is_reported_with_its_line_and_code():
    async def body():
        time.sleep(0.01)  # line: short-sleep
        return "ok"

    # A threshold far above the sleep, so a loaded machine cannot turn it into a long block
    # (which the watchdog, not strict mode, would report).
    reports, result = run_strict(body, threshold=5.0)
    assert result == "ok"
    assert len(reports) == 1, [r.format() for r in reports]
    report = reports[0]
    assert (report.code, report.call, report.strict) == ("WFA103", "time.sleep", True)
    assert (report.filename, report.lineno) == (HERE, line_of("short-sleep"))
    assert 0.009 <= report.duration < 5.0
    assert report.task is not None
    assert "called a blocking function for" in report.format()


def test_a_long_call_is_reported_once_by_the_watchdog():
    async def body():
        time.sleep(0.25)  # line: long-sleep

    reports, _ = run_strict(body)
    assert [(r.strict, r.lineno) for r in reports] == [(False, line_of("long-sleep"))]


def test_a_short_subprocess_call_is_wfa104():
    async def body():
        subprocess.run([sys.executable, "-c", "pass"], check=True)  # line: short-subprocess

    reports, _ = run_strict(body, threshold=5.0)
    assert [(r.code, r.lineno, r.call) for r in reports] == [("WFA104", line_of("short-subprocess"), "subprocess.run")]


def test_newer_catalog_entries_are_caught_with_their_codes(tmp_path):
    """Metadata reads, a PATH lookup, a mount check and a temporary directory, each far
    shorter than the threshold: strict mode names each with the static side's code."""
    async def body():
        importlib.metadata.version("pytest")  # line: metadata-version
        shutil.which("definitely-not-a-command")  # line: shutil-which
        os.path.ismount(str(tmp_path))  # line: ismount
        return tempfile.mkdtemp(dir=tmp_path)  # line: mkdtemp

    reports, made = run_strict(body, threshold=5.0)
    assert os.path.isdir(made)
    assert [(r.code, r.lineno, r.call) for r in reports] == [
        ("WFA102", line_of("metadata-version"), "importlib.metadata.version"),
        ("WFA102", line_of("shutil-which"), "shutil.which"),
        ("WFA102", line_of("ismount"), "os.path.ismount"),
        ("WFA102", line_of("mkdtemp"), "tempfile.mkdtemp"),
    ]


def test_calls_that_block_only_on_some_arguments_are_left_alone():
    """yaml.safe_load blocks on a file, not on a string: strict mode cannot tell which it
    was given, so it wraps neither (the static side and the watchdog still see them)."""
    yaml = pytest.importorskip("yaml")

    async def body():
        return yaml.safe_load("a: 1")

    reports, result = run_strict(body, threshold=5.0)
    assert result == {"a": 1}
    assert reports == []


def test_a_database_in_memory_and_a_data_url_are_read_from_the_real_arguments(tmp_path):
    """sqlite3.connect(":memory:") and urlopen("data:...") touch no disk and no network:
    strict mode, which wraps both, reads their real arguments as the static side reads the
    literals. A database file is still reported."""
    import sqlite3
    import urllib.request

    async def body():
        memory = sqlite3.connect(":memory:")
        shared = sqlite3.connect("file::memory:?cache=shared", uri=True)
        data = urllib.request.urlopen("data:,hello").read()
        on_disk = sqlite3.connect(str(tmp_path / "app.db"))  # line: sqlite-file
        for conn in (memory, shared, on_disk):
            conn.close()
        return data

    reports, data = run_strict(body, threshold=5.0)
    assert data == b"hello"
    assert [(r.code, r.lineno, r.call) for r in reports] == [("WFA106", line_of("sqlite-file"), "sqlite3.connect")]


def test_worker_threads_plain_callbacks_and_imports_are_not_reported(tmp_path, monkeypatch):
    (tmp_path / "wfa_sleepy_module.py").write_text("import time\ntime.sleep(0.001)\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    async def body():
        await asyncio.to_thread(time.sleep, 0.01)
        await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.01)
        done = asyncio.Event()

        def callback():
            time.sleep(0.001)  # a plain loop callback, not a task
            done.set()

        asyncio.get_running_loop().call_soon(callback)
        await done.wait()
        importlib.import_module("wfa_sleepy_module")

    reports, _ = run_strict(body)
    assert reports == []
    sys.modules.pop("wfa_sleepy_module", None)


def test_uninstall_restores_every_original_exactly():
    before = snapshot()

    async def body():
        first = BlockingDetector(strict=True, warn=False, log=False).install()
        second = BlockingDetector(strict=True, warn=False, log=False).install()
        assert time.sleep is not before[("time", "sleep")]
        assert strict.patched()[("time", "sleep")] is before[("time", "sleep")]
        first.uninstall()
        assert time.sleep is not before[("time", "sleep")]  # the second still wants them
        second.uninstall()

    asyncio.run(body())
    after = snapshot()
    assert after.keys() == before.keys()
    assert all(after[key] is before[key] for key in before)
    assert strict.patched() == {}


def test_the_wrappers_pass_through_once_no_loop_is_watched():
    async def body():
        detector = BlockingDetector(strict=True, warn=False, log=False).install()
        wrapped = time.sleep
        detector.uninstall()
        return wrapped

    wrapped = asyncio.run(body())
    assert getattr(wrapped, "__wfasync_strict_original__", None) is not None
    started = time.perf_counter()
    wrapped(0.001)  # someone kept a reference: it still works, and reports nothing
    assert time.perf_counter() - started >= 0.001
