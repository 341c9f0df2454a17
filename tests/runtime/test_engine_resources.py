"""Resources on this engine beyond what the parity scenarios compare: string annotations, the
shape of a step's call, plain def steps (traced or not), executors that cannot take them."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

import pytest
from pydantic import BaseModel

from runtime import (
    Context,
    Event,
    Resource,
    ResourceConfig,
    ResourceManager,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowValidationError,
    step,
)


class Client:
    def __init__(self) -> None:
        self.calls: list[str] = []


def get_client() -> Client:
    return Client()


class Asked(Event):
    what: str


class Mixed(Workflow):
    # Keyword-only event parameter, context in the middle, resources first: every argument by name.
    @step
    async def ask(self, client: Annotated[Client, Resource(get_client)], ctx: Context, *, ev: StartEvent) -> Asked:
        client.calls.append("ask")
        await ctx.store.set("seen", len(client.calls))
        return Asked(what="time")

    @step
    def answer(self, ev: Asked, client: Annotated[Client, Resource(get_client)]) -> StopEvent:
        client.calls.append(f"answer in {threading.current_thread().name != 'MainThread'}")
        return StopEvent(result=list(client.calls))


def result_of(flow: Workflow):
    async def main():
        return await flow.run()

    return asyncio.run(main())


def test_string_annotations_name_resources_not_events():
    spec = Mixed.ask._wfasync_step
    assert spec.event_param == "ev"
    assert spec.resource_params == ("client",)
    assert [d.resource.name for d in spec.resources] == ["get_client"]


@pytest.mark.parametrize("trace", [False, True])
def test_async_and_thread_steps_share_the_cached_resource(trace):
    flow = Mixed(timeout=10, trace=trace)
    assert result_of(flow) == ["ask", "answer in True"]
    assert sorted(flow.resource_manager.get_all()) == ["get_client"]


def test_a_manager_given_to_two_workflows_shares_their_resources():
    manager = ResourceManager()
    first = result_of(Mixed(timeout=10, resource_manager=manager))
    second = result_of(Mixed(timeout=10, resource_manager=manager))
    assert first == ["ask", "answer in True"]
    assert second == ["ask", "answer in True", "ask", "answer in True"]


def test_resources_are_no_event_parameters_but_two_events_still_are():
    with pytest.raises(WorkflowValidationError, match="takes 2 event parameters"):

        class TwoEvents(Workflow):
            @step
            async def s(self, a: StartEvent, b: Asked, c: Annotated[Client, Resource(get_client)]) -> StopEvent:
                return StopEvent()


class ProcessStep(Workflow):
    @step(executor=ProcessPoolExecutor(max_workers=1))
    def crunch(self, ev: StartEvent, client: Annotated[Client, Resource(get_client)]) -> StopEvent:
        return StopEvent()


def test_a_step_in_another_process_cannot_take_resources():
    async def main():
        await ProcessStep(timeout=10).run()

    with pytest.raises(WorkflowValidationError, match=r"cannot take resources \(client\)"):
        asyncio.run(main())


class Conf(BaseModel):
    size: int


def test_a_config_is_checked_once_per_instance_and_read_once(tmp_path):
    path = tmp_path / "conf.json"
    path.write_text('{"size": 3}')

    class Sized(Workflow):
        @step
        async def s(self, ev: StartEvent, conf: Annotated[Conf, ResourceConfig(config_file=str(path))]) -> StopEvent:
            return StopEvent(result=conf.size)

    async def main():
        flow = Sized(timeout=10)
        first = await flow.run()
        path.unlink()  # read once per process, as on llama-index-workflows
        return first, await flow.run(), await Sized(timeout=10).run()

    assert asyncio.run(main()) == (3, 3, 3)


def test_validating_resources_from_async_code_says_how_to_do_it():
    async def main():
        with pytest.raises(RuntimeError, match=r"asyncio.to_thread\(workflow.validate, validate_resources=True\)"):
            Mixed(timeout=10).validate(validate_resources=True)
        return await asyncio.to_thread(Mixed(timeout=10).validate, validate_resources=True)

    assert asyncio.run(main()) is False


made: list[int] = []


async def get_shared() -> dict:
    made.append(1)
    await asyncio.sleep(0.05)
    return {"made": len(made)}


fresh_made: list[int] = []


async def get_fresh() -> dict:
    fresh_made.append(1)
    number = len(fresh_made)
    await asyncio.sleep(0.01)
    return {"id": number}


class Item(Event):
    i: int


class Used(Event):
    shared: int
    fresh: int


class Concurrent(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Item | None:
        for i in range(4):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=4)
    async def work(
        self,
        ev: Item,
        shared: Annotated[dict, Resource(get_shared)],
        fresh: Annotated[dict, Resource(get_fresh, cache=False)],
        again: Annotated[dict, Resource(get_fresh, cache=False)],
    ) -> Used:
        assert fresh is again  # one invocation's parameters share an uncached value
        return Used(shared=shared["made"], fresh=fresh["id"])

    @step
    async def gather(self, ctx: Context, ev: Used) -> StopEvent | None:
        got = ctx.collect_events(ev, [Used] * 4)
        return None if got is None else StopEvent(result=got)


def test_concurrent_invocations_make_a_cached_resource_once_and_keep_uncached_ones_apart():
    # llama-index-workflows reports the second concurrent request as a circular dependency.
    made.clear()
    fresh_made.clear()
    used = result_of(Concurrent(timeout=10))
    assert made == [1]
    assert len({u.shared for u in used}) == 1
    assert sorted(u.fresh for u in used) == [1, 2, 3, 4]
