"""step(accept_event_subclasses=True), skip_graph_checks, and cancel_run(timeout=...)."""

import asyncio

from workflows import Context, Workflow, step
from workflows.errors import WorkflowCancelledByUser, WorkflowValidationError
from workflows.events import Event, StartEvent, StopEvent


class Animal(Event):
    name: str


class Dog(Animal):
    pass


class Cat(Animal):
    pass


class Zoo(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Dog | Cat | None:
        ctx.send_event(Dog(name="rex"))
        ctx.send_event(Cat(name="tom"))
        return None

    @step(accept_event_subclasses=True)
    async def greet(self, ctx: Context, ev: Animal) -> StopEvent | None:
        seen = await ctx.store.get("seen", default=[])
        seen.append(f"{type(ev).__name__}:{ev.name}")
        await ctx.store.set("seen", seen)
        if len(seen) == 2:
            return StopEvent(result=sorted(seen))
        return None


class Island(Event):
    pass


class WithIsland(Workflow):
    @step
    async def main_path(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="main")

    @step(skip_graph_checks=["reachability"])
    async def island(self, ev: Island) -> Island | StopEvent:
        return StopEvent(result="island")


class Unreachable(Workflow):
    @step
    async def main_path(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="main")

    @step
    async def island(self, ev: Island) -> Island | StopEvent:
        return StopEvent(result="island")


class Slow(Workflow):
    @step
    async def wait(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(30)
        return StopEvent(result="late")


async def main():
    record = {"subclasses": await Zoo(timeout=10).run(), "island": await WithIsland(timeout=10).run()}
    try:
        record["unreachable"] = await Unreachable(timeout=10).run()
    except WorkflowValidationError as exc:
        record["unreachable"] = type(exc).__name__
    record["unreachable_allowed"] = await Unreachable(timeout=10, skip_graph_checks={"reachability"}).run()
    try:
        Zoo(timeout=10, skip_graph_checks={"no_such_check"})
        record["unknown_check"] = "accepted"
    except WorkflowValidationError as exc:
        record["unknown_check"] = type(exc).__name__
    handler = Slow(timeout=30).run()
    await asyncio.sleep(0.05)
    await handler.cancel_run(timeout=2)
    record["cancel_done"] = handler.is_done()
    try:
        await handler
    except WorkflowCancelledByUser as exc:
        record["cancel"] = type(exc).__name__
    return record
