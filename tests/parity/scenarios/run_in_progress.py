"""Saving a run mid-way: a step waiting in ctx.wait_for_event, a fan-in whose collect_events
buffer is half full, and events still queued, all resume after Context.from_dict."""

import asyncio
import json

from workflows import Context, Workflow, step
from workflows.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Ask(Workflow):
    @step
    async def ask_user(self, ctx: Context, ev: StartEvent) -> StopEvent:
        n = await ctx.store.get("visits", default=0)
        await ctx.store.set("visits", n + 1)
        response = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="Enter a number: "),
            waiter_id="get_number",
        )
        return StopEvent(result=[response.response, await ctx.store.get("visits")])


class Part(Event):
    n: int


class Gate(Event):
    pass


class FanIn(Workflow):
    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        for n in range(3):
            ctx.send_event(Part(n=n))
        return None

    @step
    async def gather(self, ctx: Context, ev: Part | HumanResponseEvent) -> InputRequiredEvent | StopEvent | None:
        got = ctx.collect_events(ev, [Part, Part, Part, HumanResponseEvent])
        if got is None:
            if isinstance(ev, Part) and ev.n == 2:
                return InputRequiredEvent(prefix="more?")
            return None
        return StopEvent(result=[getattr(e, "n", None) if isinstance(e, Part) else e.response for e in got])


async def pause(handler):
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, InputRequiredEvent):
            saved = json.loads(json.dumps(handler.ctx.to_dict()))
            await handler.cancel_run()
            break
    try:
        await handler
    except Exception as exc:
        seen.append(type(exc).__name__)
    return seen, saved


async def main():
    out = {}
    wf = Ask(timeout=10)
    seen, saved = await pause(wf.run())
    waiters = [w["waiter_id"] for w in saved["workers"]["ask_user"]["collected_waiters"]]
    # The restored step runs again up to its wait (so "visits" counts 2); its waiter event is
    # not written again: the caller answers the one it saw before the save.
    handler = wf.run(ctx=Context.from_dict(wf, saved))
    handler.ctx.send_event(HumanResponseEvent(response="5"))
    after = [type(ev).__name__ async for ev in handler.stream_events()]
    out["wait_for_event"] = [seen, waiters, after, await handler]

    fan = FanIn(timeout=10)
    seen, saved = await pause(fan.run())
    handler = fan.run(ctx=Context.from_dict(fan, saved))
    handler.ctx.send_event(HumanResponseEvent(response="yes"))
    after = [type(ev).__name__ async for ev in handler.stream_events()]
    out["collect"] = [seen, after, await handler]
    return out
