"""Notice when a loop callback blocks the event loop, and say where, what and who.

How it works, and why it is cheap:

- A *heartbeat* on the loop: a ``call_later`` tick every few milliseconds (threshold / 20)
  stamps the time. That is the only work added to the loop, a few hundred tiny callbacks a
  second, whatever the workload; nothing wraps each callback, so it costs the same on asyncio
  and on uvloop, on the main thread or any other.
- A *watchdog* thread (one for all loops) sleeps until a loop's next stamp is overdue by half
  the threshold. Then a callback is holding the loop: it samples the loop thread's stack with
  ``sys._current_frames()`` every few milliseconds while the block lasts.
- The block ends when the loop runs the next tick, which records how long the gap was (and
  the loop thread's CPU time across it). Its start is known within one heartbeat interval,
  so durations are accurate to a few milliseconds.
- The samples are classified with the static catalog and attributed to a workflow step or a
  task (:mod:`runtime.sampler`) on a reporter thread, which delivers the report to
  ``on_report`` and the ``runtime`` logger. The :class:`~runtime.report.BlockingCallWarning`
  is issued on the loop's own thread, which waits for the report when it gets back from a
  block, so the warnings context of the code that blocked applies. Nothing is ever raised
  into the loop.

Strict mode (:mod:`runtime.strict`) adds wrappers around the catalog's module-level blocking
callables to catch calls shorter than the threshold.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from types import CodeType, FrameType, TracebackType
from typing import Any

from . import gc_watch, sampler, strict
from .report import GC_ADVICE, UNKNOWN_ADVICE, BlockingCallWarning, BlockingReport, advice_for, format_duration
from .threshold import DEFAULT_THRESHOLD, check_threshold, threshold_from_env

__all__ = ["BlockingDetector", "acquire", "release"]

logger = logging.getLogger("runtime")


_perf = time.perf_counter
_get_ident = threading.get_ident

# Every asyncio callback runs inside Handle._run: frames inside it belong to the callback.
_HANDLE_RUN: CodeType | None = getattr(getattr(asyncio.events.Handle, "_run", None), "__code__", None)

# How long flush() waits for the watchdog (classifying a first block imports libcst).
FLUSH_TIMEOUT = 5.0
# How long wait_for_reports() waits, at most, for reports known to be on their way: it returns
# as soon as they are in, so only an overloaded machine gets anywhere near this.
REPORT_TIMEOUT = 30.0
# How long the watchdog thread outlives the last watched loop, so that a test suite starting
# a loop per test does not start a thread per test as well.
LINGER = 1.0
# How long the loop thread, back from a block, waits for its report so that the warning is
# issued there and then (in the warnings context of the code that blocked). Past this the
# report still comes, a moment later, from the loop's next iteration.
IN_CONTEXT_WAIT = 2.0


def heartbeat_interval(threshold: float) -> float:
    """Seconds between ticks: the block's start is known within this."""
    return min(0.05, max(0.001, threshold / 20))


def sample_interval(threshold: float) -> float:
    """Seconds between stack samples while a block lasts."""
    return min(0.01, max(0.001, threshold / 20))


