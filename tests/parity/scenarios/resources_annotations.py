"""Resources named by string annotations (``from __future__ import annotations``): module-level
and local factories and configs, free-function steps, catch_error handlers taking resources."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel

from workflows import Context, Workflow, catch_error, step
from workflows.events import Event, StartEvent, StepFailedEvent, StopEvent
from workflows.resource import Resource, ResourceConfig


class Settings(BaseModel):
    greeting: str


class Log:
    def __init__(self):
        self.lines = []


def get_log() -> Log:
    return Log()


class Greeted(Event):
    text: str


def build(path):
    def get_greeter(settings: Annotated[Settings, ResourceConfig(config_file=path)]) -> str:
        return settings.greeting.upper()

    class Flow(Workflow):
        @step
        async def greet(
            self,
            ctx: Context,
            ev: StartEvent,
            greeter: Annotated[str, Resource(get_greeter)],
            log: Annotated[Log, Resource(get_log)],
        ) -> Greeted:
            log.lines.append("greet")
            if ev.get("fail"):
                raise RuntimeError("no voice")
            return Greeted(text=f"{greeter} {ev.get('who')}")

        @catch_error
        async def recover(self, ev: StepFailedEvent, log: Annotated[Log, Resource(get_log)]) -> StopEvent:
            log.lines.append("recover")
            return StopEvent(result={"recovered": ev.step_name, "log": list(log.lines)})

    @step(workflow=Flow)
    async def finish(ev: Greeted, log: Annotated[Log, Resource(get_log)]) -> StopEvent:
        log.lines.append("finish")
        return StopEvent(result={"text": ev.text, "log": list(log.lines)})

    return Flow


async def main():
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "settings.json")
        Path(path).write_text(json.dumps({"greeting": "hello"}))
        Flow = build(path)
        flow = Flow(timeout=10)
        return {
            "first": await flow.run(who="Ada"),
            "second": await flow.run(who="Bob"),
            "failed": await Flow(timeout=10).run(fail=True),
        }
