"""Where a plain ``def`` step runs, read from the executor it is given.

A ``ThreadPoolExecutor`` (or none: the loop's default pool) runs the step in this
process, where it can use the run's Context. Every other ``concurrent.futures.Executor``
(a ``ProcessPoolExecutor``, Dask's ``client.get_executor()``, loky, mpi4py, one of your
own) is treated as running the step somewhere else: the call is pickled, which any
executor accepts, and nothing that lives only on this event loop is handed to it.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any


def runs_in_this_process(executor: Executor | None) -> bool:
    """True for the loop's default pool and thread pools: the step may take a Context."""
    return executor is None or isinstance(executor, ThreadPoolExecutor)


def is_dask(executor: Executor | None) -> bool:
    """True for ``distributed.Client.get_executor()`` (read without importing distributed)."""
    module = sys.modules.get("distributed.cfexecutor")
    return module is not None and isinstance(executor, module.ClientExecutor)


def describe(executor: Executor) -> str:
    """How messages name where a step runs: 'a Dask cluster (ClientExecutor)', ..."""
    if is_dask(executor):
        return "a Dask cluster (ClientExecutor)"
    if isinstance(executor, ProcessPoolExecutor):
        return "a ProcessPoolExecutor"
    return f"{type(executor).__name__} (not a thread pool, so it may run the step in another process)"


def dumps_for(executor: Executor) -> Callable[[Any], bytes]:
    """The pickler whose output ``executor``'s workers can read.

    Dask's workers unpickle with cloudpickle, which also carries classes and functions
    of ``__main__`` or of a function body by value; other executors get the standard
    pickle, which their workers read without any third-party module.
    """
    if is_dask(executor):
        import cloudpickle  # a dependency of distributed, so present when its executor is

        return cloudpickle.dumps
    return _dumps


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def submit(executor: Executor, fn: Callable[[bytes], Any], payload: bytes, label: str) -> Future[Any]:
    """Hand ``fn(payload)`` to ``executor``.

    On Dask the task key starts with the step's label, so the dashboard and the
    scheduler's logs name the step, and ends with a unique token: two calls with equal
    events are two tasks, and cancelling one never cancels the other (Dask would
    otherwise merge calls whose arguments hash alike).
    """
    if is_dask(executor):
        from uuid import uuid4

        return executor.submit(fn, payload, key=f"{label}-{uuid4().hex}")
    return executor.submit(fn, payload)


def as_the_step_raised(error: BaseException) -> BaseException:
    """A remote step's error without the frame Dask's executor re-raised it from.

    That frame holds the Dask future, and the client holds the error: a cycle that keeps
    the failed task on the cluster until the client closes. Without it the task goes as
    soon as the engine lets go of the future, and the traceback starts at the step.
    """
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") == "distributed.cfexecutor":
        tb = tb.tb_next
    return error.with_traceback(tb)