class BlockingDetector:
    """Report loop callbacks that run longer than ``threshold`` seconds.

    ``install(loop)`` watches a loop (``None``: the running loop) on any thread, asyncio or
    uvloop, before or while it runs; ``uninstall()`` delivers what is still pending and puts
    everything back. As a context manager it watches the running loop::

        with BlockingDetector(threshold=0.05) as detector:
            await handler
        for report in detector.reports:
            print(report.format())

    Each report goes to ``reports``, to ``on_report`` (a callback that raises is logged and
    ignored; it runs on the detector's own thread) and to the ``runtime`` logger (``log``).

    The :class:`BlockingCallWarning` (``warn``) and ``on_report_in_context`` are for the code
    that blocked: they run on the loop's own thread as soon as the block ends, before the loop
    runs anything else, so ``warnings.catch_warnings()``, ``pytest.warns`` and warnings filters
    around that code apply. A block the loop did not come back from (its run ended) is
    delivered there by ``flush()`` or ``uninstall()``, on the caller's thread. An exception
    from either (a warnings filter set to ``error``) is logged, never raised into the loop.

    ``strict=True`` also reports known blocking calls (the catalog's module-level callables)
    made inside a task on the loop's thread, however short.
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        strict: bool = False,
        on_report: Callable[[BlockingReport], None] | None = None,
        warn: bool = True,
        log: bool = True,
        on_report_in_context: Callable[[BlockingReport], None] | None = None,
    ) -> None:
        self.threshold = check_threshold(threshold)
        for name, callback in (("on_report", on_report), ("on_report_in_context", on_report_in_context)):
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable, got {type(callback).__name__}")
        self.strict = bool(strict)
        self.on_report = on_report
        self.on_report_in_context = on_report_in_context
        self.warn = bool(warn)
        self.log = bool(log)
        self.reports: list[BlockingReport] = []
        self._monitor: _Monitor | None = None
        self._lock = threading.Lock()
        # Reports whose warning / in-context callback has not run yet.
        self._unseen: deque[BlockingReport] = deque()
        # Finished blocks whose reports the reporter thread is still building.
        self._in_flight = 0
        self._settled = threading.Condition(self._lock)

    @property
    def wants_context(self) -> bool:
        return self.warn or self.on_report_in_context is not None

    # -- public ---------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop being watched, or None when not installed."""
        monitor = self._monitor
        return monitor.loop if monitor is not None else None

    @property
    def installed(self) -> bool:
        return self._monitor is not None

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> BlockingDetector:
        if self._monitor is not None:
            raise RuntimeError("this BlockingDetector is already installed; uninstall() it first")
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "BlockingDetector.install() without a loop needs a running event loop; "
                    "pass the loop to watch: install(loop)"
                ) from None
        if not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"install() expects an event loop, got {type(loop).__name__}")
        if loop.is_closed():
            raise RuntimeError("cannot watch a closed event loop")
        _attach(loop, self)
        return self

    def uninstall(self) -> bool:
        """Deliver the reports of blocks that already happened, then stop watching.

        Returns False when the watchdog did not answer in time (reports may come later)."""
        monitor = self._monitor
        answered = True
        if monitor is not None:
            try:
                answered = monitor.flush(FLUSH_TIMEOUT)
            finally:
                _detach(self)
        self.deliver_in_context()
        return answered

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every block that has ended so far is reported (a block still going on is
        reported as lasting until now); warnings still pending are issued on this thread.

        Returns False when the watchdog did not answer within ``timeout`` (default
        ``FLUSH_TIMEOUT``)."""
        answered = self.wait_for_reports(FLUSH_TIMEOUT if timeout is None else timeout)
        self.deliver_in_context()
        return answered

    def wait_for_reports(self, timeout: float | None = None) -> bool:
        """Wait until the report of every block that has ended so far is in ``reports`` (and
        has gone to ``on_report``), whether or not the detector is still installed: after
        ``uninstall()`` too, a report the detector's thread was still building is waited for.
        While installed, a block still going on is reported as lasting until now.

        Unlike :meth:`flush`, this issues no warning on the calling thread. It waits on events
        and returns as soon as nothing is pending; False when that took longer than
        ``timeout`` seconds (default ``REPORT_TIMEOUT``)."""
        if _WATCHDOG.is_current():
            return True  # called from a report callback: what is pending is being delivered now
        wait = REPORT_TIMEOUT if timeout is None else timeout
        deadline = _perf() + wait
        monitor = self._monitor
        if monitor is not None and not monitor.flush(min(wait, FLUSH_TIMEOUT)):
            return False
        with self._settled:
            while self._in_flight:
                remaining = deadline - _perf()
                if remaining <= 0 or not self._settled.wait(remaining):
                    return not self._in_flight
        return True

    def _expect(self) -> None:
        with self._lock:
            self._in_flight += 1

    def _settle(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight <= 0:
                self._in_flight = 0
                self._settled.notify_all()

    def deliver_in_context(self, *, anywhere: bool = False) -> None:
        """Issue the warnings (and in-context callbacks) of reports delivered so far, here."""
        if _WATCHDOG.is_current() and not anywhere:
            return  # the detector's own threads are nobody's context
        while True:
            with self._lock:
                if not self._unseen:
                    return
                report = self._unseen.popleft()
            self._in_context(report)

    def __enter__(self) -> BlockingDetector:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self._monitor is not None else "not installed"
        return f"<BlockingDetector threshold={self.threshold}s strict={self.strict} {state}, {len(self.reports)} reports>"

    # -- delivery -------------------------------------------------------------------------

    def _deliver(self, report: BlockingReport) -> None:
        with self._lock:
            self.reports.append(report)
            if self.wants_context:
                self._unseen.append(report)
        if self.on_report is not None:
            try:
                self.on_report(report)
            except Exception:  # noqa: BLE001 - a broken callback must not stop the others
                logger.exception("on_report callback %r raised while handling: %s", self.on_report, report.format())
        if self.log:
            logger.warning("%s", report.format_stack())

    def _in_context(self, report: BlockingReport) -> None:
        if self.warn:
            try:
                warnings.warn_explicit(
                    BlockingCallWarning(report.format()),
                    BlockingCallWarning,
                    report.filename or "<unknown>",
                    report.lineno or 0,
                    module=report.module,
                )
            except Exception:  # noqa: BLE001 - e.g. an "error" filter: never raise into the loop
                logger.error("BlockingCallWarning raised by a warnings filter: %s", report.format())
        if self.on_report_in_context is not None:
            try:
                self.on_report_in_context(report)
            except Exception:  # noqa: BLE001 - never raise into the loop
                logger.exception("on_report_in_context callback %r raised while handling: %s",
                                 self.on_report_in_context, report.format())

    def _strict_sink(
        self, loop: asyncio.AbstractEventLoop, entry: Any, name: str, caller: FrameType, duration: float
    ) -> None:
        """A short known blocking call in a task on the loop thread (runs on that thread)."""
        monitor = self._monitor
        root = monitor.root if monitor is not None else _HANDLE_RUN
        infos: list[sampler.FrameInfo] = []
        frame: FrameType | None = caller
        while frame is not None and len(infos) < sampler.MAX_DEPTH:
            infos.append((frame.f_code, frame.f_lineno, frame.f_globals.get("__name__")))
            frame = frame.f_back
        frames = sampler.cut_at_root(tuple(infos), root) or tuple(infos)
        verdict = sampler.CLASSIFIER.entry_verdict(entry, name)
        step = sampler.find_step(frames) or _step_from_task_name(_current_task(loop))
        task = _current_task(loop)
        # The user's call, not the line of the standard library or package that made the
        # wrapped call for it (Path.write_text -> io.open).
        site = sampler.first_user_frame(frames) or frames[0]
        started = _perf() - duration
        if monitor is not None:
            monitor.strict_seen.append((_get_ident(), started, site[0].co_filename, site[1]))
        self._deliver(
            BlockingReport(
                duration=duration,
                filename=site[0].co_filename,
                lineno=site[1],
                source_line=sampler.source_line(site),
                module=site[2],
                code=verdict.code,
                advice=advice_for(verdict.advice or UNKNOWN_ADVICE, step[1] is not None),
                call=name,
                rule_title=verdict.title,
                step=step[1],
                workflow=step[0],
                task=task.get_name() if task is not None else None,
                coroutine=sampler.outermost_coroutine(frames),
                stack=sampler.summaries(frames),
                thread_name=threading.current_thread().name,
                thread_id=_get_ident(),
                strict=True,
                samples=0,
                started=started,
            )
        )
        self.deliver_in_context()  # on the loop thread, right after the call


def _current_task(loop: asyncio.AbstractEventLoop) -> Any:
    try:
        return asyncio.current_task(loop)
    except RuntimeError:
        return None


def _step_from_task_name(task: Any) -> tuple[str | None, str | None]:
    """The engine names its worker tasks ``wfasync:<Workflow>.<step>``."""
    name = task.get_name() if task is not None else None
    if name and name.startswith("wfasync:") and "." in name:
        workflow, _, step = name[len("wfasync:"):].rpartition(".")
        return workflow, step
    return None, None


class _Block:
    """A stretch of time during which one loop has not come back to its own machinery."""

    __slots__ = ("stamp", "start", "thread_id", "samples", "task", "last_seen", "lag", "cpu")

    def __init__(self, stamp: float, start: float, thread_id: int | None) -> None:
        self.stamp = stamp
        self.start = start
        self.thread_id = thread_id
        # (when, stack, the task whose coroutine was on that stack, if any)
        self.samples: list[tuple[float, sampler.Sample, Any]] = []
        self.task: Any = None
        self.last_seen = start
        self.lag = 0.0
        self.cpu: tuple[float, float] | None = None  # (when, loop thread CPU seconds) at detection


class _Monitor:
    """What the loop thread tells the watchdog about one loop, and the watchdog's view of it.

    Two ways to know when the loop's thread last came back to the loop:

    - asyncio loops: the selector's ``select`` is wrapped on the loop's own selector, so every
      iteration stamps when its callbacks start and end (exact, and no extra callbacks; a few
      hundred nanoseconds per iteration, which runs many callbacks);
    - any other loop (uvloop): a heartbeat tick every ``interval`` seconds; the block's start
      is then known within one interval.

    Shared by all detectors installed on the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.detectors: list[BlockingDetector] = []
        # The code of the frame that dispatches callbacks (asyncio's is known; uvloop's is the
        # Python frame that entered the loop, learnt by the first tick).
        self.root: CodeType | None = _HANDLE_RUN if isinstance(loop, asyncio.BaseEventLoop) else None
        self._learn_root = self.root is None
        # Written by the loop thread: when it last started running callbacks (after select, or
        # at a tick), whether it is waiting in select now, and the thread.
        self.stamp = 0.0
        self.idle = False
        self.thread_id: int | None = None
        # Gaps longer than late_gap between two stamps: (previous stamp, stamp).
        self.late: deque[tuple[float, float]] = deque()
        self.active = False
        self.handle: Any = None
        self._selector: Any = None
        self._select: Any = None
        self.threshold = DEFAULT_THRESHOLD
        self.interval = 0.0  # heartbeat interval; 0 while the iteration hook is used
        self.sample_every = sample_interval(self.threshold)
        self.late_gap = self.threshold / 2
        # Watchdog-side state.
        self.block: _Block | None = None
        self.floor = 0.0  # last time the loop was seen not running: no block started before
        self.cpu_seen: tuple[float, float] | None = None
        self.flush_waiters: list[threading.Event] = []
        self.flushing = 0
        self.closed = False
        # Whether a detector wants its reports on the loop thread (warnings), and whether that
        # thread is waiting for them right now.
        self.in_context = False
        self.waiting = False
        # Strict reports made on this loop lately: (thread id, start, filename, line), so the
        # watchdog does not report the same call again as part of a long block.
        self.strict_seen: deque[tuple[int, float, str, int]] = deque(maxlen=64)
        self.tracking_gc = False
        self.watched_since = _perf()

    def configure(self) -> None:
        if self.detectors:
            self.threshold = min(d.threshold for d in self.detectors)
        if self._select is None:
            self.interval = heartbeat_interval(self.threshold)
        self.sample_every = sample_interval(self.threshold)
        self.late_gap = self.threshold / 2
        self.in_context = any(d.wants_context for d in self.detectors)

    # -- loop side ------------------------------------------------------------------------

    def start(self) -> None:
        loop = self.loop
        self.active = True
        if not self.tracking_gc:
            gc_watch.track()
            self.tracking_gc = True
        on_loop_thread = asyncio._get_running_loop() is loop
        if on_loop_thread or not loop.is_running():
            # Installed from the loop's thread, or before the loop runs (usually on the thread
            # that will run it): count from now, so a block in the very first callback is
            # caught too.
            self.thread_id = _get_ident()
        self.stamp = _perf()
        if self._hook_selector():
            if not on_loop_thread and loop.is_running():
                # The loop may be waiting in the old select: wake it so the hook takes over.
                loop.call_soon_threadsafe(_nothing)
            return
        self.interval = heartbeat_interval(self.threshold)
        if on_loop_thread:
            self.handle = loop.call_later(self.interval, self._tick)
        else:
            loop.call_soon_threadsafe(self._tick)

    def _hook_selector(self) -> bool:
        selector = getattr(self.loop, "_selector", None)
        original = getattr(selector, "select", None)
        if selector is None or original is None or not hasattr(selector, "__dict__"):
            return False
        monitor = self
        perf = _perf
        late = self.late
        wake = _WATCHDOG.wake

        def select(timeout: float | None = None) -> Any:
            now = perf()
            start = monitor.stamp
            if now - start > monitor.late_gap:
                late.append((start, now))
                wake()  # a block just ended: report it without waiting for the next round
                if now - start >= monitor.threshold and monitor.in_context:
                    monitor.idle = True
                    try:
                        monitor.deliver_block_in_context()
                    except Exception:  # noqa: BLE001 - never break the user's loop
                        logger.exception("delivering a blocking report failed")
            monitor.idle = True
            try:
                return original(timeout)
            finally:
                monitor.stamp = perf()
                monitor.idle = False

        try:
            selector.select = select
        except (AttributeError, TypeError):
            return False
        self._selector, self._select = selector, select
        self.interval = 0.0
        return True

    def stop(self) -> None:
        self.active = False
        if self.tracking_gc:
            self.tracking_gc = False
            gc_watch.untrack()
        selector, self._selector = self._selector, None
        if selector is not None and vars(selector).get("select") is self._select:
            del selector.select
        handle, self.handle = self.handle, None
        if handle is None:
            return
        loop = self.loop
        try:
            if asyncio._get_running_loop() is loop or not loop.is_running():
                handle.cancel()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(handle.cancel)
        except RuntimeError:  # closed meanwhile: nothing left to cancel
            pass

    def _tick(self) -> None:
        now = _perf()
        stamp = self.stamp
        if now - stamp > self.late_gap:
            self.late.append((stamp, now))
            _WATCHDOG.wake()
            if now - stamp >= self.threshold and self.in_context:
                self.idle = True
                try:
                    self.deliver_block_in_context()
                except Exception:  # noqa: BLE001 - the heartbeat must go on
                    logger.exception("delivering a blocking report failed")
                finally:
                    self.idle = False
                now = _perf()
        if self._learn_root:
            try:
                self.root = sys._getframe(1).f_code
            except ValueError:
                pass
        self.thread_id = _get_ident()
        self.stamp = now
        if self.active:
            try:
                self.handle = self.loop.call_later(self.interval, self._tick)
            except RuntimeError:  # the loop is closing
                self.handle = None

    def _mark(self, *, record: bool) -> None:
        """A stamp made by the loop's own thread outside the loop (uninstall, flush)."""
        now = _perf()
        if record and now - self.stamp > self.late_gap:
            self.late.append((self.stamp, now))
        self.stamp = now

    def deliver_block_in_context(self) -> None:
        """On the loop thread, back from a block: wait for its report and deliver it here, in
        the warnings context of the code that blocked (the loop counts as idle meanwhile)."""
        done = threading.Event()
        self.waiting = True
        try:
            _WATCHDOG.request_flush(self, done)
            done.wait(IN_CONTEXT_WAIT)
        finally:
            self.waiting = False
        self.deliver_in_context()

    def deliver_in_context(self) -> None:
        for detector in list(self.detectors):
            detector.deliver_in_context()

    def hand_over(self, detectors: list[BlockingDetector], report: BlockingReport) -> None:
        """Deliver ``report`` (on the reporter thread); what is for the loop thread goes there."""
        wanted = False
        for detector in detectors:
            if report.duration >= detector.threshold:
                detector._deliver(report)
                wanted = wanted or detector.wants_context
        if not wanted or self.waiting:
            return  # the loop thread is waiting for it and delivers it itself
        try:
            if self.loop.is_running():
                self.loop.call_soon_threadsafe(self.deliver_in_context)
        except RuntimeError:  # closed meanwhile: flush() or uninstall() delivers it
            pass

    def flush(self, timeout: float) -> bool:
        if _WATCHDOG.is_current():
            return True  # called from a report callback: what is pending is being delivered now
        on_loop_thread = asyncio._get_running_loop() is self.loop
        if on_loop_thread:
            self._mark(record=True)  # we are running, so any block on this thread ended now
        done = threading.Event()
        self.flushing += 1
        try:
            _WATCHDOG.request_flush(self, done)
            answered = done.wait(timeout)
            if not answered:
                logger.warning("the blocking watchdog did not answer within %.1f s; reports may be late", timeout)
        finally:
            if on_loop_thread:
                self._mark(record=False)  # the wait itself is not a block
            self.flushing -= 1
        return answered

    # -- watchdog side --------------------------------------------------------------------

    def _thread_id(self) -> int | None:
        tid = getattr(self.loop, "_thread_id", None)  # asyncio knows it exactly while running
        return tid if isinstance(tid, int) else self.thread_id

    def check(self, now: float, lag: float) -> float:
        """Look at the loop once; return when to look again."""
        waiters = _WATCHDOG.take_waiters(self) if self.flush_waiters else []
        try:
            return self._check(now, lag, bool(waiters))
        finally:
            for event in waiters:
                _REPORTER.submit(event.set)  # after the reports queued so far

    def _check(self, now: float, lag: float, flush: bool) -> float:
        loop = self.loop
        try:
            closed = loop.is_closed()
            running = not closed and loop.is_running()
        except Exception:  # noqa: BLE001 - a broken loop is treated as gone
            closed, running = True, False
        tid = self._thread_id()
        block = self.block
        if block is not None:
            block.lag = max(block.lag, lag)
            # Read the flags before the records: the loop thread writes them the other way
            # round, so a loop seen back in select has its record in place.
            idle, stamp = self.idle, self.stamp
            ended = self._take_late(block.stamp, now, lag, tid)
            if ended is not None:
                self._finish(ended[1], now)
            elif closed or not running:
                self._finish((block.last_seen + now) / 2, now)
            elif stamp != block.stamp or idle:
                self._finish(stamp if stamp != block.stamp else now, now)
            elif flush:
                self._finish(now, now)
            else:
                self._sample(block, now)
                return now + self.sample_every
        while self.late:
            self._unsampled(self.late.popleft(), now, lag, tid)
        if closed or not running:
            self._collections_alone(now)
        self.cpu_seen = _thread_cpu(tid, now)
        if closed:
            self.closed = True
            return math.inf
        if not running:
            self.floor = now
            return now + self.sample_every
        if self.flushing or tid is None:
            return now + self.sample_every
        stamp = self.stamp
        due = max(stamp + self.interval, self.floor)
        if self.idle:
            return now + self.late_gap
        if now - due > self.late_gap:
            self.block = block = _Block(stamp, max(stamp + self.interval / 2, self.floor), tid)
            block.cpu = self.cpu_seen
            self._sample(block, now)
            return now + self.sample_every
        return due + self.late_gap + 0.0005

    def _take_late(self, stamp: float, now: float, lag: float, tid: int | None) -> tuple[float, float] | None:
        """The record that ends the open block (the first gap still going at its stamp)."""
        while self.late:
            record = self.late.popleft()
            if record[1] > stamp:
                return record
            self._unsampled(record, now, lag, tid)
        return None

    def _sample(self, block: _Block, now: float) -> None:
        tid = block.thread_id
        if tid is None:
            return
        sample, live = sampler.capture(tid)
        block.last_seen = now
        try:
            task = asyncio.current_task(self.loop)
        except Exception:  # noqa: BLE001
            task = None
        if task is not None and not sampler.task_owning(live, task):
            task = None
        if not block.samples:
            block.task = task
        # Two tasks blocking back to back run in one stretch without the loop: the task tells
        # their blocks apart.
        block.samples.append((now, sample, task))
        # Classification waits for the end of the block: work done here would compete with
        # a CPU-bound loop thread for the GIL and make the block itself longer.
        del live

    def _finish(self, end: float, now: float) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        gc_watch.claim(block.thread_id, block.start, end)
        if end - block.start < self.threshold:
            return
        cpu = wall = None
        after = _thread_cpu(block.thread_id, now)
        if block.cpu is not None and after is not None:
            cpu = after[1] - block.cpu[1]
            wall = now - block.cpu[0]
        # Classifying may import and parse: it runs on the reporter thread, so the watchdog
        # keeps its eyes on the loops meanwhile.
        root = self.root
        # The detectors watching now get the report, even if the loop closes meanwhile.
        detectors = list(self.detectors)
        _submit_reports(detectors, lambda: self._report_block(block, end, root, cpu, wall, detectors))

    def _report_block(
        self,
        block: _Block,
        end: float,
        root: CodeType | None,
        cpu: float | None,
        wall: float | None,
        detectors: list[BlockingDetector],
    ) -> None:
        for start, stop, samples, task in _segments(block, end, root):
            duration = stop - start
            if duration < self.threshold:
                continue
            analysis = sampler.analyze(samples, root)
            if analysis is None:
                # No sample showed a callback: the thread was in the loop's own machinery, or
                # in a collection that kept the watchdog from sampling it.
                collected = gc_watch.collections_during(block.thread_id, start, stop)
                if collected is not None and collected.held(self.threshold):
                    report = BlockingReport(
                        duration=duration,
                        advice=advice_for(UNKNOWN_ADVICE, False),
                        thread_name=_thread_name(block.thread_id),
                        thread_id=block.thread_id,
                        samples=0,
                        started=start,
                    )
                    blamed = _blame_collection(report, block.thread_id, start, stop, self.threshold)
                    if blamed is not None:
                        self.hand_over(detectors, blamed)
                continue
            if (
                analysis.verdict is None
                and cpu is not None
                and wall
                and cpu < 0.3 * wall
                and block.lag > 0.5 * duration
            ):
                # The whole process stood still (the watchdog was late too, and the loop
                # thread used no CPU): the machine was busy elsewhere, the code did not block.
                logger.debug("ignoring a %.3f s stall of the whole process", duration)
                continue
            if self._reported_strictly(analysis.site, block.thread_id, start, stop):
                continue
            # CPU was measured from the detection on: scale its share to the whole block.
            used = duration * min(1.0, cpu / wall) if cpu is not None and wall else None
            report = self._report(analysis, task, block.thread_id, start, duration, used)
            blamed = _blame_collection(report, block.thread_id, start, stop, self.threshold)
            if blamed is not None:
                self.hand_over(detectors, blamed)

    def _reported_strictly(self, site: sampler.FrameInfo | None, tid: int | None, start: float, stop: float) -> bool:
        """True when strict mode already reported this line's call during the block."""
        if site is None:
            return False
        filename, lineno = site[0].co_filename, site[1]
        return any(
            thread == tid and name == filename and line == lineno and start - 0.01 <= began <= stop
            for thread, began, name, line in list(self.strict_seen)
        )

    def _report(
        self, analysis: sampler.Analysis, task: Any, tid: int | None, start: float, duration: float, cpu: float | None
    ) -> BlockingReport:
        verdict = analysis.verdict
        step = analysis.step or _step_from_task_name(task)
        site = analysis.site
        return BlockingReport(
            duration=duration,
            filename=site[0].co_filename if site else None,
            lineno=site[1] if site else None,
            source_line=sampler.source_line(site),
            module=site[2] if site else None,
            code=verdict.code if verdict else None,
            advice=advice_for((verdict.advice or UNKNOWN_ADVICE) if verdict else UNKNOWN_ADVICE, step[1] is not None),
            call=verdict.call if verdict else None,
            rule_title=verdict.title if verdict else None,
            step=step[1],
            workflow=step[0],
            task=task.get_name() if task is not None else None,
            coroutine=_coroutine_name(task) or analysis.coroutine,
            stack=sampler.summaries(analysis.frames),
            thread_name=_thread_name(tid),
            thread_id=tid,
            cpu_time=cpu,
            samples=analysis.samples,
            started=start,
        )

    def _unsampled(self, record: tuple[float, float], now: float, lag: float, tid: int | None) -> None:
        """A gap the watchdog did not sample: report it only if the loop thread kept the GIL
        (the watchdog itself was held up, while the loop thread burnt CPU)."""
        before, after = record
        if before <= self.floor <= after:
            return  # the loop was seen stopped in between: not a block
        duration = after - before - self.interval / 2
        if duration < self.threshold:
            return
        start = before + self.interval / 2
        collected = gc_watch.collections_during(tid, start, after)
        gc_watch.claim(tid, start, after)
        seen, cpu_now = self.cpu_seen, _thread_cpu(tid, now)
        cpu = cpu_now[1] - seen[1] if seen is not None and cpu_now is not None else None
        if collected is None or not collected.held(self.threshold):
            # No collection explains it: a block only if the loop thread kept the GIL, i.e.
            # the watchdog was held up while that thread burnt CPU.
            if lag < 0.5 * duration:
                return
            if cpu is None or cpu < 0.5 * duration:
                return  # the thread was not even running: a stall of the process, not a block
        report = BlockingReport(
            duration=duration,
            advice=advice_for(UNKNOWN_ADVICE, False),
            thread_name=_thread_name(tid),
            thread_id=tid,
            cpu_time=min(cpu, duration) if cpu is not None else None,
            samples=0,
            started=start,
        )
        blamed = _blame_collection(report, tid, start, after, self.threshold)
        if blamed is not None:
            self._submit(blamed)

    def _collections_alone(self, now: float) -> None:
        """Collections that held the loop past the threshold with nothing else to show for it:
        the loop stopped right after, before any stamp or sample could (see gc_watch)."""
        for done in gc_watch.unclaimed(id(self.loop), self.watched_since, self.threshold):
            report = BlockingReport(
                duration=done.seconds,
                advice=advice_for(UNKNOWN_ADVICE, False),
                thread_name=_thread_name(done.thread_id),
                thread_id=done.thread_id,
                samples=0,
                started=done.start,
            )
            blamed = _blame_collection(report, done.thread_id, done.start, done.stop, self.threshold)
            if blamed is not None:
                self._submit(blamed)

    def _submit(self, report: BlockingReport) -> None:
        detectors = list(self.detectors)
        _submit_reports(detectors, lambda: self.hand_over(detectors, report))


