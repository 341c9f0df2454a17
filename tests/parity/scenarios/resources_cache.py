"""Resources injected with Annotated[T, Resource(factory)]: made once per workflow instance and
shared by its steps and runs (cache=True), or made for each step invocation (cache=False)."""

import asyncio
from typing import Annotated

from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent
from workflows.resource import Resource, ResourceManager

made = []


class Memory:
    def __init__(self, tag):
        self.tag = tag
        self.items = []


def get_memory() -> Memory:
    made.append("memory")
    return Memory(f"memory-{len(made)}")


def get_scratch() -> Memory:
    made.append("scratch")
    return Memory(f"scratch-{len(made)}")


async def get_client() -> dict:
    await asyncio.sleep(0)
    made.append("client")
    return {"client": len(made)}


class Second(Event):
    pass


class Shared(Workflow):
    @step
    async def first(
        self,
        ev: StartEvent,
        memory: Annotated[Memory, Resource(get_memory)],
        scratch: Annotated[Memory, Resource(get_scratch, cache=False)],
        again: Annotated[Memory, Resource(get_scratch, cache=False)],
    ) -> Second:
        memory.items.append("first")
        scratch.items.append("first")
        return Second()

    @step
    async def second(
        self,
        ctx: Context,
        ev: Second,
        memory: Annotated[Memory, Resource(get_memory)],
        scratch: Annotated[Memory, Resource(get_scratch, cache=False)],
        client: Annotated[dict, Resource(get_client)],
    ) -> StopEvent:
        memory.items.append("second")
        return StopEvent(result={
            "memory": memory.tag,
            "memory_items": list(memory.items),
            "scratch": scratch.tag,
            "scratch_items": list(scratch.items),
            "client": client,
        })


class Threaded(Workflow):
    @step
    def work(self, ev: StartEvent, memory: Annotated[Memory, Resource(get_memory)]) -> StopEvent:
        memory.items.append("thread")
        return StopEvent(result=[memory.tag, list(memory.items)])


class SharesScratch(Workflow):
    @step
    async def only(
        self,
        ev: StartEvent,
        a: Annotated[Memory, Resource(get_scratch, cache=False)],
        b: Annotated[Memory, Resource(get_scratch, cache=False)],
    ) -> StopEvent:
        return StopEvent(result=[a.tag, b.tag, a is b])


async def main():
    record = {}
    flow = Shared(timeout=10)
    record["run1"] = await flow.run()
    record["run2"] = await flow.run()
    record["other_instance"] = await Shared(timeout=10).run()
    record["made"] = list(made)

    manager = ResourceManager()
    await manager.set("get_memory", Memory("provided"))
    record["provided"] = await Threaded(timeout=10, resource_manager=manager).run()
    shared = ResourceManager()
    record["shared_manager"] = [await Shared(timeout=10, resource_manager=shared).run() for _ in range(2)]
    record["shared_keys"] = sorted(shared.get_all())
    record["threaded"] = await Threaded(timeout=10).run()
    record["same_invocation"] = await SharesScratch(timeout=10).run()
    record["made_after"] = list(made)
    return record
