"""The event stream of one run: what ``handler.stream_events()`` yields."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from .errors import WorkflowRuntimeError
from .events import Event, StopEvent


class EventStream:
    """A single-consumer queue of published events, closed when the run ends.

    Written only on the loop thread (the run hands writes from other threads over with
    ``call_soon_threadsafe``); a consumer waits on one future, never polls.
    """

    __slots__ = ("_closed", "_consumed", "_items", "_loop", "_waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._consumed = False

    def put(self, ev: Event) -> None:
        if not self._closed:
            self._items.append(ev)
            self._wake()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def events(self) -> AsyncIterator[Event]:
        """Yield published events; end after the StopEvent (a run that fails, times out or is
        cancelled ends on a WorkflowFailedEvent, WorkflowTimedOutEvent or WorkflowCancelledEvent,
        which are StopEvents too) or when the run is aborted."""
        if self._consumed:
            raise WorkflowRuntimeError("the event stream of this run was already consumed")
        self._consumed = True
        items = self._items
        while True:
            while items:
                ev = items.popleft()
                yield ev
                if isinstance(ev, StopEvent):
                    return
            if self._closed:
                return
            self._waiter = self._loop.create_future()
            await self._waiter