def _submit_reports(detectors: list[BlockingDetector], job: Callable[[], None]) -> None:
    """Run ``job`` on the reporter thread; until it has run, ``detectors`` count it as a
    report in flight (see :meth:`BlockingDetector.wait_for_reports`)."""
    for detector in detectors:
        detector._expect()

    def run() -> None:
        try:
            job()
        finally:
            for detector in detectors:
                detector._settle()

    _REPORTER.submit(run)


def _blame_collection(
    report: BlockingReport, tid: int | None, start: float, stop: float, threshold: float
) -> BlockingReport | None:
    """A block spent mostly in garbage collection names the collection and the line that
    set it off, not a weakref callback or finalizer that the collection happened to run.

    None when the collection was long only because the machine kept the thread off the CPU
    meanwhile: a stall of the process, not something the code did."""
    if report.code is not None:
        return report
    found = gc_watch.collections_during(tid, start, stop)
    if found is None or found.seconds < 0.5 * (stop - start):
        return report
    if found.starved(threshold):
        logger.debug("ignoring a %.3f s garbage collection the machine kept off the CPU", found.seconds)
        return None
    seconds, generation, trigger = found.seconds, found.generation, found.trigger
    if trigger is not None:
        report.filename, report.lineno, report.module = trigger[0].co_filename, trigger[1], trigger[2]
        report.source_line = sampler.source_line(trigger)
        if report.coroutine is None and report.step is None:
            # Not sampled: the frame that ran the collection is all there is to name who.
            report.coroutine = sampler.outermost_coroutine((trigger,))
            report.workflow, report.step = sampler.find_step((trigger,)) or (None, None)
    report.call = f"garbage collection, generation {generation}, {format_duration(seconds)}"
    report.advice = GC_ADVICE
    return report


