"""Runs on a real event loop: routing, context, collect_events, workers, streaming, errors, cancel."""

from __future__ import annotations

import asyncio
import traceback
from typing import Optional

import pytest

from runtime import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    step,
)
from runtime.detect.step_codes import step_for_code


class Left(Event):
    value: int


class Right(Event):
    value: int


class Progress(Event):
    n: int


class Job(Event):
    i: int


class JobDone(Event):
    i: int


class Linear(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Left:
        return Left(value=ev.n + 1)

    @step
    async def second(self, ev: Left) -> Right:
        return Right(value=ev.value * 10)

    @step
    async def third(self, ev: Right) -> StopEvent:
        return StopEvent(result=ev.value)


@pytest.mark.asyncio
async def test_linear_run_passes_kwargs_into_the_start_event():
    assert await Linear().run(n=1) == 20


@pytest.mark.asyncio
async def test_concurrent_runs_of_one_workflow_are_isolated():
    wf = Linear()
    results = await asyncio.gather(*(wf.run(n=i) for i in range(20)))
    assert results == [(i + 1) * 10 for i in range(20)]


class Branch(Workflow):
    @step
    async def split(self, ev: StartEvent) -> Left | Right | None:
        if ev.side == "left":
            return Left(value=1)
        if ev.side == "right":
            return Right(value=2)
        return None

    @step
    async def join(self, ev: Left | Right) -> StopEvent:
        return StopEvent(result=(type(ev).__name__, ev.value))


@pytest.mark.asyncio
async def test_union_parameter_and_union_return_route_each_type():
    assert await Branch().run(side="left") == ("Left", 1)
    assert await Branch().run(side="right") == ("Right", 2)


class OptionalReturn(Workflow):
    @step
    async def s(self, ev: StartEvent) -> Optional[StopEvent]:  # noqa: UP045 - typing.Optional on purpose
        return StopEvent(result="optional")


@pytest.mark.asyncio
async def test_typing_optional_return():
    assert await OptionalReturn().run() == "optional"


class Topic(StartEvent):
    topic: str
    depth: int = 1


class Report(StopEvent):
    text: str


class Custom(Workflow):
    @step
    async def write(self, ev: Topic) -> Report:
        return Report(text=f"{ev.topic}x{ev.depth}")


@pytest.mark.asyncio
async def test_custom_start_and_stop_events():
    wf = Custom()
    assert wf.start_event_class is Topic and wf.stop_event_class is Report
    report = await wf.run(topic="pirates")
    assert isinstance(report, Report) and report.text == "piratesx1"
    report = await wf.run(start_event=Topic(topic="sea", depth=2))
    assert report.text == "seax2"


@pytest.mark.asyncio
async def test_custom_start_event_missing_field_is_a_runtime_error():
    with pytest.raises(WorkflowRuntimeError, match=r"cannot build the start event Topic .*topic: Field required"):
        Custom().run(depth=3)


@pytest.mark.asyncio
async def test_a_start_event_of_another_type_is_refused():
    with pytest.raises(WorkflowRuntimeError, match="no step of Custom accepts StartEvent; its runs start with Topic"):
        Custom().run(start_event=StartEvent(topic="a"))


@pytest.mark.asyncio
async def test_start_event_and_kwargs_together_are_refused():
    with pytest.raises(WorkflowRuntimeError, match="either start_event or keyword arguments"):
        Custom().run(start_event=Topic(topic="a"), depth=2)


class Stateful(Workflow):
    @step
    async def put(self, ctx: Context, ev: StartEvent) -> Left:
        await ctx.store.set("user.name", ev.name)
        count = await ctx.store.get("count", default=0)
        await ctx.store.set("count", count + 1)
        return Left(value=0)

    @step
    async def read(self, ev: Left, ctx: Context) -> StopEvent:  # context after the event
        async with ctx.store.edit_state() as state:
            state["edited"] = True
        return StopEvent(result=(await ctx.store.get("user.name"), await ctx.store.get("count"), await ctx.store.get("edited")))


@pytest.mark.asyncio
async def test_store_dotted_paths_and_a_context_reused_across_runs():
    wf = Stateful()
    ctx = Context(wf)
    assert await wf.run(ctx=ctx, name="ada") == ("ada", 1, True)
    assert await wf.run(ctx=ctx, name="bob") == ("bob", 2, True)
    with pytest.raises(ValueError, match="path 'nope' not found"):
        await ctx.store.get("nope")
    assert await ctx.store.get("nope", default=None) is None


class Counter:
    def __init__(self) -> None:
        self.count = 0


class Typed(Workflow):
    @step
    async def bump(self, ctx: Context[Counter], ev: StartEvent) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.count += 5
        return StopEvent(result=await ctx.store.get("count"))


@pytest.mark.asyncio
async def test_typed_state_from_the_context_annotation():
    assert await Typed().run() == 5


class FanOut(Workflow):
    @step
    async def spread(self, ctx: Context, ev: StartEvent) -> Job | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Job(i=i))
        return None

    @step(num_workers=8)
    async def work(self, ev: Job) -> JobDone:
        await asyncio.sleep(0.001 * (ev.i % 3))
        return JobDone(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: JobDone) -> StopEvent | None:
        n = await ctx.store.get("n")
        done = ctx.collect_events(ev, [JobDone] * n)
        if done is None:
            return None
        return StopEvent(result=sorted(e.i for e in done))


