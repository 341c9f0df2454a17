"""Human in the loop, as documented: answer an InputRequiredEvent while streaming; or stop at
it, save the context, cancel the run, and later restore the context in a new run, send the
HumanResponseEvent and finish."""

import json

from pydantic import BaseModel

from workflows import Context, Workflow, step
from workflows.context.serializers import JsonSerializer
from workflows.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Progress(Event):
    msg: str


class AskName(InputRequiredEvent):
    field_name: str


class Answer(HumanResponseEvent):
    field_name: str


class HumanInTheLoopWorkflow(Workflow):
    @step
    async def step1(self, ctx: Context, ev: StartEvent) -> InputRequiredEvent:
        await ctx.store.set("asked", ev.get("question", "a number"))
        ctx.write_event_to_stream(Progress(msg="asking"))
        return InputRequiredEvent(prefix="Enter a number: ")

    @step
    async def step2(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        ctx.write_event_to_stream(Progress(msg="got " + ev.response))
        return StopEvent(result=[ev.response, await ctx.store.get("asked")])


class Topic(StartEvent):
    topic: str


class TopicWorkflow(Workflow):
    @step
    async def ask(self, ctx: Context, ev: Topic) -> InputRequiredEvent:
        await ctx.store.set("ask_runs", await ctx.store.get("ask_runs", default=0) + 1)
        return InputRequiredEvent(prefix=ev.topic)

    @step
    async def complete(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        await ctx.store.set("complete_runs", await ctx.store.get("complete_runs", default=0) + 1)
        return StopEvent(result=ev.response)


class Form(BaseModel):
    answers: dict[str, str] = {}


class FormWorkflow(Workflow):
    @step
    async def ask(self, ctx: Context[Form], ev: StartEvent | Answer) -> AskName | StopEvent:
        if isinstance(ev, Answer):
            async with ctx.store.edit_state() as form:
                form.answers[ev.field_name] = ev.response
        form = await ctx.store.get_state()
        for name in ("first", "last"):
            if name not in form.answers:
                return AskName(field_name=name, prefix=f"{name} name? ")
        return StopEvent(result=dict(form.answers))


def show(ev):
    if isinstance(ev, InputRequiredEvent):
        return [type(ev).__name__, ev.prefix if "prefix" in ev else None, getattr(ev, "field_name", None)]
    return [type(ev).__name__, getattr(ev, "msg", None)]


async def answer_while_streaming():
    handler = HumanInTheLoopWorkflow().run()
    seen = []
    async for event in handler.stream_events():
        seen.append(show(event))
        if isinstance(event, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response="7"))
    return {"streamed": seen, "result": await handler}


async def pause_and_resume(serializer=None):
    workflow = HumanInTheLoopWorkflow()
    handler = workflow.run(question="your age")
    before = []
    async for event in handler.stream_events():
        before.append(show(event))
        if isinstance(event, InputRequiredEvent):
            ctx_dict = handler.ctx.to_dict(serializer=serializer)
            await handler.cancel_run()
            break
    try:
        await handler
        first = "finished"
    except Exception as exc:
        first = type(exc).__name__
    stored = json.dumps(ctx_dict)  # "store it anywhere as a JSON blob"

    restored_ctx = Context.from_dict(HumanInTheLoopWorkflow(), json.loads(stored), serializer=serializer)
    running_before = restored_ctx.is_running
    workflow = HumanInTheLoopWorkflow()
    handler = workflow.run(ctx=restored_ctx)
    handler.ctx.send_event(HumanResponseEvent(response="42"))
    after = [show(event) async for event in handler.stream_events()]
    return {
        "before": before, "first_run": first, "saved_running": ctx_dict["is_running"],
        "restored_running": running_before, "after": after, "result": await handler,
        "done_running": handler.ctx.is_running,
    }


async def saved_after_cancel():
    """The context saved after cancel_run still holds the run: it resumes without a start
    event (this workflow's start event could not be built without its topic)."""
    workflow = TopicWorkflow()
    handler = workflow.run(topic="pizza")
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    await handler.cancel_run()
    ctx_dict = json.loads(json.dumps(handler.ctx.to_dict()))
    resumed = workflow.run(ctx=Context.from_dict(workflow, ctx_dict))
    resumed.ctx.send_event(HumanResponseEvent(response="42"))
    events = [show(event) async for event in resumed.stream_events()]
    result = await resumed
    store = resumed.ctx.store
    return {"saved_running": ctx_dict["is_running"], "events": events, "result": result,
            "runs": [await store.get("ask_runs"), await store.get("complete_runs")]}


async def form_with_pauses():
    workflow = FormWorkflow()
    ctx_dict, asked, answers = None, [], {"first": "Ada", "last": "Lovelace"}
    handler = workflow.run()
    while True:
        pending = None
        async for event in handler.stream_events():
            if isinstance(event, AskName):
                asked.append(show(event))
                pending = event
                ctx_dict = json.loads(json.dumps(handler.ctx.to_dict()))
                await handler.cancel_run()
                break
        if pending is None:
            return {"asked": asked, "result": await handler}
        try:
            await handler
        except Exception:
            pass
        handler = workflow.run(ctx=Context.from_dict(workflow, ctx_dict))
        handler.ctx.send_event(Answer(field_name=pending.field_name, response=answers[pending.field_name]))


async def main():
    return {
        "streaming": await answer_while_streaming(),
        "pause_resume": await pause_and_resume(),
        "pause_resume_json": await pause_and_resume(JsonSerializer()),
        "typed_form": await form_with_pauses(),
        "saved_after_cancel": await saved_after_cancel(),
    }