def _segments(block: _Block, end: float, root: CodeType | None) -> list[tuple[float, float, list[sampler.Sample], Any]]:
    """Split a block where the sampled callback changes (one task gave way to another without
    the loop getting back to its own work): (start, end, samples, task) per callback."""
    runs: list[tuple[Any, list[tuple[float, sampler.Sample]]]] = []
    for when, sample, task in block.samples:
        cut = sampler.cut_at_root(sample, root)
        key = (cut[-1][0], task) if cut else None
        if runs and runs[-1][0] == key:
            runs[-1][1].append((when, sample))
        else:
            runs.append((key, [(when, sample)]))
    busy = [run for run in runs if run[0] is not None]
    if len(busy) <= 1:
        return [(block.start, end, [s for _, s, _ in block.samples], block.task)]
    out = []
    for index, (key, items) in enumerate(runs):
        if key is None:
            continue
        start = block.start if index == 0 else (runs[index - 1][1][-1][0] + items[0][0]) / 2
        stop = end if index == len(runs) - 1 else (items[-1][0] + runs[index + 1][1][0][0]) / 2
        out.append((start, stop, [s for _, s in items], key[1]))
    return out


def _thread_cpu(tid: int | None, now: float) -> tuple[float, float] | None:
    """(now, CPU seconds used so far by thread ``tid``), where the platform can tell."""
    if tid is None or not hasattr(time, "pthread_getcpuclockid"):
        return None
    try:
        return now, time.clock_gettime(time.pthread_getcpuclockid(tid))
    except (OSError, OverflowError, ValueError):  # the thread is gone
        return None


