"""``--wfasync-timeline=DIR``: one timeline page per test that blocked the event loop.

While a test runs, every workflow run records its step spans (the engine's run observers);
when the test ends, if its detectors reported a block, the runs that ended during the test
and the test's reports become one page: the test's own clock from the start of its setup.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from pathlib import Path
from typing import Any

from runtime.engine import trace
from runtime.timeline import Timeline, assemble, save_timeline

# Long parametrized ids make long names: cut them, and keep them apart with a hash.
_MAX_STEM = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class TimelineRecorder:
    """The workflow runs that end during one test, and the test's blocking reports."""

    def __init__(self, nodeid: str, threshold: float) -> None:
        self.nodeid = nodeid
        self.threshold = threshold
        self.origin = trace.clock()
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._traces: list[trace.Trace] = []
        self._reports: list[Any] = []
        trace.observe(self._on_run)

    def _on_run(self, finished: trace.Trace) -> None:
        with self._lock:
            self._traces.append(finished)

    def add_reports(self, reports: list[Any]) -> None:
        with self._lock:
            self._reports.extend(reports)

    def close(self) -> Timeline | None:
        """Stop recording; the test's timeline if it blocked the loop, else None."""
        trace.unobserve(self._on_run)
        with self._lock:
            traces, reports = list(self._traces), list(self._reports)
        if not reports:
            return None
        steps = [span for finished in traces for span in finished.step_spans(self.origin)]
        return assemble(self.nodeid, self.origin, self.started_at, trace.clock(), steps, reports, self.threshold)


def page_path(folder: Path, nodeid: str) -> Path:
    """A file name for the test's page: readable, and distinct for distinct tests."""
    stem = _UNSAFE.sub("_", nodeid.replace("::", "__")).strip("_.") or "test"
    if len(stem) > _MAX_STEM:
        digest = hashlib.sha1(nodeid.encode("utf-8")).hexdigest()[:10]
        stem = f"{stem[:_MAX_STEM]}-{digest}"
    return folder / f"{stem}.html"


def write_page(folder: Path, nodeid: str, timeline: Timeline) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return save_timeline(timeline, page_path(folder, nodeid))
