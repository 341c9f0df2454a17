"""Context: what a step sees of its run (store, events, stream) and what the caller sees of it.

``ctx.to_dict()`` saves it as plain data and ``Context.from_dict(workflow, data)`` restores it
(runtime.engine.snapshot): the state, and for a run still going its queued, in-progress and
collected events, which ``workflow.run(ctx=restored)`` picks up again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import ContextStateError
from .events import Event
from .retry import FIRST_ATTEMPT, RetryInfo
from .serializers import BaseSerializer, JsonSerializer
from .snapshot import Resumption, capture, restore, resumption_payload
from .store import StateStore

if TYPE_CHECKING:
    from .run import Run
    from .workflow import Workflow

StateT = TypeVar("StateT")
EventT = TypeVar("EventT", bound=Event)

# The step a worker task (or a thread it handed work to) is running; keys collect buffers.
current_step: contextvars.ContextVar[str] = contextvars.ContextVar("wfasync_current_step", default="")
# Set while a step runs a retried attempt (unset on the first attempt: nothing to tell).
current_retry: contextvars.ContextVar[RetryInfo | None] = contextvars.ContextVar("wfasync_current_retry", default=None)
# Set while a step handles an event whose chain went through a @catch_error handler: the
# recovery counts the events it sends inherit.
current_lineage: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar(
    "wfasync_current_lineage", default=None
)


class Context(Generic[StateT]):
    """A run's context. Steps get it by annotating a parameter ``ctx: Context``.

    Every method works from async steps and from plain ``def`` steps running in worker
    threads: events sent from a thread are handed to the loop thread-safely.
    Give the same Context to several runs (``wf.run(ctx=ctx)``) to carry the store over.
    """

    def __init__(
        self,
        workflow: Workflow,
        previous_context: dict[str, Any] | None = None,
        serializer: BaseSerializer | None = None,
    ) -> None:
        self._workflow = workflow
        self._store: StateStore | None = None
        self._run: Run | None = None
        # A saved run that the next workflow.run(ctx=self) picks up (set by from_dict).
        self._resume: Resumption | None = None
        self._serializer = serializer or JsonSerializer()
        if previous_context is not None:
            state, self._resume = restore(previous_context, workflow._plan(), self._serializer)
            self._store = StateStore(state)

    # -- saving --------------------------------------------------------------------------
    def to_dict(self, serializer: BaseSerializer | None = None, *, include_state: bool = True) -> dict[str, Any]:
        """The context as JSON-ready data: the state and, while a run is going, the events it
        has queued, in progress and collected. ``Context.from_dict`` restores it.

        ``serializer`` writes the state values and events (default: the context's, a
        JsonSerializer unless from_dict was given another). A value it cannot write raises
        ValueError naming the state key; PickleSerializer writes any picklable value.
        """
        chosen = serializer or self._serializer
        run = self._run
        if run is not None and not run.finished and threading.get_ident() != run.loop_thread:
            # A plain def step in a worker thread: read the run on its loop, between two callbacks.
            return _on_loop(run.loop, lambda: self.to_dict(chosen, include_state=include_state))
        state = self.store.to_dict(chosen) if include_state else {}
        plan = self._workflow._plan()
        if self._resume is not None:
            return resumption_payload(self._resume, plan, state, chosen)
        return capture(run, plan, state, chosen)

    @classmethod
    def from_dict(
        cls, workflow: Workflow, data: dict[str, Any], serializer: BaseSerializer | None = None
    ) -> Context[Any]:
        """Rebuild a context ``to_dict`` saved, for ``workflow``. Run it with
        ``workflow.run(ctx=restored)``: a run that was going when it was saved resumes where
        it was (send it the events it waits for), else a new run starts with that state.

        Raises ContextSerdeError when ``data`` is not a saved context of this workflow, or
        its values cannot be read with ``serializer`` (the one it was saved with).
        """
        return cls(workflow, previous_context=data, serializer=serializer)

    # -- state -------------------------------------------------------------------------
    @property
    def store(self) -> StateStore:
        """The state shared by the run's steps (``await ctx.store.get/set``)."""
        if self._store is None:
            self._store = StateStore(self._workflow.state_type)
        return self._store

    async def get(self, key: str, default: Any = Ellipsis) -> Any:
        """Older LlamaIndex spelling of ``await ctx.store.get(key, default)``."""
        return self.store.get_sync(key, default)

    async def set(self, key: str, value: Any) -> None:
        """Older LlamaIndex spelling of ``await ctx.store.set(key, value)``."""
        self.store.set_sync(key, value)

    def bind_run(self, run: Run) -> None:
        """The engine's seam: ``Workflow.run`` hands the context the run it serves from now on
        (which resumes the saved run, if the context was restored with one)."""
        self._run = run
        self._resume = None

    def saved_run(self) -> Resumption | None:
        """The engine's seam: the run a restored context holds, until a run resumes it."""
        return self._resume

    @property
    def is_running(self) -> bool:
        """Whether a run is going, or was going when this restored context was saved."""
        if self._resume is not None:
            return self._resume.is_running
        return self._run is not None and not self._run.finished

    def _live_run(self, what: str) -> Run:
        run = self._run
        if run is None:
            raise ContextStateError(f"ctx.{what}() needs a running workflow: call workflow.run(ctx=ctx) first")
        return run

    def retry_info(self) -> RetryInfo:
        """Where the running step stands in its retries: ``retry_number`` is 0 on the first
        attempt, then the previous failure's exception and time (see ``@step(retry_policy=...)``)."""
        if not current_step.get():
            raise ContextStateError("ctx.retry_info() describes the step that calls it: call it inside a step")
        return current_retry.get() or FIRST_ATTEMPT

    # -- events ------------------------------------------------------------------------
    def send_event(self, message: Event, step: str | None = None) -> None:
        """Send an event to the steps that accept it (or to ``step`` only).

        Raises WorkflowRuntimeError at once when no step accepts the event's type, or
        when ``step`` does not exist or does not accept it.
        """
        self._live_run("send_event").send(message, step)

    def write_event_to_stream(self, ev: Event | None) -> None:
        """Publish an event to ``handler.stream_events()``."""
        if ev is not None:
            self._live_run("write_event_to_stream").publish(ev)

    def collect_events(
        self, ev: Event, expected: list[type[Event]], buffer_id: str | None = None
    ) -> list[Event] | None:
        """Buffer ``ev`` until one event per entry of ``expected`` has arrived.

        Returns None while events are missing, then the events ordered as ``expected``
        (and empties the buffer). Events of types not (or no longer) expected are
        dropped. Buffers are per step, or per ``buffer_id``. With the same ``expected``
        list object each call is O(1), so collecting n events costs O(n).
        """
        key = (current_step.get(), buffer_id or "")
        return self._live_run("collect_events").collect(key, ev, expected)

    async def wait_for_event(
        self,
        event_type: type[EventT],
        waiter_event: Event | None = None,
        waiter_id: str | None = None,
        requirements: dict[str, Any] | None = None,
        timeout: float | None = 2000,
    ) -> EventT:
        """Wait inside a step for the next ``event_type`` whose fields match ``requirements``.

        ``waiter_event`` (e.g. an InputRequiredEvent) is written to the stream once the
        waiter is in place, so a caller answering it cannot be too early. A run resumed from
        a saved context runs the step again up to here without writing ``waiter_event``
        again (the caller saw it before the save), and takes an answer sent before it got here.
        """
        return await self._live_run("wait_for_event").wait_for(event_type, waiter_event, requirements, timeout, waiter_id)

    # -- caller side -------------------------------------------------------------------
    def stream_events(self) -> AsyncIterator[Event]:
        return self._live_run("stream_events").stream.events()

    async def running_steps(self) -> list[str]:
        """Names of the steps with an invocation in progress."""
        return self._live_run("running_steps").running_steps()


def _on_loop(loop: asyncio.AbstractEventLoop, fn: Any) -> Any:
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def call() -> None:
        try:
            done.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            done.set_exception(exc)

    loop.call_soon_threadsafe(call)
    return done.result()