def _nothing() -> None:
    pass


def _coroutine_name(task: Any) -> str | None:
    coro = task.get_coro() if task is not None else None
    return getattr(coro, "__qualname__", None)


def _thread_name(tid: int | None) -> str | None:
    if tid is None:
        return None
    thread = threading._active.get(tid)  # type: ignore[attr-defined]
    if thread is None:
        for candidate in threading.enumerate():
            if candidate.ident == tid:
                thread = candidate
                break
    return thread.name if thread is not None else None


class _Watchdog:
    """One daemon thread looking after every watched loop; it exits when none is left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._monitors: list[_Monitor] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, monitor: _Monitor) -> None:
        with self._lock:
            self._monitors.append(monitor)
        self._start_thread()
        self._wake.set()

    def remove(self, monitor: _Monitor) -> None:
        with self._lock:
            if monitor in self._monitors:
                self._monitors.remove(monitor)
            # Nobody looks at this monitor any more: answer its waiters once the reports
            # queued so far are out, or they would wait out their whole timeout.
            waiters, monitor.flush_waiters = monitor.flush_waiters, []
        for event in waiters:
            _REPORTER.submit(event.set)
        self._wake.set()

    def request_flush(self, monitor: _Monitor, done: threading.Event) -> None:
        """Set ``done`` once every block of ``monitor`` that ended so far is reported."""
        with self._lock:
            watched = monitor in self._monitors
            if watched:
                monitor.flush_waiters.append(done)
        if not watched:
            # Dropped already (its loop closed): only the reporter's queue is left to wait for.
            _REPORTER.submit(done.set)
            return
        self._start_thread()
        self._wake.set()

    def take_waiters(self, monitor: _Monitor) -> list[threading.Event]:
        with self._lock:
            waiters, monitor.flush_waiters = monitor.flush_waiters, []
        return waiters

    def after_fork_in_child(self) -> None:
        """The watchdog thread did not survive the fork: start afresh, for the loops left."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        for monitor in self._monitors:
            monitor.flush_waiters = []  # their waiters were threads of the parent

    def wake(self) -> None:
        self._wake.set()

    def is_current(self) -> bool:
        """True on the watchdog's or the reporter's thread (where waiting on them would hang)."""
        current = threading.current_thread()
        return current is self._thread or _REPORTER.is_current()

    def _run(self) -> None:
        try:
            self._watch()
        except BaseException:  # noqa: BLE001 - never leave a dead thread registered as the watchdog
            logger.exception("the blocking watchdog stopped")
            with self._lock:
                self._thread = None
                again = bool(self._monitors)
            if again:
                self._start_thread()

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wfasync-blocking-watchdog", daemon=True)
                self._thread.start()

    def _watch(self) -> None:
        # The catalog is light (no libcst): load it now rather than in the middle of a report.
        sampler.CLASSIFIER.warm_up(("catalog", "rules"))
        planned = math.inf
        idle_since: float | None = None
        while True:
            with self._lock:
                monitors = list(self._monitors)
                if not monitors and idle_since is not None and _perf() - idle_since >= LINGER:
                    self._thread = None
                    return
            if not monitors:
                # Wait a moment for the next loop rather than ending the thread at once.
                if idle_since is None:
                    idle_since = _perf()
                self._wake.wait(LINGER)
                self._wake.clear()
                planned = math.inf
                continue
            idle_since = None
            now = _perf()
            # How late this wake-up is: a watchdog held up as long as the loop was means the
            # whole process stood still (our own work in the last round does not count).
            lag = max(0.0, now - planned)
            wake_at = now + 0.5
            for monitor in monitors:
                try:
                    wake_at = min(wake_at, monitor.check(now, lag))
                except Exception:  # noqa: BLE001 - the watchdog must keep watching
                    logger.exception("blocking watchdog failed on %r", monitor.loop)
                    monitor.block = None
                if monitor.closed:
                    # Detach its detectors only after the reports already queued for it (the
                    # last block before the loop closed) have been delivered to them.
                    self.remove(monitor)
                    _REPORTER.submit(lambda closed=monitor: _forget_closed(closed))
            delay = wake_at - _perf()
            planned = wake_at if delay > 0 else math.inf
            if delay > 0 and self._wake.wait(delay):
                planned = math.inf  # woken on purpose, not by the clock
            self._wake.clear()


