"""The blocking detector on real loops, real threads and real blocking calls.

Every test here blocks an event loop on purpose, so the module carries the pytest plugin's
allow marker. Durations are checked against the time the blocking code itself measured.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import time
import urllib.request
import warnings
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

import pytest
from _servers import slow_http_server

from runtime import StartEvent, StopEvent, Workflow, step
from runtime.detect.detector import BlockingDetector, acquire, release
from runtime.detect.report import BlockingCallWarning, BlockingReport

pytestmark = pytest.mark.wfasync_allow_blocking

BLOCK = 0.3
THRESHOLD = 0.1
HERE = os.path.abspath(__file__)

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


def line_of(tag: str) -> int:
    """The line of this file that ends with ``# line: <tag>``."""
    with open(HERE) as fh:
        for number, text in enumerate(fh, 1):
            if text.rstrip().endswith(f"# line: {tag}"):
                return number
    raise AssertionError(f"no line tagged {tag}")


def watch(
    body: Callable[[], Awaitable[Any]],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    **options: Any,
) -> tuple[list[BlockingReport], Any]:
    """Run ``body`` on a fresh loop with a detector installed; return its reports and result."""
    options.setdefault("warn", False)
    options.setdefault("log", False)
    # Earlier tests' garbage (loops among it) is collected now, not as a real stall of the
    # loop watched below, which must report only what the body does.
    gc.collect()

    async def main() -> tuple[list[BlockingReport], Any]:
        with BlockingDetector(THRESHOLD, **options) as detector:
            result = await body()
        return detector.reports, result

    if hasattr(asyncio, "Runner"):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(main())
    loop = (loop_factory or asyncio.new_event_loop)()  # Python 3.10: no asyncio.Runner
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def assert_one(
    reports: list[BlockingReport],
    *,
    code: str | None,
    line: int,
    actual: float,
    step: str | None = None,
    workflow: str | None = None,
) -> BlockingReport:
    assert len(reports) == 1, [r.format() for r in reports]
    report = reports[0]
    assert report.code == code, report.format()
    assert (report.filename, report.lineno) == (HERE, line), report.format()
    assert (report.step, report.workflow) == (step, workflow), report.format()
    # Never short of the block; above it only by what the loop did around it (generous: a loaded
    # machine may preempt the loop thread between the step's end and the next select).
    assert 0.9 * actual <= report.duration <= 2 * actual, (report.duration, actual)
    return report


# -- workflows that block ------------------------------------------------------------------------


