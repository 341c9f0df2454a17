"""A mixed load for the engine: many concurrent runs that succeed, fail, time out or are cancelled.

Shared by the reliability tests (about a thousand runs) and ``bench/soak_runtime.py`` (ten
thousand, in repeated batches). Every run has a known expected ending; :func:`run_batch`
checks each one and counts what is left behind on the loop afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from runtime import (
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowTimeoutError,
    step,
)

# How each run should end. The mix repeats every len(KINDS) runs.
KINDS = (
    "ok", "ok", "ok", "ok",
    "fail_sync", "fail_async",
    "timeout_async", "timeout_sync",
    "cancel", "cancel_run", "cancel_caller",
)
RUN_TIMEOUT = 0.5  # for the runs meant to time out; the others have no deadline
START_CHUNK = 20  # runs started per loop iteration: starting thousands at once would itself block


class Work(Event):
    i: int
    kind: str


class Crunched(Event):
    value: int
    kind: str


class Mixed(Workflow):
    """start (async) -> crunch (plain def, in a thread) -> finish (async)."""

    @step
    async def start(self, ev: StartEvent) -> Work:
        await asyncio.sleep(0)
        return Work(i=ev.i, kind=ev.kind)

    @step(num_workers=8)
    def crunch(self, ev: Work) -> Crunched:
        if ev.kind == "fail_sync":
            raise ValueError(f"sync step failed for run {ev.i}")
        if ev.kind == "timeout_sync":
            time.sleep(RUN_TIMEOUT + 0.1)  # in a worker thread: the loop stays free
        return Crunched(value=sum(range(ev.i % 100)) + ev.i, kind=ev.kind)

    @step(num_workers=8)
    async def finish(self, ev: Crunched) -> StopEvent:
        if ev.kind == "fail_async":
            raise KeyError(ev.value)
        if ev.kind in ("timeout_async", "cancel", "cancel_run", "cancel_caller"):
            await asyncio.sleep(60)  # ended by the deadline or by a cancel
        return StopEvent(result=ev.value)


def expected_value(i: int) -> int:
    return sum(range(i % 100)) + i


EXPECTED_ERROR: dict[str, type[BaseException]] = {
    "fail_sync": ValueError,
    "fail_async": KeyError,
    "timeout_async": WorkflowTimeoutError,
    "timeout_sync": WorkflowTimeoutError,
    "cancel": asyncio.CancelledError,
    "cancel_run": WorkflowCancelledByUser,
    "cancel_caller": asyncio.CancelledError,
}


@dataclass
class BatchResult:
    runs: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    wrong: list[str] = field(default_factory=list)  # runs that did not end as expected
    tasks_left: int = 0  # tasks on the loop besides the caller, after the batch
    left: list[str] = field(default_factory=list)  # a few of them, to say which
    seconds: float = 0.0


def _check(i: int, kind: str, outcome: Any, handler: Any) -> str | None:
    if kind == "ok":
        if outcome != expected_value(i):
            return f"run {i} ({kind}): expected {expected_value(i)}, got {outcome!r}"
        return None
    want = EXPECTED_ERROR[kind]
    if not isinstance(outcome, want):
        return f"run {i} ({kind}): expected {want.__name__}, got {outcome!r}"
    if not handler.done():
        return f"run {i} ({kind}): the handler is not done"
    return None


async def _wait(handler: Any) -> Any:
    return await handler


async def run_batch(n: int, *, detect_blocking: bool = False) -> BatchResult:
    """Start ``n`` runs at once, cancel the ones meant to be cancelled, wait for every one."""
    t0 = time.perf_counter()
    baseline = asyncio.all_tasks()  # the caller and whatever awaits it
    free = Mixed(timeout=None, detect_blocking=detect_blocking)
    timed = Mixed(timeout=RUN_TIMEOUT, detect_blocking=detect_blocking)
    runs: list[tuple[int, str, Any, Any]] = []  # (i, kind, handler, what to await)
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        handler = (timed if kind.startswith("timeout") else free).run(i=i, kind=kind)
        awaitable = asyncio.ensure_future(_wait(handler)) if kind == "cancel_caller" else handler
        runs.append((i, kind, handler, awaitable))
        if i % START_CHUNK == START_CHUNK - 1:
            await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    for _i, kind, handler, awaitable in runs:
        if kind == "cancel":
            handler.cancel()
        elif kind == "cancel_run":
            await handler.cancel_run()
        elif kind == "cancel_caller":
            awaitable.cancel()
    outcomes = await asyncio.gather(*(a for *_, a in runs), return_exceptions=True)
    result = BatchResult(runs=n)
    for (i, kind, handler, _), outcome in zip(runs, outcomes, strict=True):
        problem = _check(i, kind, outcome, handler)
        if problem:
            result.wrong.append(problem)
        result.outcomes["result" if kind == "ok" and problem is None else type(outcome).__name__] += 1
    del runs, outcomes
    # Let cancelled workers unwind: a cancelled task needs a loop turn or two to finish, more
    # on a busy machine. A leaked task would still be there after any wait.
    deadline = time.perf_counter() + 2.0
    while asyncio.all_tasks() - baseline and time.perf_counter() < deadline:
        await asyncio.sleep(0.001)
    left = asyncio.all_tasks() - baseline
    result.tasks_left = len(left)
    result.left = sorted(repr(t)[:200] for t in left)[:5]
    result.seconds = time.perf_counter() - t0
    return result


def wait_for_threads(allowed: set[int], timeout: float = 10.0) -> list[threading.Thread]:
    """Threads alive besides ``allowed`` (idents) once the stragglers had ``timeout`` to end."""
    deadline = time.monotonic() + timeout
    while True:
        extra = [t for t in threading.enumerate() if t.ident not in allowed and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


def live_executors() -> list[concurrent.futures.Executor]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, concurrent.futures.Executor)
            and not getattr(o, "_shutdown", False)]


def install_pool(loop: asyncio.AbstractEventLoop, workers: int = 16) -> concurrent.futures.ThreadPoolExecutor:
    """A default executor wide enough that the sleeping sync steps do not starve the others,
    its threads started now: starting a thread waits for it to run, which on a busy machine
    holds the loop long enough to be a (true) blocking report."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="soak")
    barrier = threading.Barrier(workers, timeout=30)
    for future in [pool.submit(barrier.wait) for _ in range(workers)]:
        future.result()
    loop.set_default_executor(pool)
    return pool