class _Reporter:
    """Turns finished blocks into reports and delivers them, in order, on its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Callable[[], None]] = deque()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wfasync-blocking-reporter", daemon=True)
                self._thread.start()
        self._ready.set()

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def after_fork_in_child(self) -> None:
        """The reporter thread did not survive the fork; the parent's pending jobs are its own."""
        self._lock = threading.Lock()
        self._queue = deque()
        self._ready = threading.Event()
        self._thread = None

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._ready.clear()
                    job = None
                else:
                    job = self._queue.popleft()
            if job is None:
                if not self._ready.wait(30.0):
                    with self._lock:
                        if not self._queue:
                            self._thread = None
                            return
                continue
            try:
                job()
            except Exception:  # noqa: BLE001 - one bad report must not stop the others
                logger.exception("building a blocking report failed")


_REPORTER = _Reporter()
_WATCHDOG = _Watchdog()

# -- registry: one monitor per loop, shared detectors for the engine -------------------------

_registry_lock = threading.RLock()
_monitors: dict[int, _Monitor] = {}
# id(loop) -> [detector, references, created by acquire()]
_shared: dict[int, list[Any]] = {}


def _attach(loop: asyncio.AbstractEventLoop, detector: BlockingDetector) -> None:
    with _registry_lock:
        monitor = _monitors.get(id(loop))
        fresh = monitor is None
        if monitor is None:
            monitor = _Monitor(loop)
        monitor.detectors.append(detector)
        monitor.configure()
        detector._monitor = monitor
        if fresh:
            try:
                monitor.start()
            except Exception:
                monitor.detectors.remove(detector)
                detector._monitor = None
                raise
            _monitors[id(loop)] = monitor
            _WATCHDOG.add(monitor)
        if detector.strict:
            strict.enable(loop, detector.threshold, detector._strict_sink)