class SleepFlow(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        started = perf_counter()
        time.sleep(BLOCK)  # line: sleep-step
        return StopEvent(result=perf_counter() - started)


class UrlFlow(Workflow):
    @step
    async def download(self, ev: StartEvent) -> StopEvent:
        started = perf_counter()
        with urllib.request.urlopen(ev.url, timeout=10) as response:  # line: urlopen-step
            body = response.read()
        return StopEvent(result=(perf_counter() - started, body))


class RequestsFlow(Workflow):
    @step
    async def download(self, ev: StartEvent) -> StopEvent:
        import requests

        started = perf_counter()
        body = requests.get(ev.url, timeout=10).text  # line: requests-step
        return StopEvent(result=(perf_counter() - started, body))


class CrunchFlow(Workflow):
    @step
    async def crunch(self, ev: StartEvent) -> StopEvent:
        started, total = perf_counter(), 0
        while perf_counter() - started < BLOCK: total += 1  # line: cpu-loop
        return StopEvent(result=perf_counter() - started)


def load_settings() -> dict[str, str]:
    time.sleep(BLOCK)  # line: helper-sleep
    return {}


class HelperFlow(Workflow):
    @step
    async def configure(self, ev: StartEvent) -> StopEvent:
        started = perf_counter()
        load_settings()
        return StopEvent(result=perf_counter() - started)


class OffloadedFlow(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        await asyncio.to_thread(time.sleep, BLOCK)
        return StopEvent(result="done")


class PlainDefFlow(Workflow):
    @step
    def fetch(self, ev: StartEvent) -> StopEvent:
        time.sleep(BLOCK)
        return StopEvent(result="done")


# -- must show ---------------------------------------------------------------------------------


def test_time_sleep_in_a_step_is_caught_once_with_step_line_duration_and_code():
    reports, actual = watch(lambda: SleepFlow().run())
    report = assert_one(reports, code="WFA103", line=line_of("sleep-step"), actual=actual, step="fetch", workflow="SleepFlow")
    assert report.advice == "await asyncio.sleep(...)"
    assert report.format().startswith("WFA103 step 'fetch' of SleepFlow blocked the event loop for 0.3")
    assert report.format().endswith(": time.sleep(BLOCK) -> use await asyncio.sleep(...)")
    assert report.thread_name == threading.current_thread().name
    assert report.stack[-1].lineno == line_of("sleep-step")


def test_an_http_get_with_urllib_against_a_local_server_is_wfa101():
    with slow_http_server(BLOCK) as url:
        reports, (actual, body) = watch(lambda: UrlFlow().run(url=url))
    assert body == b"ok"
    report = assert_one(reports, code="WFA101", line=line_of("urlopen-step"), actual=actual, step="download", workflow="UrlFlow")
    assert report.call == "urllib.request.urlopen"


def test_requests_get_against_a_local_server_is_wfa101():
    pytest.importorskip("requests")
    with slow_http_server(BLOCK) as url:
        reports, (actual, body) = watch(lambda: RequestsFlow().run(url=url))
    assert body == "ok"
    report = assert_one(reports, code="WFA101", line=line_of("requests-step"), actual=actual, step="download", workflow="RequestsFlow")
    assert report.call is not None and report.call.startswith("requests.")


def test_a_cpu_loop_is_unknown_work_at_its_hottest_line():
    reports, actual = watch(lambda: CrunchFlow().run())
    report = assert_one(reports, code=None, line=line_of("cpu-loop"), actual=actual, step="crunch", workflow="CrunchFlow")
    assert "(CPU work or an unknown call)" in report.format()
    assert "no known blocking call" in report.format_stack()
    assert report.samples >= 1  # the hottest line comes from real stack samples; a loaded machine gives few
    assert report.cpu_time is None or report.cpu_time > 0


def test_a_sync_helper_that_sleeps_points_at_the_sleep_and_names_the_calling_step():
    reports, actual = watch(lambda: HelperFlow().run())
    report = assert_one(reports, code="WFA103", line=line_of("helper-sleep"), actual=actual, step="configure", workflow="HelperFlow")
    assert [f.name for f in report.stack[-2:]] == ["configure", "load_settings"]


def test_a_blocking_step_on_a_loop_in_another_thread():
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["value"] = watch(lambda: SleepFlow().run())

    thread = threading.Thread(target=run, name="loop-thread")
    thread.start()
    thread.join(30)
    reports, actual = outcome["value"]
    report = assert_one(reports, code="WFA103", line=line_of("sleep-step"), actual=actual, step="fetch", workflow="SleepFlow")
    assert report.thread_name == "loop-thread"
    assert report.thread_id == thread.ident


@pytest.mark.skipif(uvloop is None, reason="uvloop not installed")
def test_a_blocking_step_on_uvloop():
    reports, actual = watch(lambda: SleepFlow().run(), loop_factory=uvloop.new_event_loop)
    assert_one(reports, code="WFA103", line=line_of("sleep-step"), actual=actual, step="fetch", workflow="SleepFlow")


@pytest.mark.skipif(uvloop is None, reason="uvloop not installed")
def test_a_cpu_loop_on_uvloop_in_another_thread():
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["value"] = watch(lambda: CrunchFlow().run(), loop_factory=uvloop.new_event_loop)

    thread = threading.Thread(target=run, name="uvloop-thread")
    thread.start()
    thread.join(30)
    reports, actual = outcome["value"]
    report = assert_one(reports, code=None, line=line_of("cpu-loop"), actual=actual, step="crunch", workflow="CrunchFlow")
    assert report.thread_name == "uvloop-thread"


@pytest.mark.parametrize("flow", [OffloadedFlow, PlainDefFlow])
@pytest.mark.parametrize("strict", [False, True])
def test_steps_that_keep_the_loop_free_report_nothing(flow, strict):
    started = perf_counter()
    reports, result = watch(lambda: flow().run(), strict=strict)
    assert result == "done"
    assert perf_counter() - started >= BLOCK  # the blocking call really ran
    assert reports == [], [r.format_stack() for r in reports]


class SlowStartThread(threading.Thread):
    """A thread the operating system takes its time to schedule, as under CPU load: its
    ``start()`` waits that long for the new thread's first lines."""

    def _bootstrap_inner(self) -> None:
        time.sleep(BLOCK)
        super()._bootstrap_inner()


def test_waiting_for_a_new_thread_to_start_is_not_a_block():
    async def body() -> float:
        started = perf_counter()
        worker = SlowStartThread(target=lambda: None)
        worker.start()  # the loop waits here for the thread to be scheduled
        await asyncio.to_thread(worker.join)
        return perf_counter() - started

    reports, took = watch(body, strict=True)
    assert took >= BLOCK  # start() really waited
    assert reports == [], [r.format_stack() for r in reports]


def test_a_block_right_after_starting_a_thread_is_still_reported():
    async def body() -> float:
        worker = SlowStartThread(target=lambda: None)
        worker.start()
        await asyncio.sleep(0)  # the loop gets back to its own work between the two
        started = perf_counter()
        time.sleep(BLOCK)  # line: sleep-after-start
        took = perf_counter() - started
        await asyncio.to_thread(worker.join)
        return took

    reports, actual = watch(body)
    assert_one(reports, code="WFA103", line=line_of("sleep-after-start"), actual=actual)


# -- garbage collection -----------------------------------------------------------------------------


class Cyclic:
    me: Any = None


def garbage_then(run: Callable[[list[Any]], Any]) -> Any:
    """Call ``run(holder)`` with ``holder`` keeping many reference cycles alive; once the
    caller clears it they are garbage for the next collection. A collection of plain cycles
    holds the GIL from start to end: the watchdog cannot take a single sample meanwhile."""
    gc.collect()
    gc.disable()
    try:
        size = 400_000
        while True:
            holder = []
            for _ in range(size):
                node = Cyclic()
                node.me = node
                holder.append(node)
            outcome = run(holder)
            took = outcome[-1]
            # Only a collection longer than the threshold has to be reported: grow the
            # garbage until this machine takes that long.
            if took >= 1.5 * THRESHOLD or size >= 6_400_000:
                return outcome
            size *= 2
    finally:
        gc.enable()


def test_a_collection_that_holds_the_loop_is_reported_at_the_line_that_ran_it():
    def run(holder: list[Any]) -> tuple[list[BlockingReport], float]:
        async def body() -> float:
            holder.clear()
            started = perf_counter()
            gc.collect()  # line: gc-collect
            return perf_counter() - started

        return watch(body)

    reports, took = garbage_then(run)
    assert took >= 1.5 * THRESHOLD, f"the collection took only {took:.3f} s"
    assert len(reports) == 1, [r.format() for r in reports]
    report = reports[0]
    assert (report.filename, report.lineno) == (HERE, line_of("gc-collect")), report.format()
    assert report.call is not None and report.call.startswith("garbage collection, generation 2"), report.format()
    assert report.duration >= 0.9 * took


def test_a_collection_in_the_last_callback_before_the_loop_stops_is_reported():
    """Watched from outside the loop (as the pytest plugin does): the loop stops right after the
    collection, so no stamp of the loop ever shows the gap, and no sample was possible."""

    def run(holder: list[Any]) -> tuple[list[BlockingReport], float]:
        async def body() -> float:
            holder.clear()
            started = perf_counter()
            gc.collect()  # line: gc-last
            return perf_counter() - started

        loop = asyncio.new_event_loop()
        detector = BlockingDetector(THRESHOLD, warn=False, log=False).install(loop)
        try:
            took = loop.run_until_complete(body())
            assert detector.flush()
        finally:
            detector.uninstall()
            loop.close()
        return detector.reports, took

    reports, took = garbage_then(run)
    assert took >= 1.5 * THRESHOLD, f"the collection took only {took:.3f} s"
    assert len(reports) == 1, [r.format() for r in reports]
    report = reports[0]
    assert (report.filename, report.lineno) == (HERE, line_of("gc-last")), report.format()
    assert report.call is not None and report.call.startswith("garbage collection"), report.format()
    assert report.duration >= 0.9 * took


# -- attribution ---------------------------------------------------------------------------------


def test_a_plain_coroutine_is_named_by_its_task_and_coroutine():
    async def poll() -> float:
        started = perf_counter()
        time.sleep(BLOCK)  # line: task-sleep
        return perf_counter() - started

    async def body() -> float:
        return await asyncio.create_task(poll(), name="poller")

    reports, actual = watch(body)
    report = assert_one(reports, code="WFA103", line=line_of("task-sleep"), actual=actual)
    assert (report.task, report.coroutine) == ("poller", poll.__qualname__)
    assert "task 'poller'" in report.format()


def test_a_llama_index_workflows_step_is_found_from_the_stack():
    workflows = pytest.importorskip("workflows")
    from workflows.events import StartEvent as LStart
    from workflows.events import StopEvent as LStop

    class LlamaSleep(workflows.Workflow):
        @workflows.step
        async def fetch(self, ev: LStart) -> LStop:
            started = perf_counter()
            time.sleep(BLOCK)  # line: llama-sleep
            return LStop(result=perf_counter() - started)

    reports, actual = watch(lambda: LlamaSleep(timeout=30).run())
    # The engine itself may hold the loop for a moment on a first run: keep the sleep's report.
    mine = [r for r in reports if r.code == "WFA103"]
    assert_one(mine, code="WFA103", line=line_of("llama-sleep"), actual=actual, step="fetch", workflow="LlamaSleep")


def test_two_tasks_blocking_back_to_back_are_two_reports():
    async def first() -> float:
        started = perf_counter()
        time.sleep(0.2)  # line: first-blocker
        return perf_counter() - started

    async def second() -> float:
        started = perf_counter()
        time.sleep(0.2)  # line: second-blocker
        return perf_counter() - started

    for factory in [None] + ([uvloop.new_event_loop] if uvloop else []):
        reports, (one, two) = watch(lambda: asyncio.gather(first(), second()), loop_factory=factory)
        assert [r.lineno for r in reports] == [line_of("first-blocker"), line_of("second-blocker")], [r.format() for r in reports]
        for report, actual in zip(reports, (one, two)):
            assert 0.85 * actual <= report.duration <= 1.5 * actual, (factory, report.duration, actual)


def test_a_block_shorter_than_the_threshold_is_not_reported():
    async def body() -> None:
        time.sleep(THRESHOLD * 0.3)
        await asyncio.sleep(0.05)
        time.sleep(THRESHOLD * 0.3)

    reports, _ = watch(body)
    assert reports == [], [r.format_stack() for r in reports]


# -- installing ---------------------------------------------------------------------------------


def test_installed_before_the_loop_runs_catches_the_very_first_callback():
    async def blocker() -> float:
        started = perf_counter()
        time.sleep(BLOCK)  # line: first-callback
        return perf_counter() - started

    loop = asyncio.new_event_loop()
    try:
        detector = BlockingDetector(THRESHOLD, warn=False, log=False).install(loop)
        actual = loop.run_until_complete(blocker())
        detector.uninstall()
    finally:
        loop.close()
    assert_one(detector.reports, code="WFA103", line=line_of("first-callback"), actual=actual)


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_installed_from_another_thread_on_a_running_loop(kind):
    if kind == "uvloop" and uvloop is None:
        pytest.skip("uvloop not installed")
    loop = uvloop.new_event_loop() if kind == "uvloop" else asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"{kind}-forever")
    thread.start()
    try:
        detector = BlockingDetector(THRESHOLD, warn=False, log=False).install(loop)

        async def blocker() -> float:
            started = perf_counter()
            time.sleep(BLOCK)  # line: remote-sleep
            return perf_counter() - started

        # One turn of the loop under the detector (hooked select, or a first heartbeat), then the
        # block, then one more turn so the loop has let go of it before the uninstall.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(30)
        actual = asyncio.run_coroutine_threadsafe(blocker(), loop).result(30)
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(30)
        detector.uninstall()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    report = assert_one(detector.reports, code="WFA103", line=line_of("remote-sleep"), actual=actual)
    assert report.thread_name == f"{kind}-forever"


def test_uninstall_puts_the_loop_back_as_it_was():
    async def body() -> None:
        loop = asyncio.get_running_loop()
        selector = loop._selector  # type: ignore[attr-defined]
        before = dict(vars(selector))
        handles_before = len(loop._scheduled)  # type: ignore[attr-defined]
        detector = BlockingDetector(THRESHOLD).install()
        assert "select" in vars(selector)
        detector.uninstall()
        assert dict(vars(selector)) == before
        await asyncio.sleep(0)
        assert len([h for h in loop._scheduled if not h.cancelled()]) == handles_before  # type: ignore[attr-defined]
        assert not detector.installed

    asyncio.run(body())


@pytest.mark.skipif(uvloop is None, reason="uvloop not installed")
def test_uninstall_stops_the_heartbeat_on_uvloop():
    ticks: list[int] = []

    async def body() -> None:
        detector = BlockingDetector(THRESHOLD).install()
        monitor = detector._monitor
        await asyncio.sleep(0.05)
        assert monitor is not None and monitor.handle is not None
        detector.uninstall()
        assert monitor.handle is None and not monitor.active
        stamp = monitor.stamp
        await asyncio.sleep(0.05)
        ticks.append(int(monitor.stamp != stamp))

    uvloop.run(body())
    assert ticks == [0]


def test_bad_settings_get_clear_errors():
    for bad in (0, -1, "soon", float("inf"), float("nan"), None, True):
        with pytest.raises(ValueError, match="threshold must be a positive number of seconds"):
            BlockingDetector(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_report must be callable"):
        BlockingDetector(on_report="print")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        BlockingDetector().install()
    loop = asyncio.new_event_loop()
    loop.close()
    with pytest.raises(RuntimeError, match="closed event loop"):
        BlockingDetector().install(loop)

    async def twice() -> None:
        with BlockingDetector() as detector:
            with pytest.raises(RuntimeError, match="already installed"):
                detector.install()

    asyncio.run(twice())


# -- delivery -----------------------------------------------------------------------------------


def test_the_warning_points_at_the_blocking_line_and_the_log_has_the_report(caplog):
    async def body() -> None:
        time.sleep(BLOCK)  # line: warned-sleep

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="runtime"):
        warnings.simplefilter("always")
        reports, _ = watch(body, warn=True, log=True)
    mine = [w for w in caught if issubclass(w.category, BlockingCallWarning)]
    assert len(mine) == 1 and len(reports) == 1
    assert (mine[0].filename, mine[0].lineno) == (HERE, line_of("warned-sleep"))
    assert str(mine[0].message) == reports[0].format()
    logged = [r for r in caplog.records if r.name == "runtime" and r.levelno == logging.WARNING]
    assert len(logged) == 1 and reports[0].format() in logged[0].getMessage()


def test_an_error_filter_and_a_raising_callback_never_reach_the_loop(caplog):
    seen: list[BlockingReport] = []

    def explode(report: BlockingReport) -> None:
        seen.append(report)
        raise ValueError("callback bug")

    async def body() -> str:
        time.sleep(BLOCK)
        await asyncio.sleep(0.01)
        return "finished"

    with warnings.catch_warnings(), caplog.at_level(logging.ERROR, logger="runtime"):
        warnings.simplefilter("error", BlockingCallWarning)
        reports, result = watch(body, warn=True, on_report=explode)
    assert result == "finished"
    assert len(seen) == 1 and reports == seen
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("on_report callback" in m and "callback bug" in (caplog.text) for m in messages)
    assert any("BlockingCallWarning raised by a warnings filter" in m for m in messages)


def test_the_engine_switch_reports_through_warnings():
    async def main() -> float:
        return await SleepFlow(detect_blocking=True).run()

    with pytest.warns(BlockingCallWarning, match=r"WFA103 step 'fetch' of SleepFlow"):
        result = asyncio.run(main())
    assert result >= BLOCK


def test_acquire_is_shared_and_counted_and_reuses_an_installed_detector():
    async def body() -> None:
        loop = asyncio.get_running_loop()
        first = acquire(loop)
        assert acquire(loop) is first and first.installed
        release(loop)
        assert first.installed
        release(loop)
        assert not first.installed

        mine = BlockingDetector(THRESHOLD, warn=False, log=False).install()
        assert acquire(loop) is mine
        release(loop)
        assert mine.installed  # acquire() never uninstalls what it did not create
        mine.uninstall()

    asyncio.run(body())


def test_two_detectors_on_one_loop_each_get_the_report_by_their_threshold():
    async def body() -> list[list[BlockingReport]]:
        time.sleep(0.01)
        with BlockingDetector(0.1, warn=False, log=False) as low, BlockingDetector(0.5, warn=False, log=False) as high:
            time.sleep(0.2)
        return [low.reports, high.reports]

    low, high = asyncio.run(body())
    assert len(low) == 1 and high == []


def test_the_shared_detector_takes_its_threshold_from_the_environment(monkeypatch):
    async def body(expect: float | None) -> None:
        loop = asyncio.get_running_loop()
        if expect is None:
            with pytest.raises(ValueError, match="WFASYNC_BLOCKING_THRESHOLD must be a positive number of seconds"):
                acquire(loop)
            return
        detector = acquire(loop)
        try:
            assert detector.threshold == expect
        finally:
            release(loop)

    monkeypatch.setenv("WFASYNC_BLOCKING_THRESHOLD", "0.25")
    asyncio.run(body(0.25))
    monkeypatch.setenv("WFASYNC_BLOCKING_THRESHOLD", "fast")
    asyncio.run(body(None))


def test_a_loop_closed_without_uninstall_still_delivers_and_lets_go():
    from runtime.detect import strict

    got: list[BlockingReport] = []
    reported = threading.Event()
    detectors: list[BlockingDetector] = []

    def on_report(report: BlockingReport) -> None:
        got.append(report)
        reported.set()

    async def main() -> None:
        detectors.append(BlockingDetector(THRESHOLD, strict=True, warn=False, log=False, on_report=on_report).install())
        time.sleep(BLOCK)  # line: last-words

    asyncio.run(main())  # closes the loop; nobody uninstalls
    assert reported.wait(30), "the block was never reported"
    # The watchdog notices the closed loop on its own rounds: wait for it, generously.
    deadline = time.monotonic() + 30
    while detectors[0].installed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.lineno for r in got] == [line_of("last-words")], [r.format() for r in got]
    assert not detectors[0].installed
    assert strict.patched() == {}, strict.patched()


