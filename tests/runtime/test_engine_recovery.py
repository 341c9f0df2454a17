"""Retries, @catch_error handlers, termination events, cancel_run and graph checks, beyond
what the parity scenarios compare with llama-index-workflows."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from runtime import (
    Context,
    ContextStateError,
    Event,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowCancelledEvent,
    WorkflowConfigurationError,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
    WorkflowTimeoutError,
    WorkflowValidationError,
    catch_error,
    retry_policy,
    step,
    stop_after_attempt,
    wait_fixed,
)


class Again(Event):
    pass


class ThreadRetry(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.seen: list[tuple[int, str | None, bool]] = []

    @step(retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(3)))
    def flaky(self, ctx: Context, ev: StartEvent) -> StopEvent:
        info = ctx.retry_info()
        self.seen.append((info.retry_number, None if info.last_exception is None else str(info.last_exception),
                          threading.current_thread() is threading.main_thread()))
        if info.retry_number < 2:
            raise ConnectionError(f"try {info.retry_number}")
        return StopEvent(result="third time")


@pytest.mark.asyncio
async def test_a_plain_def_step_is_retried_in_its_thread_and_sees_its_retry_info():
    flow = ThreadRetry()
    assert await flow.run() == "third time"
    assert flow.seen == [(0, None, False), (1, "try 0", False), (2, "try 1", False)]


class Spaced:
    """A custom policy: two retries, the wait it asks for recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def next(self, elapsed_time, attempts, error):
        self.calls.append((attempts, type(error).__name__))
        return 0.05 if attempts < 3 else None


SPACED = Spaced()


class Waits(Workflow):
    starts: list[float] = []

    @step(retry_policy=SPACED)
    async def s(self, ev: StartEvent) -> StopEvent:
        Waits.starts.append(time.monotonic())
        raise KeyError("never")


@pytest.mark.asyncio
async def test_a_custom_policy_decides_each_wait_and_when_to_stop():
    with pytest.raises(KeyError):
        await Waits(timeout=10).run()
    assert SPACED.calls == [(1, "KeyError"), (2, "KeyError"), (3, "KeyError")]
    gaps = [b - a for a, b in zip(Waits.starts, Waits.starts[1:])]
    assert len(gaps) == 2 and all(gap >= 0.05 for gap in gaps)


