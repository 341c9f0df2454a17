"""WorkflowHandler: the caller's side of a run (await it, stream it, cancel it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .events import Event, StopEvent, WorkflowFailedEvent, WorkflowTimedOutEvent

if TYPE_CHECKING:
    from runtime.timeline.model import Timeline

    from .context import Context
    from .run import Run


class WorkflowHandler(asyncio.Future):  # type: ignore[type-arg]
    """A future for the run's result, plus its event stream and context.

    ``await handler`` gives ``StopEvent.result`` (or the StopEvent itself when the
    workflow uses a StopEvent subclass) and re-raises a step's exception with its
    traceback. ``handler.cancel()`` stops the run at once (awaiting then raises
    CancelledError); ``await handler.cancel_run()`` ends it with WorkflowCancelledByUser.

    A run that fails, times out or is cancelled publishes a WorkflowFailedEvent,
    WorkflowTimedOutEvent or WorkflowCancelledEvent as the last event of its stream; the
    stream ends normally and awaiting the handler raises the error.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, ctx: Context, run_id: str, run: Run) -> None:
        super().__init__(loop=loop)
        self.ctx = ctx
        self.run_id = run_id
        self._run = run

    # -- caller API ----------------------------------------------------------------------
    def cancel(self, msg: Any = None) -> bool:
        if not self.done():
            self._run.abort()
        return super().cancel(msg=msg)

    async def cancel_run(self, *, timeout: float | None = 5.0) -> None:
        """End the run gracefully: its stream ends on a WorkflowCancelledEvent and awaiting the
        handler raises WorkflowCancelledByUser. Returns once the steps that were running have
        unwound (their ``finally`` blocks ran), or after ``timeout`` seconds if they take longer."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
            raise ValueError(f"cancel_run(timeout=...) takes a number of seconds >= 0 or None, got {timeout!r}")
        run = self._run
        if not run.cancel_by_user():
            return
        self.exception()  # retrieved: no "exception was never retrieved" log for a cancel
        unwinding = [task for task in run.stopping if not task.done()]
        if unwinding:
            await asyncio.wait(unwinding, timeout=timeout)

    def stream_events(self, expose_internal: bool = False) -> AsyncIterator[Event]:
        """Yield the events steps publish (and InputRequiredEvents), then the StopEvent, or
        the event saying why the run ended early; then ``await handler`` gives the outcome.

        ``expose_internal=True`` adds the engine's StepStateChanged events, from the moment this
        is called: call it before awaiting anything else, as the peer's WorkflowTestRunner does.
        """
        if expose_internal:
            self._run.internal = True
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        async for ev in self._run.stream.events():
            if isinstance(ev, (WorkflowFailedEvent, WorkflowTimedOutEvent)) and self.done():
                self.exception()  # the caller saw why: no "exception was never retrieved" log
            yield ev

    async def send_event(self, event: Event, step: str | None = None) -> None:
        """Send an event into the run (e.g. a HumanResponseEvent)."""
        self.ctx.send_event(event, step)

    def get_stop_event(self) -> StopEvent | None:
        return self._run.stop_event

    async def stop_event_result(self) -> StopEvent | None:
        await self
        return self._run.stop_event

    def timeline(self) -> Timeline:
        """What the run did so far, on one clock: a span per step execution (step, worker,
        thread or process, events in and out, outcome) and a span per blocked stretch of the
        loop (rule code, line, advice, stack) when a blocking detector watched it.

        Needs ``Workflow(trace=True)`` or ``detect_blocking``; blocked spans come from the
        run's detector (``detect_blocking=True``, which shares a detector already on the loop).
        """
        trace = self._run.trace
        if trace is None:
            from .errors import WorkflowRuntimeError

            raise WorkflowRuntimeError(
                "this run recorded no timeline: create the workflow with trace=True "
                "(or detect_blocking=True) to record one"
            )
        return trace.timeline()

    def save_timeline(self, path: str | os.PathLike[str]) -> Path:
        """Write the run's timeline to ``path``: an HTML page (``.html``, one self-contained
        file) or the data as JSON (``.json``, which ``wfasync timeline`` draws later).
        Returns the path written."""
        from runtime.timeline.save import save_timeline

        return save_timeline(self.timeline(), path)

    def is_done(self) -> bool:
        return self.done()

    def __repr__(self) -> str:
        state = "running" if not self.done() else ("cancelled" if self.cancelled() else "done")
        return f"<WorkflowHandler {self._run.name} run_id={self.run_id} {state}>"