def _detach(detector: BlockingDetector) -> None:
    with _registry_lock:
        monitor = detector._monitor
        if monitor is None:
            return
        detector._monitor = None
        if detector.strict:
            strict.disable(monitor.loop, detector._strict_sink)
        if detector in monitor.detectors:
            monitor.detectors.remove(detector)
        if monitor.detectors:
            monitor.configure()
            return
        monitor.stop()
        _WATCHDOG.remove(monitor)
        if _monitors.get(id(monitor.loop)) is monitor:
            del _monitors[id(monitor.loop)]


def _after_fork_in_child() -> None:
    # A forked child has only the thread that forked: without this, its loops would wait for
    # a watchdog and a reporter that are not there.
    global _registry_lock
    _registry_lock = threading.RLock()
    _REPORTER.after_fork_in_child()
    _WATCHDOG.after_fork_in_child()
    for monitor in _monitors.values():
        for detector in monitor.detectors:
            # The parent's reporter builds those reports, not this process.
            detector._lock = threading.Lock()
            detector._settled = threading.Condition(detector._lock)
            detector._in_flight = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _forget_closed(monitor: _Monitor) -> None:
    """The loop was closed without uninstalling: detach its detectors (strict wrappers too)."""
    for detector in list(monitor.detectors):
        _detach(detector)
        # Nobody will flush a closed loop's detector: this is the last chance for its warnings.
        detector.deliver_in_context(anywhere=True)
    with _registry_lock:
        _shared.pop(id(monitor.loop), None)


