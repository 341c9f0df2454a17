"""A run that times out, fails or is cancelled publishes why on the stream, the stream ends
normally, and then awaiting the handler raises."""

import asyncio

from workflows import Context, Workflow, step
from workflows.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from workflows.events import (
    Event,
    StartEvent,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)


class Tick(Event):
    n: int


class Stuck(Workflow):
    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ctx.write_event_to_stream(Tick(n=1))
        await asyncio.Event().wait()
        return StopEvent(result="never")


class Broken(Workflow):
    @step
    async def fail(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ctx.write_event_to_stream(Tick(n=1))
        raise KeyError("missing")


def describe(ev):
    if isinstance(ev, WorkflowTimedOutEvent):
        return ["timed out", ev.timeout, ev.active_steps, ev.result]
    if isinstance(ev, WorkflowFailedEvent):
        return ["failed", ev.step_name, type(ev.exception).__name__, str(ev.exception), ev.attempts,
                ev.elapsed_seconds >= 0, isinstance(ev, StopEvent)]
    if isinstance(ev, WorkflowCancelledEvent):
        return ["cancelled", repr(ev), isinstance(ev, StopEvent)]
    return repr(ev)


async def watch(handler, cancel=False):
    streamed = []
    async for ev in handler.stream_events():
        streamed.append(describe(ev))
        if cancel and isinstance(ev, Tick):
            await handler.cancel_run()
    try:
        await handler
        outcome = "no error"
    except (WorkflowTimeoutError, WorkflowCancelledByUser, KeyError) as exc:
        outcome = type(exc).__name__
    stop = handler.get_stop_event()
    return {"streamed": streamed, "outcome": outcome, "done": handler.is_done(),
            "stop_event": None if stop is None else type(stop).__name__}


async def main():
    plain_await = None
    try:
        await Broken(timeout=5).run()
    except KeyError as exc:
        plain_await = repr(exc)
    return {
        "timeout": await watch(Stuck(timeout=0.2).run()),
        "failure": await watch(Broken(timeout=5).run()),
        "cancel": await watch(Stuck(timeout=5).run(), cancel=True),
        "plain_await": plain_await,
        "event_json": [
            WorkflowTimedOutEvent(timeout=1.5, active_steps=["a"]).model_dump_json(),
            WorkflowFailedEvent(step_name="s", exception=ValueError("boom"), attempts=2).model_dump_json(),
            WorkflowCancelledEvent().model_dump_json(),
        ],
    }
