"""Timeouts: a run past its deadline fails naming the steps still running, also when a step
blocked the event loop across the deadline."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from runtime import Event, StartEvent, StopEvent, Workflow, WorkflowTimeoutError, step


class Waits(Workflow):
    @step
    async def wait(self, ev: StartEvent) -> StopEvent:
        await asyncio.Event().wait()  # only the deadline ends this run
        return StopEvent()


@pytest.mark.asyncio
async def test_a_run_past_its_timeout_names_the_running_step():
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(WorkflowTimeoutError, match=r"Waits timed out after 0.2 s; steps still running: 'wait'$") as info:
        await asyncio.wait_for(Waits(timeout=0.2).run(), 30)  # a generous guard against a hang
    assert loop.time() - began >= 0.2  # not before its time
    assert info.value.steps == ("wait",) and info.value.timeout == 0.2


class BlocksThenReturns(Workflow):
    @step
    async def block(self, ev: StartEvent) -> StopEvent:
        time.sleep(0.4)  # noqa: ASYNC251 - holds the loop past the deadline on purpose
        return StopEvent(result="late")


@pytest.mark.wfasync_allow_blocking
@pytest.mark.asyncio
async def test_a_step_that_blocked_the_loop_past_the_deadline_fails_when_the_loop_is_free():
    # The step returns a StopEvent: only the check when it lets go of the loop can fail the run,
    # since the deadline timer gets its turn after the run has already finished.
    with pytest.raises(WorkflowTimeoutError) as info:
        await BlocksThenReturns(timeout=0.1).run()
    message = str(info.value)
    assert "BlocksThenReturns timed out after 0.1 s; steps still running: 'block'" in message
    assert re.search(r"The event loop was blocked 0\.[3-6]\d s past the deadline by step 'block'", message)
    assert info.value.steps == ("block",)


class Next(Event):
    pass


class BlocksThenAwaits(Workflow):
    @step
    async def block(self, ev: StartEvent) -> Next:
        time.sleep(0.3)  # noqa: ASYNC251 - blocks past the deadline, then suspends
        await asyncio.sleep(5)
        return Next()

    @step
    async def after(self, ev: Next) -> StopEvent:
        return StopEvent()


@pytest.mark.wfasync_allow_blocking
@pytest.mark.asyncio
async def test_a_late_deadline_timer_says_the_loop_was_blocked():
    with pytest.raises(WorkflowTimeoutError, match=r"steps still running: 'block'\. The event loop was blocked 0\.[2-4]\d s past the deadline \(step 'block' was the only step running on the loop\)"):
        await BlocksThenAwaits(timeout=0.05).run()


class SlowThread(Workflow):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.release = threading.Event()
        self.finished = threading.Event()

    @step
    def crunch(self, ev: StartEvent) -> StopEvent:
        self.release.wait(30)
        self.finished.set()
        return StopEvent()


@pytest.mark.asyncio
async def test_a_sync_step_past_the_deadline_times_out_on_time():
    wf = SlowThread(timeout=0.1)
    try:
        with pytest.raises(WorkflowTimeoutError, match=r"steps still running: 'crunch'$"):
            await wf.run()
        # The loop was free: the timer fired while the thread was still in the step.
        assert not wf.finished.is_set()
    finally:
        wf.release.set()


class Quick(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(0.05)
        return StopEvent(result="no limit")


@pytest.mark.asyncio
async def test_no_timeout():
    assert await Quick(timeout=None).run() == "no limit"


@pytest.mark.wfasync_allow_blocking
def test_the_blocked_loop_timeout_on_uvloop():
    uvloop = pytest.importorskip("uvloop")

    async def main():
        await BlocksThenReturns(timeout=0.1).run()

    loop = uvloop.new_event_loop()
    try:
        with pytest.raises(WorkflowTimeoutError, match="blocked 0.[3-6]\\d s past the deadline by step 'block'"):
            loop.run_until_complete(main())
    finally:
        loop.close()
