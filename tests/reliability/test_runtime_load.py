"""The engine and the detector under load, and the detector's own failures contained.

Each test runs its own event loop with ``asyncio.run`` so that it can count what is left
once the loop is gone: tasks, threads, executors, and the memory held after each batch.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import tracemalloc

import pytest
from runtime_load import (
    KINDS,
    install_pool,
    live_executors,
    run_batch,
    wait_for_threads,
)

import runtime.detect.detector as detector_mod
from runtime.detect import sampler, strict
from runtime.detect.detector import BlockingDetector

BATCH = 1000
# What a batch may leave allocated beyond the one before it (the same work again must not
# grow memory; a leak of one small object per run would already be ~100 kB per batch).
MEMORY_SLACK = 96 * 1024

# These tests run their own loops and detectors and count threads: the project's pytest
# plugin must not put its own detector on them.
pytestmark = pytest.mark.wfasync(mode="off")


@pytest.fixture
def thread_hook():
    """Exceptions that escape any thread: there must be none."""
    escaped: list[threading.ExceptHookArgs] = []
    previous = threading.excepthook
    threading.excepthook = escaped.append
    yield escaped
    threading.excepthook = previous


def test_a_thousand_concurrent_runs_end_as_expected_and_leave_nothing_behind(thread_hook) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    executors_before = {id(e) for e in live_executors()}
    batches = []
    memory = []

    async def main() -> None:
        install_pool(asyncio.get_running_loop())
        tracemalloc.start()
        try:
            for _ in range(3):
                result = await run_batch(BATCH)
                batches.append(result)
                await asyncio.sleep(0)
                gc.collect()
                memory.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()

    asyncio.run(main())

    for result in batches:
        assert result.wrong == [], result.wrong[:5]
        assert sum(result.outcomes.values()) == BATCH
        assert result.tasks_left == 0, result.left
    # Every kind of ending happened, in the expected proportions.
    assert batches[0].outcomes["result"] == sum(KINDS[i % len(KINDS)] == "ok" for i in range(BATCH))
    assert {"ValueError", "KeyError", "WorkflowTimeoutError", "CancelledError", "WorkflowCancelledByUser"} <= set(batches[0].outcomes)
    assert memory[2] - memory[1] < MEMORY_SLACK, memory
    # asyncio.run shut the default executor down: its threads are gone, no other is left.
    assert wait_for_threads(threads_before) == []
    assert {id(e) for e in live_executors()} <= executors_before
    assert thread_hook == []


def _loop_is_restored(loop: asyncio.AbstractEventLoop) -> None:
    selector = getattr(loop, "_selector", None)
    assert selector is None or "select" not in vars(selector), "the selector hook is still in place"
    assert id(loop) not in detector_mod._monitors and id(loop) not in detector_mod._shared
    assert strict.patched() == {}
    assert time.sleep.__module__ == "time" and not hasattr(time.sleep, strict._MARK)


def _watchdog_gone(timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(t.name == "wfasync-blocking-watchdog" for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


def test_the_detector_under_the_same_load_reports_nothing_and_uninstalls_cleanly(thread_hook) -> None:
    reports = []
    detector = BlockingDetector(threshold=0.25, strict=True, on_report=reports.append, warn=False, log=False)
    state: dict[str, object] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        install_pool(loop)
        detector.install(loop)
        try:
            # The engine's own switch shares the installed detector (counted per run).
            result = await asyncio.wait_for(run_batch(BATCH, detect_blocking=True), timeout=120)
            state["result"] = result
            assert id(loop) not in detector_mod._shared, "every run gave its detector reference back"
        finally:
            t0 = time.perf_counter()
            detector.uninstall()
            state["uninstall_seconds"] = time.perf_counter() - t0
        _loop_is_restored(loop)
        # The loop still works without it.
        await asyncio.sleep(0.01)

    asyncio.run(main())
    result = state["result"]
    assert result.wrong == [] and result.tasks_left == 0, result.left  # type: ignore[attr-defined]
    assert reports == [], [r.format() for r in reports]
    assert not detector.installed
    assert state["uninstall_seconds"] < 5.0  # type: ignore[operator]
    assert _watchdog_gone()
    assert thread_hook == []


# -- the detector's own failures ----------------------------------------------------------------


def _block(seconds: float) -> None:
    # A known blocking call: classified from the catalog, so a busy machine (which the
    # detector rightly discounts for unknown CPU work) cannot hide it.
    time.sleep(seconds)


async def _ticks_during(seconds: float) -> int:
    """How many times the loop ran a tick during ``seconds``: it keeps running."""
    count = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        await asyncio.sleep(0.005)
        count += 1
    return count


def test_a_report_callback_that_raises_is_logged_and_the_loop_goes_on(caplog, thread_hook) -> None:
    calls = []

    def broken(report: object) -> None:
        calls.append(report)
        raise RuntimeError("callback bug")

    detector = BlockingDetector(threshold=0.05, on_report=broken, warn=False, log=False)

    async def main() -> int:
        with detector:
            _block(0.15)
            await asyncio.sleep(0.02)
            _block(0.15)
            detector.flush()
            return await _ticks_during(0.1)

    with caplog.at_level(logging.ERROR, logger="runtime"):
        ticks = asyncio.run(main())
    assert ticks > 5
    assert len(calls) == 2 and len(detector.reports) == 2  # the second block was still reported
    errors = [r for r in caplog.records if r.name == "runtime" and "on_report callback" in r.getMessage()]
    assert len(errors) == 2 and all(r.exc_info and "callback bug" in str(r.exc_info[1]) for r in errors)
    assert thread_hook == []


def test_an_exception_in_the_watchdog_thread_is_logged_and_watching_goes_on(caplog, monkeypatch, thread_hook) -> None:
    real_capture = sampler.capture
    failures = []

    def flaky_capture(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise RuntimeError("sampler bug")
        return real_capture(*args, **kwargs)

    monkeypatch.setattr(sampler, "capture", flaky_capture)
    detector = BlockingDetector(threshold=0.05, warn=False, log=False)

    async def main() -> int:
        with detector:
            for _ in range(20):  # until the watchdog has sampled a block (and raised)
                _block(0.2)
                await asyncio.sleep(0.05)
                if failures:
                    break
            detector.flush()
            before = len(detector.reports)
            _block(0.2)  # the watchdog is still there and reports this one
            await asyncio.sleep(0.01)
            detector.flush()
            assert len(detector.reports) > before
            return await _ticks_during(0.1)

    with caplog.at_level(logging.ERROR, logger="runtime"):
        ticks = asyncio.run(main())
    assert ticks > 5
    assert failures == [1]
    logged = [r for r in caplog.records if r.name == "runtime" and "watchdog failed" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert "sampler bug" in str(logged[0].exc_info[1])
    assert detector.reports[-1].duration >= 0.15
    assert thread_hook == []


def test_a_loop_closed_under_the_detector_is_let_go_and_other_loops_stay_watched(thread_hook) -> None:
    first = BlockingDetector(threshold=0.05, strict=True, warn=False, log=False)
    loop = asyncio.new_event_loop()
    first.install(loop)

    async def blocks() -> None:
        await asyncio.sleep(0)
        _block(0.15)

    loop.run_until_complete(blocks())
    loop.close()  # closed without uninstall()
    deadline = time.monotonic() + 5
    while first.installed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not first.installed, "the detector still holds a closed loop"
    assert strict.patched() == {}, "strict wrappers outlived the loop they were for"
    assert [r.duration >= 0.1 for r in first.reports] == [True]  # the block before closing
    first.uninstall()  # a no-op now, not an error

    second = BlockingDetector(threshold=0.05, warn=False, log=False)

    async def main() -> None:
        with second:
            _block(0.15)
            second.flush()

    asyncio.run(main())
    assert len(second.reports) == 1
    assert thread_hook == []
