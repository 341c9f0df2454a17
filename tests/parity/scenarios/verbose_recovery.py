"""Workflow(verbose=True) while a step is retried, fails into a @catch_error handler, and
while sent events and a timeout go by."""

import asyncio
import contextlib
import io
import re

from workflows import Context, Workflow, catch_error, step
from workflows.errors import WorkflowTimeoutError
from workflows.events import Event, StartEvent, StepFailedEvent, StopEvent
from workflows.retry_policy import retry_policy, stop_after_attempt, wait_none


class Part(Event):
    n: int


class Flaky(Workflow):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part:
        ctx.send_event(Part(n=1))
        return Part(n=2)

    @step(num_workers=1, retry_policy=retry_policy(wait=wait_none(), stop=stop_after_attempt(2)))
    async def work(self, ctx: Context, ev: Part) -> StopEvent | None:
        self.calls += 1
        if ev.n == 1:
            raise ValueError("odd part")
        return None

    @catch_error
    async def handle(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=f"{ev.step_name} failed after {ev.attempts}")


class Slow(Workflow):
    @step
    async def wait(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(10)
        return StopEvent()


async def main():
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        flow = Flaky(timeout=10, verbose=True)
        result = await flow.run()
        try:
            await Slow(timeout=0.1, verbose=True).run()
        except WorkflowTimeoutError:
            print("timed out")
    # A failure's timing differs from run to run: keep the line, not the figures.
    lines = [re.sub(r"elapsed_seconds=.*?(?=( -> \w+)?$)", "elapsed_seconds=...", line) for line in printed.getvalue().splitlines()]
    return [result, flow.calls, lines]
