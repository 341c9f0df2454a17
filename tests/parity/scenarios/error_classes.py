"""The error classes, under the names llama-index-workflows gives them, raised where it raises them."""

from workflows import Context, Workflow, step
from workflows.errors import (
    ContextSerdeError,
    ContextStateError,
    WorkflowCancelledByUser,
    WorkflowConfigurationError,
    WorkflowDone,
    WorkflowRuntimeError,
    WorkflowStepDoesNotExistError,
    WorkflowTimeoutError,
    WorkflowValidationError,
)
from workflows.events import Event, StartEvent, StopEvent


class Orphan(Event):
    pass


class NoStart(Workflow):
    @step
    async def s(self, ev: Orphan) -> StopEvent:
        return StopEvent()


class NoStop(Workflow):
    @step
    async def s(self, ev: StartEvent) -> Orphan:
        return Orphan()


class Fine(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="ok")


class ReturnsJunk(Workflow):
    @step
    async def s(self, ev: StartEvent) -> StopEvent:
        return "not an event"


def raised(action):
    try:
        action()
    except Exception as exc:
        return type(exc).__name__
    return "nothing"


async def main():
    classes = [ContextSerdeError, ContextStateError, WorkflowCancelledByUser, WorkflowConfigurationError,
               WorkflowDone, WorkflowRuntimeError, WorkflowStepDoesNotExistError, WorkflowTimeoutError,
               WorkflowValidationError]
    record = {"exceptions": [issubclass(c, Exception) for c in classes]}
    record["no_start"] = raised(lambda: NoStart().run())
    record["no_stop"] = raised(lambda: NoStop().run())
    record["no_start_is_config"] = raised(lambda: NoStart().run()) == WorkflowConfigurationError.__name__
    ctx = Context(Fine())
    record["send_before_run"] = raised(lambda: ctx.send_event(Orphan()))
    try:
        await ReturnsJunk(timeout=5).run()
    except WorkflowRuntimeError as exc:
        record["junk"] = type(exc).__name__
    return record