def acquire(loop: asyncio.AbstractEventLoop | None = None) -> BlockingDetector:
    """The detector watching ``loop`` (created on first use), counted per user.

    A detector already installed on the loop (a test plugin's, the application's own) is
    shared rather than doubled, so one block gives one report. The threshold of a detector
    created here comes from the ``WFASYNC_BLOCKING_THRESHOLD`` environment variable (seconds,
    default 0.1). Pair each call with :func:`release`.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    with _registry_lock:
        entry = _shared.get(id(loop))
        if entry is not None and entry[0]._monitor is not None and entry[0].loop is loop:
            entry[1] += 1
            return entry[0]
        monitor = _monitors.get(id(loop))
        if monitor is not None and monitor.detectors:
            detector = monitor.detectors[0]
            _shared[id(loop)] = [detector, 1, False]
            return detector
        detector = BlockingDetector(threshold_from_env()).install(loop)
        _shared[id(loop)] = [detector, 1, True]
        return detector


def release(loop: asyncio.AbstractEventLoop) -> None:
    """Give back one :func:`acquire`; the last one uninstalls a detector acquire() created."""
    with _registry_lock:
        entry = _shared.get(id(loop))
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _shared[id(loop)]
        detector, owned = entry[0], entry[2]
    if owned:
        detector.uninstall()