@pytest.mark.asyncio
async def test_fan_out_with_send_event_and_collect_events():
    assert await FanOut().run(n=200) == list(range(200))


class Pair(Workflow):
    @step
    async def spread(self, ctx: Context, ev: StartEvent) -> Left | Right:
        ctx.send_event(Right(value=2))
        ctx.send_event(Right(value=3))  # surplus: dropped by collect_events
        return Left(value=1)

    @step
    async def join(self, ctx: Context, ev: Left | Right) -> StopEvent | None:
        both = ctx.collect_events(ev, [Left, Right])
        if both is None:
            return None
        return StopEvent(result=[(type(e).__name__, e.value) for e in both])


@pytest.mark.asyncio
async def test_collect_events_orders_the_batch_as_expected():
    assert await Pair().run() == [("Left", 1), ("Right", 2)]


class Concurrency(Workflow):
    def __init__(self, workers: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.active = 0
        self.peak = 0

    @step
    async def spread(self, ctx: Context, ev: StartEvent) -> Job:
        for i in range(1, 12):
            ctx.send_event(Job(i=i))
        return Job(i=0)

    @step(num_workers=3)
    async def work(self, ev: Job) -> JobDone:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.01)
        self.active -= 1
        return JobDone(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: JobDone) -> StopEvent | None:
        if ctx.collect_events(ev, [JobDone] * 12) is None:
            return None
        return StopEvent(result="ok")


@pytest.mark.asyncio
async def test_num_workers_bounds_concurrency_of_a_step():
    wf = Concurrency(workers=3)
    assert await wf.run() == "ok"
    assert wf.peak == 3


class Streaming(Workflow):
    @step
    async def talk(self, ctx: Context, ev: StartEvent) -> StopEvent:
        for n in range(3):
            ctx.write_event_to_stream(Progress(n=n))
            await asyncio.sleep(0)
        return StopEvent(result="spoken")


@pytest.mark.asyncio
async def test_stream_events_yields_published_events_then_the_stop_event():
    handler = Streaming().run()
    seen = [ev async for ev in handler.stream_events()]
    assert [type(e).__name__ for e in seen] == ["Progress", "Progress", "Progress", "StopEvent"]
    assert [e.n for e in seen[:3]] == [0, 1, 2]
    assert await handler == "spoken"
    with pytest.raises(WorkflowRuntimeError, match="already consumed"):
        async for _ in handler.stream_events():
            pass


class Boom(Exception):
    pass


class Failing(Workflow):
    @step
    async def explode(self, ev: StartEvent) -> StopEvent:
        raise Boom("in the step")


@pytest.mark.asyncio
async def test_a_step_exception_reaches_the_caller_with_its_traceback():
    with pytest.raises(Boom, match="in the step") as info:
        await Failing().run()
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "explode" in frames
    if hasattr(info.value, "add_note"):  # (exception notes are new in Python 3.11)
        assert "(raised in step 'explode' of Failing)" in info.value.__notes__


