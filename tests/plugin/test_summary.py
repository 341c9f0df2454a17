"""The session's sites: merged across tests and workers, written atomically."""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

import pytest

from runtime.pytest.summary import (
    SiteBook,
    report_document,
    summary_lines,
    write_json_atomically,
)
from runtime.detect.report import BlockingReport

pytest_plugins = ["pytester"]


def _report(tmp_path: Path, duration: float, *, line: int = 7, code: str | None = "WFA103") -> BlockingReport:
    filename = str(tmp_path / "app" / "flows.py")
    return BlockingReport(
        duration=duration,
        filename=filename,
        lineno=line,
        source_line="    time.sleep(1)\n",
        code=code,
        advice="use await asyncio.sleep(...)",
        step="fetch",
        workflow="Flow",
        coroutine="Run._work",
        stack=[traceback.FrameSummary(filename, line, "fetch", line="time.sleep(1)")],
    )


def test_one_site_counts_its_tests_and_keeps_the_longest_block(tmp_path):
    book = SiteBook(tmp_path)
    book.add_report(_report(tmp_path, 0.2), "test_a.py::test_one")
    book.add_report(_report(tmp_path, 0.5), "test_a.py::test_two")
    book.add_report(_report(tmp_path, 0.3), "test_a.py::test_two")
    (site,) = book.sites()
    assert site.filename == "app/flows.py"  # relative to the rootdir
    assert site.tests == {"test_a.py::test_one", "test_a.py::test_two"}
    assert site.hits == 3
    assert site.longest == 0.5
    assert site.function == "fetch"
    assert site.source_line == "time.sleep(1)"


def test_workers_merge_into_the_controller(tmp_path):
    worker_one, worker_two = SiteBook(tmp_path), SiteBook(tmp_path)
    worker_one.add_report(_report(tmp_path, 0.2), "t.py::a")
    worker_two.add_report(_report(tmp_path, 0.4), "t.py::b")
    worker_two.add_report(_report(tmp_path, 0.1, line=9, code=None), "t.py::b")
    controller = SiteBook(tmp_path)
    for worker in (worker_one, worker_two):
        # What travels through xdist's workeroutput: plain JSON data.
        controller.merge_dicts(json.loads(json.dumps(worker.to_dicts())))
    sites = {(s.lineno, s.code): s for s in controller.sites()}
    assert set(sites) == {(7, "WFA103"), (9, None)}
    assert sites[7, "WFA103"].tests == {"t.py::a", "t.py::b"}
    assert sites[7, "WFA103"].hits == 2 and sites[7, "WFA103"].longest == 0.4
    assert controller.tests() == {"t.py::a", "t.py::b"}


def test_summary_lines_worst_first(tmp_path):
    book = SiteBook(tmp_path)
    book.add_report(_report(tmp_path, 0.2), "t.py::a")
    book.add_report(_report(tmp_path, 0.9, line=9, code=None), "t.py::b")
    book.add_report(_report(tmp_path, 0.00004, line=11, code="WFA102"), "t.py::c")
    assert summary_lines(book, "mode warn, threshold 0.1 s, strict on") == [
        "app/flows.py:9 unclassified in step 'fetch' of Flow: time.sleep(1)",
        "    1 test, longest block 0.90 s; use await asyncio.sleep(...)",
        "app/flows.py:7 WFA103 in step 'fetch' of Flow: time.sleep(1)",
        "    1 test, longest block 0.20 s; use await asyncio.sleep(...)",
        "app/flows.py:11 WFA102 in step 'fetch' of Flow: time.sleep(1)",
        "    1 test, longest block 40 µs; use await asyncio.sleep(...)",
        "3 blocking sites in 3 tests (mode warn, threshold 0.1 s, strict on)",
    ]


def test_report_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "reports" / "wfasync.json"
    book = SiteBook(tmp_path)
    book.add_report(_report(tmp_path, 0.2), "t.py::a")
    write_json_atomically(target, report_document(book, {"mode": "warn"}))
    first = target.read_text(encoding="utf-8")
    assert json.loads(first)["site_count"] == 1

    with pytest.raises(TypeError):
        write_json_atomically(target, {"sites": [object()]})  # fails halfway through
    assert target.read_text(encoding="utf-8") == first
    assert os.listdir(target.parent) == ["wfasync.json"]  # no temporary file left behind


def test_a_broken_detector_never_breaks_the_run(suite):
    # The plugin loads in every pytest run of an environment that has the distribution:
    # when the detector cannot be imported, tests still run and the summary says why.
    suite.file("conftest", "import sys\nsys.modules['runtime.detect.detector'] = None\n")
    suite.file(
        "test_plain",
        """
        import asyncio, time

        def test_runs_a_loop():
            async def main():
                time.sleep(0.3)
            asyncio.run(main())
        """,
    )
    result = suite.run("--wfasync-mode=error", "--wfasync-threshold=0.1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["wfasync: the blocking detector could not be loaded (*); nothing was checked"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
