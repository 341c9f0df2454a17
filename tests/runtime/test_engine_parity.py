"""The same workflow code, written once, runs on this engine and on llama-index-workflows
with the same results: only the imports differ."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest


def ours() -> SimpleNamespace:
    import runtime

    return SimpleNamespace(**{name: getattr(runtime, name) for name in NAMES})


def peer() -> SimpleNamespace:
    import workflows
    import workflows.events

    api = {name: getattr(workflows.events, name, None) for name in NAMES}
    api.update(Workflow=workflows.Workflow, step=workflows.step, Context=workflows.Context)
    return SimpleNamespace(**api)


NAMES = ["Workflow", "step", "Context", "Event", "StartEvent", "StopEvent", "InputRequiredEvent", "HumanResponseEvent"]


def scenarios(api: SimpleNamespace) -> dict:
    """Define workflows the way a llama-index-workflows user writes them."""
    Workflow, step, Context = api.Workflow, api.step, api.Context
    Event, StartEvent, StopEvent = api.Event, api.StartEvent, api.StopEvent
    InputRequiredEvent, HumanResponseEvent = api.InputRequiredEvent, api.HumanResponseEvent

    class QueryEvent(Event):
        query: str

    class RetrieveEvent(Event):
        docs: list

    class Progress(Event):
        msg: str

    class Shard(Event):
        i: int

    class ShardDone(Event):
        i: int

    class Topic(StartEvent):
        topic: str

    class Essay(StopEvent):
        text: str

    class Rag(Workflow):
        @step
        async def start(self, ctx: Context, ev: StartEvent) -> QueryEvent | RetrieveEvent:
            await ctx.store.set("asked", ev.query)
            ctx.send_event(RetrieveEvent(docs=["d1", "d2"]))
            ctx.write_event_to_stream(Progress(msg="retrieving"))
            return QueryEvent(query=ev.query.upper())

        @step
        async def synthesize(self, ctx: Context, ev: QueryEvent | RetrieveEvent) -> StopEvent | None:
            ready = ctx.collect_events(ev, [QueryEvent, RetrieveEvent])
            if ready is None:
                return None
            query, retrieved = ready
            ctx.write_event_to_stream(Progress(msg="answering"))
            asked = await ctx.store.get("asked")
            return StopEvent(result=f"{asked}->{query.query}:{','.join(retrieved.docs)}")

    class Fan(Workflow):
        @step
        async def split(self, ctx: Context, ev: StartEvent) -> Shard | None:
            await ctx.store.set("n", ev.n)
            for i in range(ev.n):
                ctx.send_event(Shard(i=i))
            return None

        @step(num_workers=4)
        async def work(self, ev: Shard) -> ShardDone:
            await asyncio.sleep(0)
            return ShardDone(i=ev.i * ev.i)

        @step
        async def join(self, ctx: Context, ev: ShardDone) -> StopEvent | None:
            done = ctx.collect_events(ev, [ShardDone] * await ctx.store.get("n"))
            if done is None:
                return None
            return StopEvent(result=sorted(e.i for e in done))

    class Writer(Workflow):
        @step
        async def write(self, ev: Topic) -> Essay:
            return Essay(text=f"on {ev.topic}")

    class Ask(Workflow):
        @step
        async def ask(self, ev: StartEvent) -> InputRequiredEvent:
            return InputRequiredEvent(prefix="name? ")

        @step
        async def greet(self, ev: HumanResponseEvent) -> StopEvent:
            return StopEvent(result="hi " + ev.response)

    async def rag():
        handler = Rag(timeout=10).run(query="ships")
        streamed = [getattr(ev, "msg", type(ev).__name__) async for ev in handler.stream_events()]
        return streamed, await handler

    async def fan():
        return await Fan(timeout=10).run(n=30)

    async def writer():
        essay = await Writer(timeout=10).run(topic="sea")
        return type(essay).__name__, essay.text

    async def ask():
        handler = Ask(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                handler.ctx.send_event(HumanResponseEvent(response="ada"))
        return await handler

    class Broken(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            raise KeyError("missing")

    async def failure():
        try:
            await Broken(timeout=10).run()
        except KeyError as exc:
            return repr(exc)

    return {"rag": rag, "fan": fan, "writer": writer, "ask": ask, "failure": failure}


# The peer's first run imports and validates on the loop (and draws uuid4s); that is not what
# this test is about.
@pytest.mark.wfasync_allow_blocking
@pytest.mark.parametrize("name", ["rag", "fan", "writer", "ask", "failure"])
def test_same_code_same_result_on_both_engines(name):
    ours_result = asyncio.run(scenarios(ours())[name]())
    peer_result = asyncio.run(scenarios(peer())[name]())
    assert ours_result == peer_result
    assert ours_result is not None
