"""Saving a context mid-run and resuming it; what a payload from elsewhere gets."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from pydantic import BaseModel

from runtime import (
    Context,
    ContextSerdeError,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    JsonSerializer,
    PickleSerializer,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)

pytestmark = pytest.mark.asyncio


class Job(Event):
    n: int


class Done(Event):
    n: int


class Queued(Workflow):
    """One worker handles jobs one at a time; the first blocks on a gate the test holds."""

    gate: asyncio.Event
    started: asyncio.Event

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Job | None:
        for n in range(3):
            ctx.send_event(Job(n=n))
        return None

    @step(num_workers=1)
    async def work(self, ev: Job) -> Done:
        self.started.set()
        await self.gate.wait()
        return Done(n=ev.n)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done] * 3)
        if done is None:
            return None
        return StopEvent(result=sorted(d.n for d in done))


def queued_flow() -> Queued:
    wf = Queued(timeout=20)
    wf.gate, wf.started = asyncio.Event(), asyncio.Event()
    return wf


async def test_a_run_saved_with_events_queued_and_in_progress_resumes_them_all():
    wf = queued_flow()
    handler = wf.run()
    await wf.started.wait()
    saved = json.loads(json.dumps(handler.ctx.to_dict()))
    await handler.cancel_run()
    with pytest.raises(Exception):
        await handler
    work = saved["workers"]["work"]
    assert saved["is_running"] is True
    assert [json.loads(a["event"])["value"] for a in work["in_progress"]] == [{"n": 0}]
    assert [json.loads(a["event"])["value"] for a in work["queue"]] == [{"n": 1}, {"n": 2}]

    fresh = queued_flow()
    fresh.gate.set()
    restored = Context.from_dict(fresh, saved)
    assert restored.is_running
    assert await fresh.run(ctx=restored) == [0, 1, 2]
    assert not restored.is_running


async def test_a_restored_context_saves_again_as_it_was_restored():
    wf = queued_flow()
    handler = wf.run()
    await wf.started.wait()
    saved = handler.ctx.to_dict()
    await handler.cancel_run()
    resaved = Context.from_dict(wf, saved).to_dict()
    assert resaved["workers"]["work"]["queue"] == [*saved["workers"]["work"]["in_progress"],
                                                   *saved["workers"]["work"]["queue"]]


class Snapshotting(Workflow):
    """The durable-workflow pattern: a plain def step saves the context as it goes."""

    saved: list[dict]

    @step
    def convert(self, ctx: Context, ev: StartEvent) -> StopEvent:
        for doc in ev.ids:
            ctx.store.set_sync("converted", [*ctx.store.get_sync("converted", []), doc])
            self.saved.append(ctx.to_dict())
        return StopEvent(result=threading.current_thread() is not threading.main_thread())


async def test_to_dict_from_a_def_step_in_a_worker_thread():
    wf = Snapshotting()
    wf.saved = []
    assert await wf.run(ids=["a", "b"]) is True
    restored = Context.from_dict(wf, wf.saved[0])
    assert await restored.store.get("converted") == ["a"]
    assert restored.is_running and wf.saved[0]["workers"]["convert"]["in_progress"]


class Other(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="other")


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="?")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=ev.response)


async def test_a_payload_from_another_workflow_is_refused_naming_the_steps():
    saved = Context(Ask()).to_dict()
    with pytest.raises(ContextSerdeError, match=r"steps 'answer', 'ask', which Other does not have"):
        Context.from_dict(Other(), saved)


async def test_an_event_a_step_does_not_accept_is_refused():
    saved = Context(Ask()).to_dict()
    saved["workers"]["answer"]["queue"] = [{"event": JsonSerializer().serialize(StartEvent())}]
    with pytest.raises(ContextSerdeError, match="step 'answer' has a saved StartEvent, which it does not accept"):
        Context.from_dict(Ask(), saved)


class Profile(BaseModel):
    name: str = "ada"


class Settings(BaseModel):
    theme: str = "dark"


class WithProfile(Workflow):
    @step
    async def only(self, ctx: Context[Profile], ev: StartEvent) -> StopEvent:
        return StopEvent(result=(await ctx.store.get_state()).name)


class WithSettings(Workflow):
    @step
    async def only(self, ctx: Context[Settings], ev: StartEvent) -> StopEvent:
        return StopEvent(result=(await ctx.store.get_state()).theme)


async def test_a_typed_state_of_another_type_is_refused():
    saved = Context(WithProfile()).to_dict()
    with pytest.raises(ContextSerdeError, match=r"its state is a Profile, but WithSettings's steps use Context\[Settings\]"):
        Context.from_dict(WithSettings(), saved)
    assert await WithProfile().run(ctx=Context.from_dict(WithProfile(), saved)) == "ada"


async def test_classes_resolve_only_from_imported_modules_and_allowed_types():
    payload = {"version": 2, "is_running": True, "workers": {"answer": {"queue": [{"event": json.dumps(
        {"__is_pydantic": True, "value": {}, "qualified_name": "no_such_module_here.Reply"})}]}}}
    with pytest.raises(ContextSerdeError, match="no imported module defines it"):
        Context.from_dict(Ask(), payload)
    saved = Context(Ask()).to_dict()
    saved["is_running"] = True
    saved["workers"]["answer"]["queue"] = [{"event": JsonSerializer().serialize(HumanResponseEvent(response="x"))}]
    strict = JsonSerializer(allowed_types=[Profile])
    with pytest.raises(ContextSerdeError, match="not in the serializer's allowed types"):
        Context.from_dict(Ask(), saved, serializer=strict)
    allowed = JsonSerializer(allowed_types=[HumanResponseEvent])
    assert await Ask().run(ctx=Context.from_dict(Ask(), saved, serializer=allowed)) == "x"


class Carrier(Event):
    model_config = {"arbitrary_types_allowed": True}
    lock: object


class Holding(Workflow):
    @step
    async def hold(self, ctx: Context, ev: StartEvent) -> Carrier:
        return Carrier(lock=threading.Lock())

    @step
    async def wait(self, ctx: Context, ev: Carrier) -> StopEvent:
        ctx.write_event_to_stream(InputRequiredEvent(prefix="save me"))
        await asyncio.Event().wait()
        return StopEvent()


async def test_an_event_json_cannot_write_is_a_value_error_and_pickle_cannot_either():
    handler = Holding(timeout=20).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            with pytest.raises(ValueError, match="Failed to serialize the event Carrier"):
                handler.ctx.to_dict()
            with pytest.raises(ValueError, match="neither JSON nor pickle can write it"):
                handler.ctx.to_dict(serializer=PickleSerializer())
            await handler.cancel_run()
    with pytest.raises(Exception):
        await handler


async def test_the_pickle_serializer_reads_what_json_wrote():
    ctx = Context(Ask())
    await ctx.store.set("answer", Job(n=4))
    saved = ctx.to_dict(serializer=JsonSerializer())
    restored = Context.from_dict(Ask(), saved, serializer=PickleSerializer())
    assert await restored.store.get("answer") == Job(n=4)


async def test_a_cancelled_run_saves_as_going_and_a_finished_one_does_not():
    wf = queued_flow()
    handler = wf.run()
    await wf.started.wait()
    await handler.cancel_run()
    with pytest.raises(Exception):
        await handler
    saved = handler.ctx.to_dict()
    assert saved["is_running"] is True
    assert len(saved["workers"]["work"]["in_progress"]) + len(saved["workers"]["work"]["queue"]) == 3
    fresh = queued_flow()
    fresh.gate.set()
    restored = Context.from_dict(fresh, saved)
    assert await fresh.run(ctx=restored) == [0, 1, 2]
    after = restored.to_dict()
    assert after["is_running"] is False
    assert all(not w["queue"] and not w["in_progress"] for w in after["workers"].values())
