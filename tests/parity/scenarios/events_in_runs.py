"""Typed start and stop events in runs, and streamed events sent on as JSON."""

from pydantic import Field

from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class Topic(StartEvent):
    topic: str
    words: int = 3


class Essay(StopEvent):
    title: str
    body: str = Field(default="")


class Progress(Event):
    step_name: str
    done: float


class Outline(Event):
    points: list[str]


class Writer(Workflow):
    @step
    async def outline(self, ctx: Context, ev: Topic) -> Outline:
        ctx.write_event_to_stream(Progress(step_name="outline", done=0.5))
        return Outline(points=[f"{ev.topic} {i}" for i in range(ev.words)])

    @step
    async def write(self, ctx: Context, ev: Outline) -> Essay:
        ctx.write_event_to_stream(Progress(step_name="write", done=1))
        return Essay(title=ev.points[0], body="; ".join(ev.points))


class Plain(Workflow):
    @step
    async def echo(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result={"got": ev.get("message"), "keys": sorted(ev.keys())})


async def main():
    handler = Writer(timeout=10).run(topic="sea", words=2)
    streamed = [ev.model_dump_json() async for ev in handler.stream_events()]
    essay = await handler
    by_event = await Writer(timeout=10).run(start_event=Topic(topic="wind"))
    bad = None
    try:
        Writer(timeout=10).run(words=2)
    except Exception as exc:  # the start event cannot be built without its required field
        bad = type(exc).__name__
    return {
        "streamed": streamed,
        "essay": [type(essay).__name__, essay.title, essay.body, essay.model_dump()],
        "by_event": by_event.body,
        "missing_field": bad,
        "plain": await Plain(timeout=10).run(message="hello", lang="en"),
    }