class Refetch(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.log: list[str] = []

    @step
    async def fetch(self, ev: StartEvent | Again) -> StopEvent:
        self.log.append(type(ev).__name__)
        raise ConnectionError("down")

    @catch_error(max_recoveries=1)
    async def recover(self, ctx: Context, ev: StepFailedEvent) -> Again | None:
        self.log.append(f"handler:{type(ev.input_event).__name__}")
        ctx.send_event(Again())  # a sent event carries the chain's recoveries like a returned one
        return None


@pytest.mark.asyncio
async def test_events_a_handler_sends_count_against_its_recovery_budget():
    flow = Refetch()
    handler = flow.run()
    streamed = [ev async for ev in handler.stream_events()]
    with pytest.raises(ConnectionError):
        await handler
    assert flow.log == ["StartEvent", "handler:StartEvent", "Again"]
    assert isinstance(streamed[-1], WorkflowFailedEvent) and streamed[-1].step_name == "fetch"


async def a_step(self, ev: StartEvent) -> StopEvent:
    return StopEvent()


async def wrong_handler(self, ev: StartEvent) -> StopEvent:
    return StopEvent()


@pytest.mark.parametrize(
    ("decorate", "message"),
    [
        (lambda: catch_error(max_recoveries=0), "max_recoveries must be an integer >= 1"),
        (lambda: catch_error(for_steps="fetch"), "for_steps must be a list of step names"),
        (lambda: step(retry_policy=object())(a_step), "retry_policy must have a next"),
        (lambda: step(skip_graph_checks=["terminal_event"])(a_step), "skip_graph_checks takes a list of reachability, dead_end"),
        (lambda: catch_error(wrong_handler), "handler 'wrong_handler' must take 'ev: StepFailedEvent', not StartEvent"),
    ],
)
def test_decorator_arguments_are_checked_at_once(decorate, message):
    with pytest.raises(WorkflowValidationError, match=message):
        decorate()


class TwoWildcards(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error
    async def a(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()

    @catch_error
    async def b(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()


class DoubleClaim(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["s"])
    async def a(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["s", "a"])
    async def b(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (TwoWildcards, "only one @catch_error handler without for_steps is allowed, found 2: a, b"),
        (DoubleClaim, "step 's' is claimed by two @catch_error handlers: 'a' and 'b'"),
        (DoubleClaim, "handler 'b' cannot cover another handler, 'a'"),
    ],
)
def test_error_handlers_are_checked_with_the_workflow(flow, message):
    with pytest.raises(WorkflowValidationError, match=message):
        flow().validate()


class Loop1(Event):
    pass


class Loop2(Event):
    pass


class Cycle(Workflow):
    @step
    async def entry(self, ev: StartEvent) -> Loop1 | StopEvent:
        return StopEvent(result="out")

    @step
    async def one(self, ev: Loop1) -> Loop2:
        return Loop2()

    @step
    async def two(self, ev: Loop2) -> Loop1:
        return Loop1()


@pytest.mark.asyncio
async def test_a_cycle_with_no_way_out_is_a_dead_end_unless_skipped():
    with pytest.raises(WorkflowValidationError, match="no path to a StopEvent or InputRequiredEvent: one, two"):
        Cycle().validate()
    assert await Cycle(skip_graph_checks={"dead_end"}).run() == "out"
    with pytest.raises(WorkflowValidationError, match="unknown graph check name"):
        Cycle(skip_graph_checks="dead_end")


class Nothing(Workflow):
    @step
    async def s(self, ev: Again) -> StopEvent:
        return StopEvent()


def test_a_workflow_without_a_start_step_is_a_configuration_error():
    with pytest.raises(WorkflowConfigurationError, match="accepts StartEvent"):
        Nothing().validate()
    assert issubclass(WorkflowConfigurationError, WorkflowValidationError)


class Stuck(Workflow):
    unwound = False

    @step
    async def wait(self, ev: StartEvent) -> StopEvent:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)  # a cleanup that itself awaits
            Stuck.unwound = True
        return StopEvent()


@pytest.mark.asyncio
async def test_cancel_run_returns_once_the_running_steps_have_unwound():
    handler = Stuck(timeout=10).run()
    await asyncio.sleep(0.01)
    await handler.cancel_run(timeout=5)
    assert Stuck.unwound
    streamed = [ev async for ev in handler.stream_events()]
    assert [type(ev) for ev in streamed] == [WorkflowCancelledEvent]
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    assert isinstance(handler.get_stop_event(), WorkflowCancelledEvent)
    with pytest.raises(ValueError, match="timeout"):
        await handler.cancel_run(timeout=-1)


@pytest.mark.asyncio
async def test_a_timed_out_run_names_the_running_steps_on_its_stream():
    handler = Stuck(timeout=0.05).run()
    streamed = [ev async for ev in handler.stream_events()]
    assert len(streamed) == 1 and isinstance(streamed[0], WorkflowTimedOutEvent)
    assert (streamed[0].timeout, streamed[0].active_steps) == (0.05, ["wait"])
    with pytest.raises(WorkflowTimeoutError) as caught:
        await handler
    assert caught.value.steps == ("wait",)


class SendThenAwait(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Again:
        ctx.send_event(Again(label="sent"))
        if ev.get("yield_first"):
            await asyncio.sleep(0)
        return Again(label="returned")

    @step
    async def gather(self, ctx: Context, ev: Again) -> StopEvent | None:
        got = ctx.collect_events(ev, [Again, Again])
        return None if got is None else StopEvent(result=[e.label for e in got])


def test_retry_info_outside_a_step_is_a_context_state_error():
    with pytest.raises(ContextStateError, match="inside a step"):
        Context(Stuck()).retry_info()


@pytest.mark.asyncio
async def test_sent_events_arrive_on_the_next_turn_of_the_loop():
    assert await SendThenAwait(timeout=10).run() == ["returned", "sent"]
    assert await SendThenAwait(timeout=10).run(yield_first=True) == ["sent", "returned"]


@pytest.mark.asyncio
async def test_verbose_lines_go_to_the_runtime_verbose_logger_when_it_is_enabled(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="runtime.verbose"):
        await SendThenAwait(timeout=10, verbose=True).run()
    assert "[start:0] started from StartEvent" in caplog.messages
    assert "[result] StopEvent(result=['returned', 'sent'])" in caplog.messages
    assert capsys.readouterr().out == ""


class Item(Event):
    i: int


class Seen(Event):
    i: int
    retry_number: int


class SiblingWorkers(Workflow):
    """Worker 0 fails once, then holds its retried attempt open until worker 1, on its first
    attempt, has read its own retry info."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.retrying = asyncio.Event()
        self.checked = asyncio.Event()

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Item | None:
        ctx.send_event(Item(i=0))
        ctx.send_event(Item(i=1))
        return None

    @step(num_workers=2, retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def work(self, ctx: Context, ev: Item) -> Seen:
        if ev.i == 0:
            if ctx.retry_info().retry_number == 0:
                raise ConnectionError("once")
            self.retrying.set()
            await self.checked.wait()
            return Seen(i=0, retry_number=ctx.retry_info().retry_number)
        await self.retrying.wait()
        seen = ctx.retry_info().retry_number
        self.checked.set()
        return Seen(i=1, retry_number=seen)

    @step
    async def gather(self, ctx: Context, ev: Seen) -> StopEvent | None:
        got = ctx.collect_events(ev, [Seen, Seen])
        return None if got is None else StopEvent(result=sorted((s.i, s.retry_number) for s in got))


def test_a_workers_retry_info_is_its_own_not_its_siblings():
    async def main():
        return await SiblingWorkers(timeout=10).run()

    assert asyncio.run(main()) == [(0, 1), (1, 0)]
