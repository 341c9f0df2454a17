"""Recording what a run did, for its timeline: one span per step execution.

A run records when asked (``Workflow(trace=True)``), when the blocking detector is on, or
while something observes every run (the pytest plugin's ``--wfasync-timeline``). A run
that records nothing pays two ``is None`` tests per step execution. The blocked spans come
from the run's detector, whose reports carry the same clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.detect.detector import BlockingDetector
    from runtime.timeline.model import StepSpan, Timeline

# The detector stamps blocks with the same clock, so blocked spans and step spans line up.
clock = time.perf_counter
_clock = clock

# A run that goes on for hours keeps its first spans only (and counts the others).
MAX_SPANS = 100_000

# Callbacks given every run's Trace when the run ends (see observe()).
_observers: list[Callable[[Trace], None]] = []
_observers_lock = threading.Lock()


def observe(callback: Callable[[Trace], None]) -> None:
    """Record every run from now on and hand its Trace to ``callback`` when the run ends
    (on the loop's thread). Undo with :func:`unobserve`."""
    with _observers_lock:
        _observers.append(callback)


def unobserve(callback: Callable[[Trace], None]) -> None:
    with _observers_lock:
        if callback in _observers:
            _observers.remove(callback)


def observed() -> bool:
    return bool(_observers)


class Trace:
    """The step spans of one run, in perf_counter seconds (the detector's clock too)."""

    __slots__ = ("workflow", "run_id", "origin", "end", "spans", "dropped", "loop_thread", "detector")

    def __init__(self, workflow: str, run_id: str) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.origin = _clock()
        self.end: float | None = None
        # (step, slot, mode, where, start, end, event type, result type, error text) per
        # execution; names are looked up when the timeline is asked for, not while running.
        self.spans: list[tuple[Any, ...]] = []
        self.dropped = 0
        # Runs start on their loop's thread, where async steps run (named when asked for).
        self.loop_thread = threading.get_ident()
        # The run's blocking detector (detect_blocking), the source of its blocked spans.
        self.detector: BlockingDetector | None = None

    def finish(self) -> None:
        """The run ended: stamp the end and hand the trace to the observers."""
        self.end = _clock()
        if _observers:
            with _observers_lock:
                callbacks = list(_observers)
            for callback in callbacks:
                callback(self)

    def step_spans(self, origin: float) -> list[StepSpan]:
        """The spans recorded so far, with times relative to ``origin``."""
        from runtime.timeline.model import StepSpan

        names = {thread.ident: thread.name for thread in threading.enumerate()}
        return [
            StepSpan(
                workflow=self.workflow, run_id=self.run_id, step=step, worker=slot, mode=mode,
                where=where if isinstance(where, str) else names.get(where, f"thread {where}"),
                start=start - origin, end=end - origin, event_in=event_in.__name__,
                event_out=None if event_out is None else event_out.__name__,
                outcome=_outcome(error), error=None if error is _CANCELLED else error,
            )
            for step, slot, mode, where, start, end, event_in, event_out, error in list(self.spans)
        ]

    def timeline(self) -> Timeline:
        """The run so far: its step spans and the blocks its detector reported."""
        from runtime.timeline.build import assemble

        end = self.end if self.end is not None else _clock()
        detector = self.detector
        reports = []
        if detector is not None:
            # A block that just ended is reported a moment later, also after the run let go
            # of its detector: wait for what is on its way (no warning is issued here).
            detector.wait_for_reports()
            reports = list(detector.reports)
        # The wall-clock time of the origin, from the clocks' difference now.
        started_at = time.time() - (_clock() - self.origin)
        timeline = assemble(
            f"{self.workflow} run {self.run_id}", self.origin, started_at, end,
            self.step_spans(self.origin), reports, detector.threshold if detector is not None else None,
        )
        timeline.dropped = self.dropped
        return timeline


# What a step execution ends with when the run cancelled it before it returned.
UNFINISHED: Any = object()
_CANCELLED = "cancelled"


def _outcome(error: str | None) -> str:
    if error is None or error.startswith("recovered from "):
        return "ok"
    return "cancelled" if error is _CANCELLED else "error"


class WorkerTrace:
    """One worker task of a step: its slot among the step's workers (the page's lane), where
    the step ran, and a record per execution."""

    __slots__ = ("trace", "step", "slot", "mode", "where", "error")

    def __init__(self, trace: Trace, step: str, mode: str, slot: int) -> None:
        self.trace = trace
        self.step = step
        self.mode = mode
        self.slot = slot
        self.where: str | int = "process" if mode == "process" else trace.loop_thread
        # The error the current execution raised, if any (its retry policy may still save it).
        self.error: BaseException | None = None

    def wrap(self, invoke: Callable[..., Any]) -> Callable[..., Any]:
        """``invoke`` for a thread step, noting which pool thread ran it."""

        def call(ev: Any, **values: Any) -> Any:
            self.where = threading.current_thread().name
            return invoke(ev, **values)

        return call

    def record(self, ev: Any, began: float, result: Any, gave_up: bool) -> None:
        """One execution ended: ``result`` is what it returned (after retries), UNFINISHED if it
        was cancelled, and ``gave_up`` says it failed for good."""
        spans = self.trace.spans
        if len(spans) >= MAX_SPANS:
            self.trace.dropped += 1
            self.error = None
            return
        if result is UNFINISHED:
            result, error = None, _CANCELLED
        elif gave_up:
            result, error = None, _describe(self.error)
        elif self.error is not None:
            error = f"recovered from {_describe(self.error)}"
        else:
            error = None
        self.error = None
        spans.append((
            self.step, self.slot, self.mode, self.where, began, _clock(), type(ev),
            None if result is None else type(result), error,
        ))


def _describe(error: BaseException | None) -> str:
    return "an error" if error is None else f"{type(error).__name__}: {error}"