@pytest.mark.asyncio
async def test_a_failing_run_ends_its_stream_on_a_failed_event_then_raises():
    handler = Failing().run()
    seen = [ev async for ev in handler.stream_events()]
    assert [type(ev).__name__ for ev in seen] == ["WorkflowFailedEvent"]
    assert (seen[0].step_name, type(seen[0].exception), seen[0].attempts) == ("explode", Boom, 1)
    with pytest.raises(Boom):
        await handler
    assert handler.get_stop_event() is None


class ReturnsJunk(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return {"not": "an event"}  # type: ignore[return-value]


@pytest.mark.asyncio
async def test_a_step_returning_a_non_event_is_a_runtime_error():
    with pytest.raises(WorkflowRuntimeError, match=r"step 's' of ReturnsJunk returned dict \(\{'not': 'an event'\}\) instead of an Event"):
        await ReturnsJunk().run()


class Unaccepted(Event):
    pass


class SendsWrong(Workflow):
    @step
    async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ctx.send_event(Unaccepted())
        return StopEvent()


class SendsToWrongStep(Workflow):
    @step
    async def s(self, ctx: Context, ev: StartEvent) -> Left:
        ctx.send_event(Right(value=1), step="t")
        return Left(value=1)

    @step
    async def t(self, ev: Left) -> StopEvent:
        return StopEvent()


class ReturnsUndeclared(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return Unaccepted()  # type: ignore[return-value]


@pytest.mark.asyncio
async def test_sending_an_event_no_step_accepts_is_a_clear_error():
    with pytest.raises(WorkflowRuntimeError, match="step 's' of SendsWrong sent Unaccepted, but no step of SendsWrong accepts Unaccepted"):
        await SendsWrong().run()


@pytest.mark.asyncio
async def test_sending_to_a_step_that_does_not_accept_the_event():
    with pytest.raises(WorkflowRuntimeError, match="sent Right to step 't', which accepts Left, not Right"):
        await SendsToWrongStep().run()


@pytest.mark.asyncio
async def test_returning_an_event_no_step_accepts():
    with pytest.raises(WorkflowRuntimeError, match="step 's' of ReturnsUndeclared returned Unaccepted, but no step"):
        await ReturnsUndeclared().run()


class Slow(Workflow):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.started = asyncio.Event()
        self.cleaned_up = asyncio.Event()

    @step
    async def wait(self, ev: StartEvent) -> StopEvent:
        self.started.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            self.cleaned_up.set()
        return StopEvent()


@pytest.mark.asyncio
async def test_handler_cancel_stops_the_running_steps():
    wf = Slow()
    handler = wf.run()
    await wf.started.wait()
    assert await handler.ctx.running_steps() == ["wait"]
    handler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handler
    await asyncio.wait_for(wf.cleaned_up.wait(), 10)


@pytest.mark.asyncio
async def test_cancel_run_ends_with_workflow_cancelled_by_user():
    wf = Slow()
    handler = wf.run()
    await wf.started.wait()
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    await asyncio.wait_for(wf.cleaned_up.wait(), 10)


@pytest.mark.asyncio
async def test_cancelling_the_awaiting_task_cancels_the_run():
    wf = Slow()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(wf.run(), 0.05)
    await asyncio.wait_for(wf.cleaned_up.wait(), 10)


class Named(Workflow):
    @step
    async def who(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=asyncio.current_task().get_name())  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_step_tasks_are_named_for_the_detector():
    assert await Named().run() == "wfasync:Named.who"
    assert step_for_code(Named.who.__code__) == ("Named", "who")
    assert step_for_code(test_step_tasks_are_named_for_the_detector.__code__) is None


class Host(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Left:
        return Left(value=4)


@step(workflow=Host)
async def finish(ev: Left) -> StopEvent:
    return StopEvent(result=ev.value)


@pytest.mark.asyncio
async def test_free_function_step():
    assert await Host().run() == 4
    assert step_for_code(finish.__code__) == ("Host", "finish")


@pytest.mark.asyncio
async def test_verbose_prints_each_step(capsys):
    await Linear(verbose=True).run(n=0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["[tick] add: StartEvent(n=0)", "[first:0] started from StartEvent", "[first:0] complete with Left"]
    assert lines[-2:] == ["[result] StopEvent(result=10)", "[third:0] complete with StopEvent"]


@pytest.mark.asyncio
async def test_a_context_cannot_serve_two_runs_at_once():
    wf = Slow()
    ctx = Context(wf)
    handler = wf.run(ctx=ctx)
    with pytest.raises(WorkflowRuntimeError, match="in use by a run"):
        wf.run(ctx=ctx)
    handler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handler


class External(Workflow):
    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Left:
        ctx.write_event_to_stream(Progress(n=0))
        return Left(value=0)

    @step
    async def wait_here(self, ctx: Context, ev: Left) -> StopEvent:
        # Progress(n=1) reaches the stream once the waiter is in place.
        reply = await ctx.wait_for_event(Right, waiter_event=Progress(n=1), requirements={"value": 7}, timeout=30)
        return StopEvent(result=reply.value)


@pytest.mark.asyncio
async def test_wait_for_event_takes_a_matching_event_sent_from_outside():
    handler = External(disable_validation=True).run()
    async for ev in handler.stream_events():
        if isinstance(ev, Progress) and ev.n == 1:
            handler.ctx.send_event(Right(value=3))  # does not meet the requirements: no step takes it
            break
    assert not handler.done()
    handler.ctx.send_event(Right(value=7))
    assert await handler == 7  # not 3: the first reply was passed over


class OldStyleContext(Workflow):
    @step
    async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.set("seen", ev.x)
        return StopEvent(result=(await ctx.get("seen"), await ctx.get("other", default="d")))


@pytest.mark.asyncio
async def test_the_older_ctx_get_and_set_spelling():
    assert await OldStyleContext().run(x=3) == (3, "d")


class ForgetsSuper(Workflow):
    def __init__(self, label: str) -> None:  # no super().__init__(): defaults still apply
        self.label = label

    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=self.label)


@pytest.mark.asyncio
async def test_a_subclass_that_skips_super_init_still_runs():
    assert await ForgetsSuper("x").run() == "x"


@pytest.mark.asyncio
async def test_an_external_send_nobody_accepts_raises_in_the_caller_and_the_run_goes_on():
    wf = Slow()
    handler = wf.run()
    await wf.started.wait()
    with pytest.raises(WorkflowRuntimeError, match="send_event\\(\\) sent Unaccepted, but no step of Slow accepts Unaccepted"):
        handler.ctx.send_event(Unaccepted())
    with pytest.raises(WorkflowRuntimeError, match="Slow has no such step"):
        handler.ctx.send_event(StartEvent(), step="nowhere")
    with pytest.raises(WorkflowRuntimeError, match="send_event\\(\\) takes an Event, got str"):
        handler.ctx.send_event("hello")  # type: ignore[arg-type]
    assert not handler.done()
    handler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handler


class CancelsItself(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        raise asyncio.CancelledError


@pytest.mark.asyncio
async def test_a_step_letting_a_cancelled_error_out_ends_the_run_cancelled():
    handler = CancelsItself().run()
    with pytest.raises(asyncio.CancelledError):
        await handler
    assert handler.cancelled()


def test_a_loop_shutting_down_under_a_run_leaves_no_unretrieved_error(caplog):
    import gc

    wf = Slow()

    async def main():
        wf.run()  # never awaited: asyncio.run cancels its worker when main returns
        await wf.started.wait()

    asyncio.run(main())
    gc.collect()
    assert wf.cleaned_up.is_set()
    assert "never retrieved" not in caplog.text


class Outer(Workflow):
    @step
    async def delegate(self, ev: StartEvent) -> StopEvent:
        inner = await Linear().run(n=ev.n)  # a run inside a step of another run
        return StopEvent(result=(inner, asyncio.current_task().get_name()))  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_a_step_may_await_another_workflow():
    assert await Outer().run(n=2) == (30, "wfasync:Outer.delegate")
