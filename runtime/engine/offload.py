"""Running plain ``def`` steps off the event loop: in a thread pool, or in a process pool.

A thread step runs inside a copy of the worker task's contextvars (what
``asyncio.to_thread`` does), so context variables set by the caller of
``wf.run()`` are visible in the thread. A process step cannot receive a live
Context; it gets the workflow instance (for a method step) and the event, both
pickled, and returns the next event by value.
"""

from __future__ import annotations

import asyncio
import contextvars
import pickle
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from .errors import WorkflowRuntimeError


def in_thread(loop: asyncio.AbstractEventLoop, executor: Executor | None, fn: Callable[[Any], Any], ev: Any) -> asyncio.Future[Any]:
    """Run ``fn(ev)`` in ``executor`` (None: the loop's default pool) with the caller's contextvars."""
    return loop.run_in_executor(executor, contextvars.copy_context().run, fn, ev)


def call_pickled(payload: bytes) -> Any:
    """Process-side entry point: unpickle (function, instance-or-None, event) and call it."""
    func, instance, ev = pickle.loads(payload)
    return func(ev) if instance is None else func(instance, ev)


def _pickle_call(func: Callable[..., Any], instance: Any, ev: Any) -> bytes:
    return pickle.dumps((func, instance, ev), protocol=pickle.HIGHEST_PROTOCOL)


async def in_process(
    loop: asyncio.AbstractEventLoop,
    executor: Executor,
    func: Callable[..., Any],
    instance: Any,
    ev: Any,
    where: str,
) -> Any:
    """Run a process step: pickle its inputs in a thread (big events must not stall the
    loop), ship them to ``executor``, and return what the step returned."""
    try:
        payload = await loop.run_in_executor(None, _pickle_call, func, instance, ev)
    except Exception as exc:
        what = f"the event {type(ev).__name__}"
        if instance is not None:
            what += f" or the workflow instance ({type(instance).__name__})"
        raise WorkflowRuntimeError(
            f"{where} runs on a ProcessPoolExecutor, but {what} could not be pickled: {exc}. "
            "Everything a process step receives must be picklable: keep clients, locks and "
            "open files off the event and the workflow instance"
        ) from exc
    return await loop.run_in_executor(executor, call_pickled, payload)
