"""What a run records for its timeline: spans that nest and order like the run did.

Real runs on real event loops; the checks are about order and nesting (which span lies
inside which, which comes after which), never about how fast the machine is.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime import (
    BlockingDetector,
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowHandler,
    WorkflowRuntimeError,
    step,
)
from runtime.timeline import StepSpan, Timeline, TimelineError


class First(Event):
    pass


class Second(Event):
    pass


class Work(Event):
    i: int


class Done(Event):
    i: int


class Loaded(Event):
    pass


FAN_OUT = 9
# The run's own detector also warns about the block: expected here.
QUIET = "ignore::runtime.BlockingCallWarning"


class Sequential(Workflow):
    @step
    async def first(self, ev: StartEvent) -> First:
        await asyncio.sleep(0.01)
        return First()

    @step
    async def second(self, ev: First) -> Second:
        await asyncio.sleep(0.01)
        return Second()

    @step
    async def third(self, ev: Second) -> StopEvent:
        return StopEvent(result="done")


class FanOut(Workflow):
    @step
    async def spread(self, ctx: Context, ev: StartEvent) -> Work | None:
        for i in range(FAN_OUT):
            ctx.send_event(Work(i=i))
        return None

    @step(num_workers=3)
    async def work(self, ev: Work) -> Done:
        await asyncio.sleep(0.02)
        return Done(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        batch = ctx.collect_events(ev, [Done] * FAN_OUT)
        if batch is None:
            return None
        return StopEvent(result=len(batch))


class Mixed(Workflow):
    """A def step sleeping in a thread (harmless) and an async step sleeping on the loop."""

    @step
    def read(self, ev: StartEvent) -> Loaded:
        time.sleep(0.15)
        return Loaded()

    @step
    async def stall(self, ev: Loaded) -> StopEvent:
        time.sleep(0.25)  # the block
        return StopEvent(result="late")


STALL_LINE = next(
    number for number, text in enumerate(open(__file__, encoding="utf-8"), start=1) if text.rstrip().endswith("# the block")
)


class Failing(Workflow):
    @step
    async def boom(self, ev: StartEvent) -> StopEvent:
        raise ValueError("boom")


def run(flow: Workflow, **kwargs: object) -> tuple[object, Timeline]:
    async def main() -> tuple[object, Timeline]:
        handler = flow.run(**kwargs)
        result = await handler
        return result, handler.timeline()

    return asyncio.run(main())


def spans_of(timeline: Timeline, name: str) -> list[StepSpan]:
    return [span for span in timeline.steps if span.step == name]


def assert_inside_run(timeline: Timeline) -> None:
    for span in timeline.steps:
        assert 0 <= span.start <= span.end <= timeline.duration, span


def test_sequential_steps_follow_one_another_with_their_events() -> None:
    result, timeline = run(Sequential(trace=True))
    assert result == "done"
    assert [span.step for span in timeline.steps] == ["first", "second", "third"]
    assert [(span.event_in, span.event_out) for span in timeline.steps] == [
        ("StartEvent", "First"), ("First", "Second"), ("Second", "StopEvent"),
    ]
    for before, after in zip(timeline.steps, timeline.steps[1:]):
        assert before.end <= after.start
    assert all(span.worker == 0 and span.mode == "async" and span.outcome == "ok" for span in timeline.steps)
    assert {span.where for span in timeline.steps} == {threading.current_thread().name}
    assert timeline.steps[0].end - timeline.steps[0].start >= 0.01  # it awaited its sleep inside the span
    (run_id,) = {span.run_id for span in timeline.steps}
    assert timeline.title == f"Sequential run {run_id}"
    assert_inside_run(timeline)


def test_fan_out_spreads_over_the_workers_and_gathers_after_them() -> None:
    result, timeline = run(FanOut(trace=True))
    assert result == FAN_OUT
    (spread,) = spans_of(timeline, "spread")
    work = spans_of(timeline, "work")
    gather = spans_of(timeline, "gather")
    assert spread.event_out is None  # it sent its events instead of returning one
    assert len(work) == len(gather) == FAN_OUT
    assert {span.worker for span in work} == {0, 1, 2}
    # One worker runs one event at a time: its spans never overlap.
    for worker in range(3):
        mine = sorted((s for s in work if s.worker == worker), key=lambda s: s.start)
        for before, after in zip(mine, mine[1:]):
            assert before.end <= after.start
    # Three workers ran side by side: at the busiest moment three work spans were open.
    edges = sorted([(s.start, 1) for s in work] + [(s.end, -1) for s in work], key=lambda e: (e[0], e[1]))
    open_now = busiest = 0
    for _, change in edges:
        open_now += change
        busiest = max(busiest, open_now)
    assert busiest == 3
    assert all(span.start >= spread.start for span in work)
    assert min(span.start for span in gather) >= min(span.end for span in work)
    last = max(gather, key=lambda span: span.end)
    assert last.event_out == "StopEvent"
    assert last.end >= max(span.end for span in work)
    assert [span.event_out for span in gather].count("StopEvent") == 1
    assert_inside_run(timeline)


@pytest.mark.wfasync_allow_blocking(reason="the block is what the timeline must show")
@pytest.mark.filterwarnings(QUIET)
def test_def_steps_run_in_threads_and_only_the_loop_block_is_red() -> None:
    result, timeline = run(Mixed(detect_blocking=True))
    assert result == "late"
    (read,) = spans_of(timeline, "read")
    (stall,) = spans_of(timeline, "stall")
    assert read.mode == "thread" and read.where != threading.current_thread().name
    assert stall.mode == "async" and stall.where == threading.current_thread().name
    assert read.end <= stall.start
    assert timeline.detector and timeline.threshold == pytest.approx(0.1)
    # The def step slept in a thread: the loop was free. Only the async step's sleep blocked it.
    (block,) = timeline.blocks
    assert (block.code, block.step, block.workflow, block.lineno) == ("WFA103", "stall", "Mixed", STALL_LINE)
    assert block.advice and block.filename == __file__
    assert block.stack[-1].name == "stall" and block.stack[-1].lineno == STALL_LINE
    # The block lies inside the step that caused it (the detector knows the start within
    # one heartbeat; the loop's iteration hook makes it exact on asyncio).
    slack = 0.02
    assert stall.start - slack <= block.start < block.end <= stall.end + slack
    assert block.duration >= 0.2
    assert_inside_run(timeline)


@pytest.mark.wfasync_allow_blocking(reason="the block is what the timeline must show")
def test_a_detector_already_on_the_loop_supplies_the_blocked_spans() -> None:
    async def main() -> Timeline:
        with BlockingDetector(threshold=0.05, warn=False, log=False):
            handler = Mixed(detect_blocking=True).run()
            await handler
        return handler.timeline()

    timeline = asyncio.run(main())
    assert timeline.detector and timeline.threshold == pytest.approx(0.05)
    assert [(b.code, b.step) for b in timeline.blocks] == [("WFA103", "stall")]


def test_a_step_that_raises_ends_its_span_as_an_error() -> None:
    async def main() -> Timeline:
        handler = Failing(trace=True).run()
        with pytest.raises(ValueError, match="boom"):
            await handler
        return handler.timeline()

    timeline = asyncio.run(main())
    (span,) = timeline.steps
    assert (span.step, span.outcome, span.error, span.event_out) == ("boom", "error", "ValueError: boom", None)


def test_a_step_saved_by_its_retry_policy_is_one_span_that_says_so() -> None:
    from runtime import retry_policy, stop_after_attempt, wait_fixed

    attempts = []

    class Flaky(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
        async def fetch(self, ev: StartEvent) -> StopEvent:
            attempts.append(1)
            if len(attempts) < 2:
                raise ConnectionError("reset")
            return StopEvent(result="ok")

    result, timeline = run(Flaky(trace=True))
    assert result == "ok" and len(attempts) == 2
    (span,) = timeline.steps
    assert (span.outcome, span.error, span.event_out) == ("ok", "recovered from ConnectionError: reset", "StopEvent")
    assert span.end - span.start >= 0.01  # the retry's delay lies inside the span


def test_thread_steps_on_a_pool_name_the_pool_thread() -> None:
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tl-pool")

    class Pooled(Workflow):
        @step(executor=pool, num_workers=2)
        def crunch(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=threading.current_thread().name)

    try:
        result, timeline = run(Pooled(trace=True))
    finally:
        pool.shutdown()
    (span,) = timeline.steps
    assert span.mode == "thread" and span.where == result and result.startswith("tl-pool")


@pytest.mark.wfasync_allow_blocking(reason="the block is what the timeline must show")
def test_trace_alone_draws_steps_and_says_no_detector_watched() -> None:
    result, timeline = run(Mixed(trace=True))
    assert result == "late" and [span.step for span in timeline.steps] == ["read", "stall"]
    assert timeline.blocks == [] and not timeline.detector and timeline.threshold is None


def test_a_long_run_keeps_its_first_spans_and_counts_the_rest(monkeypatch) -> None:
    from runtime.engine import trace
    from runtime.timeline import render

    monkeypatch.setattr(trace, "MAX_SPANS", 4)
    _, timeline = run(FanOut(trace=True))
    assert len(timeline.steps) == 4 and timeline.steps[0].step == "spread"
    assert timeline.dropped == 1 + 2 * FAN_OUT - 4
    assert f"{timeline.dropped} more not recorded" in render(timeline)


def test_untraced_runs_say_how_to_get_a_timeline() -> None:
    async def main() -> None:
        handler = Sequential().run()
        await handler
        with pytest.raises(WorkflowRuntimeError, match=r"trace=True"):
            handler.timeline()

    asyncio.run(main())


@pytest.mark.wfasync_allow_blocking(reason="the block is what the timeline must show")
@pytest.mark.filterwarnings(QUIET)
def test_saved_json_reads_back_equal_and_html_is_one_page(tmp_path) -> None:
    async def main() -> WorkflowHandler:
        handler = Mixed(detect_blocking=True).run()
        await handler
        return handler

    handler = asyncio.run(main())
    timeline = handler.timeline()
    json_path, html_path = handler.save_timeline(tmp_path / "run.json"), handler.save_timeline(tmp_path / "run.html")
    assert Timeline.load_json(json_path) == timeline
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "WFA103" in page
    # Self-contained: nothing is fetched from anywhere.
    assert "src=" not in page and "href=" not in page and "@import" not in page and "url(" not in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.html", "run.json"]  # no temporary left


def test_saving_with_another_suffix_is_refused_and_writes_nothing(tmp_path) -> None:
    async def main() -> WorkflowHandler:
        handler = Sequential(trace=True).run()
        await handler
        return handler

    handler = asyncio.run(main())
    with pytest.raises(TimelineError, match=r"\.html .*or \.json"):
        handler.save_timeline(tmp_path / "run.txt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"not JSON: .* line 1"),
        ("[]", r"expected a JSON object"),
        ('{"title": "t", "started_at": "", "duration": "soon"}', r"duration: .*number"),
        ('{"title": "t", "started_at": "", "duration": 1, "steps": [{"step": "x"}]}', r"steps\.0\.workflow: Field required \(and \d+ more\)"),
        ('{"title": "t", "started_at": "", "duration": 1, "version": 9}', r"format version 9"),
    ],
)
def test_bad_json_is_refused_with_the_field_that_is_wrong(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "run.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TimelineError, match=message) as info:
        Timeline.load_json(path)
    assert "\n" not in str(info.value)


def test_timeline_data_is_plain_json() -> None:
    _, timeline = run(Sequential(trace=True))
    data = json.loads(json.dumps(timeline.to_dict()))
    assert Timeline.from_dict(data) == timeline
