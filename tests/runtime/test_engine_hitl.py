"""Human in the loop: InputRequiredEvent goes out on the stream, HumanResponseEvent comes back."""

from __future__ import annotations

import asyncio

import pytest

from runtime import (
    Context,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)

pytestmark = pytest.mark.asyncio


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="name? ")

    @step
    async def greet(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=f"hello {ev.response}")


async def test_input_required_round_trip_through_the_stream():
    handler = Ask().run()
    prompts = []
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            prompts.append(ev.prefix)
            handler.ctx.send_event(HumanResponseEvent(response="ada"))
    assert prompts == ["name? "]
    assert await handler == "hello ada"


async def test_the_answer_can_come_from_another_thread():
    handler = Ask().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await asyncio.to_thread(handler.ctx.send_event, HumanResponseEvent(response="bob"))
    assert await handler == "hello bob"


class AskInline(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="age? "))
        return StopEvent(result=int(reply.response) + 1)


async def test_wait_for_event_with_a_waiter_event():
    handler = AskInline().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="41"))
    assert await handler == 42
