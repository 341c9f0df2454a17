"""ctx.collect_events across several event types: the batch follows the expected list, and
what a step sees meanwhile follows the order events were sent and returned."""

import asyncio

from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class Query(Event):
    text: str


class Docs(Event):
    names: list[str]


class Score(Event):
    value: int


class Join(Workflow):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.arrivals = []

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Query | Docs | Score:
        ctx.send_event(Score(value=1))
        ctx.send_event(Docs(names=["a"]))
        ctx.send_event(Score(value=2))
        return Query(text=ev.q)

    @step
    async def join(self, ctx: Context, ev: Query | Docs | Score) -> StopEvent | None:
        self.arrivals.append(type(ev).__name__)
        batch = ctx.collect_events(ev, [Docs, Score, Query, Score])
        if batch is None:
            return None
        return StopEvent(result=[repr(e) for e in batch])


class Slow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Query | Docs:
        ctx.send_event(Docs(names=["late"]))
        ctx.send_event(Query(text="first"))
        return None

    @step
    async def docs(self, ev: Docs) -> Docs:
        await asyncio.sleep(0.05)
        return Docs(names=ev.names + ["seen"])

    @step
    async def gather(self, ctx: Context, ev: Query | Docs) -> StopEvent | None:
        batch = ctx.collect_events(ev, [Query, Docs])
        if batch is None:
            return None
        return StopEvent(result=[repr(e) for e in batch])


class SameType(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Query:
        ctx.send_event(Query(text="sent first"))
        ctx.send_event(Query(text="sent second"))
        return Query(text="returned")

    @step
    async def gather(self, ctx: Context, ev: Query) -> StopEvent | None:
        batch = ctx.collect_events(ev, [Query, Query, Query])
        if batch is None:
            return None
        return StopEvent(result=[e.text for e in batch])


async def main():
    join = Join(timeout=10)
    batch = await join.run(q="why")
    return {
        "batch": batch,
        # The first time the step saw each type (a step may see an event again on the peer).
        "first_arrivals": list(dict.fromkeys(join.arrivals)),
        "slow": await Slow(timeout=10).run(),
        "same_type": await SameType(timeout=10).run(),
    }