def test_wait_for_reports_waits_for_a_report_still_on_its_way_after_uninstall(monkeypatch):
    from runtime.detect import detector as detector_module

    # The first detector's callback holds the report up (as a slow callback or an overloaded
    # machine would) until the gate opens; the second one gets the report only after that.
    gate = threading.Event()
    first = BlockingDetector(THRESHOLD, warn=False, log=False, on_report=lambda report: gate.wait(30))
    second = BlockingDetector(THRESHOLD, warn=False, log=False)
    monkeypatch.setattr(detector_module, "FLUSH_TIMEOUT", 0.2)

    async def main() -> None:
        first.install()
        second.install()
        time.sleep(BLOCK)  # line: held-up
        await asyncio.sleep(0)

    asyncio.run(main())
    try:
        assert second.uninstall() is False  # the watchdog's answer waits behind the held-up report
        assert second.reports == []
        assert second.wait_for_reports(timeout=0.05) is False  # still on its way: says so
    finally:
        gate.set()
    assert second.wait_for_reports() is True
    assert [r.lineno for r in second.reports] == [line_of("held-up")]
    assert first.wait_for_reports() is True


def test_wait_for_reports_returns_at_once_when_nothing_is_pending():
    detector = BlockingDetector(THRESHOLD, warn=False, log=False)
    assert detector.wait_for_reports(timeout=0) is True  # never installed

    async def main() -> bool:
        with detector:
            await asyncio.sleep(0.01)
            return detector.wait_for_reports()

    assert asyncio.run(main()) is True
    assert detector.wait_for_reports() is True
    assert detector.reports == []
