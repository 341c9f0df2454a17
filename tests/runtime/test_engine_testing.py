"""runtime.testing's WorkflowTestRunner and the StepStateChanged events it collects, beyond the
parity scenario: events waiting for a busy step, and streams that did not ask for them."""

from __future__ import annotations

import asyncio

from runtime import Context, Event, StartEvent, StepState, StepStateChanged, StopEvent, Workflow, step
from runtime.testing import WorkflowTestResult, WorkflowTestRunner


class Item(Event):
    i: int


class Done(Event):
    i: int


class Fan(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Item | None:
        for i in range(3):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=1)
    async def work(self, ev: Item) -> Done:
        await asyncio.sleep(0)
        return Done(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * 3)
        return None if got is None else StopEvent(result=[d.i for d in got])


def test_events_waiting_for_a_busy_step_are_preparing_then_running():
    outcome = asyncio.run(WorkflowTestRunner(Fan(timeout=10)).run())
    assert isinstance(outcome, WorkflowTestResult)
    assert outcome.result == [0, 1, 2]
    work = [(ev.step_state, ev.worker_id) for ev in outcome.collected
            if isinstance(ev, StepStateChanged) and ev.name == "work"]
    assert work.count((StepState.PREPARING, "<enqueued>")) == 2
    assert work.count((StepState.RUNNING, "0")) == 3
    assert work.count((StepState.NOT_RUNNING, "0")) == 3
    assert work[0] == (StepState.RUNNING, "0")  # the first Item found the worker free
    assert outcome.event_types[StepStateChanged] == len(outcome.collected) - 1


def test_a_stream_that_did_not_ask_gets_no_internal_events():
    async def main():
        handler = Fan(timeout=10).run()
        streamed = [type(ev).__name__ async for ev in handler.stream_events()]
        return streamed, await handler

    assert asyncio.run(main()) == (["StopEvent"], [0, 1, 2])
