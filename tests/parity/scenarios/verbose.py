"""Workflow(verbose=True) prints each event added, each step start and completion, the result."""

from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class Draft(Event):
    text: str


class Review(Event):
    score: int


class Editor(Workflow):
    @step
    async def draft(self, ctx: Context, ev: StartEvent) -> Draft:
        return Draft(text=f"about {ev.topic}")

    @step
    async def review(self, ev: Draft) -> Review:
        return Review(score=len(ev.text))

    @step
    async def publish(self, ev: Review) -> StopEvent | None:
        return StopEvent(result={"score": ev.score, "long": "x" * 60})


class Quiet(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="quiet")


async def main():
    loud = await Editor(timeout=10, verbose=True).run(topic="tides")
    print("---")
    quiet = await Quiet(timeout=10).run()
    return [loud["score"], quiet]
