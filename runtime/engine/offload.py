"""Running plain ``def`` steps off the event loop: in a thread, or in another process.

A thread step runs inside a copy of the worker task's contextvars (what
``asyncio.to_thread`` does), so context variables set by the caller of
``wf.run()`` are visible in the thread. A step given any other executor (a process
pool, a Dask cluster, ...) cannot receive a live Context; it gets the workflow's
attributes and the event, pickled, and returns the next event by value.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from . import executors
from .errors import WorkflowRuntimeError
from .payload import PayloadError, call_packed, pack


def in_thread(loop: asyncio.AbstractEventLoop, executor: Executor | None, fn: Callable[[Any], Any], ev: Any) -> asyncio.Future[Any]:
    """Run ``fn(ev)`` in ``executor`` (None: the loop's default pool) with the caller's contextvars."""
    return loop.run_in_executor(executor, contextvars.copy_context().run, fn, ev)


async def elsewhere(
    loop: asyncio.AbstractEventLoop,
    executor: Executor,
    func: Callable[..., Any],
    instance: Any,
    keyword: str | None,
    ev: Any,
    where: str,
    label: str,
) -> Any:
    """Run a step on an executor that may be another process, and return what it returned.

    The call is pickled in a thread (a big event must not stall the loop) and only then
    submitted, so a value that cannot travel fails the run before anything is sent.
    """
    dumps = executors.dumps_for(executor)
    try:
        payload = await loop.run_in_executor(None, pack, dumps, func, instance, keyword, ev)
    except PayloadError as exc:
        raise WorkflowRuntimeError(
            f"{where} runs on {executors.describe(executor)}, but {exc}: {exc.advice}"
        ) from exc.__cause__
    return await _outcome(loop, executors.submit(executor, call_packed, payload, label))


async def _outcome(loop: asyncio.AbstractEventLoop, future: Future[Any]) -> Any:
    """Await a concurrent future; if the wait is cancelled, cancel the future off the loop.

    ``asyncio.wrap_future`` would cancel it on the loop thread, and cancelling a Dask
    future waits for the scheduler's answer: a timeout would then block the loop.
    """
    waiter = loop.create_future()

    def on_done(done: Future[Any]) -> None:
        try:
            loop.call_soon_threadsafe(_copy_outcome, done, waiter)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    future.add_done_callback(on_done)
    try:
        return await waiter
    except asyncio.CancelledError:
        if not future.done():
            try:
                loop.run_in_executor(None, _cancel_quietly, future)
            except RuntimeError:  # the loop's pool is shut down (the loop is closing)
                _cancel_quietly(future)
        raise
    finally:
        # A step's error keeps this frame in its traceback: drop the future, or a Dask
        # cluster keeps the failed task (and its data) for as long as the error is kept.
        del future


def _cancel_quietly(future: Future[Any]) -> None:
    # The run already ended with its own error; a client that cannot reach its scheduler
    # any more must not add a second one that nobody would read.
    try:
        future.cancel()
    except Exception:  # noqa: BLE001, S110 - see above
        pass


def _copy_outcome(done: Future[Any], waiter: asyncio.Future[Any]) -> None:
    if waiter.done():
        return
    if done.cancelled():
        waiter.cancel()
        return
    error = done.exception()
    if error is not None:
        waiter.set_exception(executors.as_the_step_raised(error))
    else:
        waiter.set_result(done.result())
