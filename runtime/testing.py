"""Testing helpers with the names of llama-index-workflows' ``workflows.testing``:
``WorkflowTestRunner(wf).run(...)`` runs a workflow to its end and returns what it streamed.

    from runtime.testing import WorkflowTestRunner

    result = await WorkflowTestRunner(MyFlow()).run(start_event=StartEvent(topic="x"))
    assert result.event_types[Progress] == 3 and result.result == "done"
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .engine.context import Context
from .engine.events import Event, EventType, StartEvent
from .engine.workflow import Workflow

__all__ = ["WorkflowTestResult", "WorkflowTestRunner"]


@dataclass
class WorkflowTestResult:
    """What one run streamed and returned.

    Attributes:
        collected: the streamed events, in order (the StopEvent last).
        event_types: how many of each event type ``collected`` holds.
        result: what awaiting the run gave.
        ctx: the run's context (its store, for a next run).
    """

    collected: list[Event]
    event_types: dict[EventType, int]
    result: Any
    ctx: Context


class WorkflowTestRunner:
    """Runs a workflow end to end and collects the events it streams."""

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    async def run(
        self,
        start_event: StartEvent | None = None,
        ctx: Context | None = None,
        expose_internal: bool = True,
        exclude_events: list[EventType] | None = None,
    ) -> WorkflowTestResult:
        """Run the workflow with ``start_event`` (default: a bare StartEvent) and collect what it
        streams: with ``expose_internal`` (the default) the StepStateChanged events too, less the
        types listed in ``exclude_events`` (exact types). Awaiting the run's outcome re-raises its error.
        """
        handler = self._workflow.run(start_event=start_event or StartEvent(), ctx=ctx)
        collected: list[Event] = []
        async for event in handler.stream_events(expose_internal=expose_internal):
            if exclude_events and type(event) in exclude_events:
                continue
            collected.append(event)
        result = await handler
        return WorkflowTestResult(
            collected=collected,
            event_types=dict(Counter(type(ev) for ev in collected)),
            result=result,
            ctx=handler.ctx,
        )
