"""Plain def steps run off the loop: threads (default pool or their own), processes, contextvars,
and events sent from a thread."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from runtime import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowRuntimeError,
    WorkflowValidationError,
    step,
)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


class Chunk(Event):
    i: int


class ChunkDone(Event):
    i: int
    thread: str


class Note(Event):
    text: str


def run(coro):  # a fresh loop per test, as a user's asyncio.run(main()) would have
    return asyncio.run(coro)


def run_flow(wf: Workflow, **kwargs):
    async def main():
        return await wf.run(**kwargs)

    return run(main())


class SeesContext(Workflow):
    @step
    def read(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=(request_id.get(), threading.get_ident()))


def test_a_sync_step_runs_in_a_thread_and_sees_the_callers_contextvars():
    async def main():
        request_id.set("req-42")
        value, thread = await SeesContext().run()
        return value, thread, threading.get_ident()

    value, step_thread, loop_thread = run(main())
    assert value == "req-42"
    assert step_thread != loop_thread


class SyncFanOut(Workflow):
    @step
    def spread(self, ctx: Context, ev: StartEvent) -> Chunk | None:
        ctx.store.set_sync("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(Chunk(i=i))
            ctx.write_event_to_stream(Note(text=f"sent {i}"))
        return None

    @step(num_workers=4)
    def work(self, ev: Chunk) -> ChunkDone:
        time.sleep(0.001)
        return ChunkDone(i=ev.i, thread=threading.current_thread().name)

    @step(num_workers=4)
    def gather(self, ctx: Context, ev: ChunkDone) -> StopEvent | None:
        done = ctx.collect_events(ev, [ChunkDone] * ctx.store.get_sync("n"))
        if done is None:
            return None
        return StopEvent(result=sorted(e.i for e in done))


def test_sync_steps_send_events_stream_and_collect_from_threads():
    async def main():
        handler = SyncFanOut().run(n=60)
        notes = [ev.text async for ev in handler.stream_events() if isinstance(ev, Note)]
        return notes, await handler

    notes, result = run(main())
    assert result == list(range(60))
    assert notes == [f"sent {i}" for i in range(60)]


class KeepsLoopFree(Workflow):
    @step
    def block(self, ctx: Context, ev: StartEvent) -> StopEvent:
        time.sleep(0.3)
        return StopEvent(result="slept")


def test_a_blocking_sync_step_leaves_the_loop_free():
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await KeepsLoopFree().run()
        task.cancel()
        return result, ticks

    result, ticks = run(main())
    assert result == "slept"
    assert ticks >= 15  # ~30 expected; the loop kept running while the step slept


pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="crunch")


class OwnPool(Workflow):
    @step(executor=pool)
    def crunch(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=(threading.current_thread().name, request_id.get()))


def test_a_sync_step_on_its_own_thread_pool():
    async def main():
        request_id.set("pooled")
        return await OwnPool().run()

    name, value = run(main())
    assert name.startswith("crunch") and value == "pooled"


class RaisesInThread(Workflow):
    @step
    def fail_here(self, ev: StartEvent) -> StopEvent:
        raise LookupError("from the thread")


def test_a_sync_step_exception_keeps_its_traceback():
    with pytest.raises(LookupError, match="from the thread") as info:
        run_flow(RaisesInThread())
    assert "fail_here" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]


processes = ProcessPoolExecutor(max_workers=1)


def square(x: int) -> int:
    return x * x


class Squared(Event):
    value: int
    pid: int


class InProcess(Workflow):
    factor = 3

    @step(executor=processes)
    def crunch(self, ev: StartEvent) -> Squared:
        return Squared(value=square(ev.x) * self.factor, pid=os.getpid())

    @step
    async def report(self, ev: Squared) -> StopEvent:
        return StopEvent(result=(ev.value, ev.pid))


def test_a_sync_step_on_a_process_pool():
    value, pid = run_flow(InProcess(), x=4)
    assert value == 48
    assert pid != os.getpid()


class Unpicklable(StartEvent):
    pass


class ProcessGetsALock(Workflow):
    @step(executor=processes)
    def crunch(self, ev: Unpicklable) -> StopEvent:
        return StopEvent()


def test_a_process_step_whose_input_cannot_be_pickled():
    with pytest.raises(WorkflowRuntimeError, match=r"step 'crunch' of ProcessGetsALock runs on a ProcessPoolExecutor, but the field 'lock' of the event Unpicklable \(_thread.lock\) cannot be pickled"):
        run_flow(ProcessGetsALock(), start_event=Unpicklable(lock=threading.Lock()))


class Delegating(Executor):
    """Neither a thread pool nor a process pool by type, as loky's or mpi4py's executors are."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn, /, *args, **kwargs):
        return self.inner.submit(fn, *args, **kwargs)


class OnAnyExecutor(Workflow):
    factor = 2

    def __init__(self, offset: int = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.offset = offset

    @step
    def crunch(self, *, ev: StartEvent) -> Squared:  # a keyword-only event parameter travels too
        return Squared(value=square(ev.x) * self.factor + self.offset, pid=os.getpid())

    @step
    async def report(self, ev: Squared) -> StopEvent:
        return StopEvent(result=(ev.value, ev.pid))


def test_the_workflow_executor_runs_def_steps_in_another_process_through_any_executor():
    value, pid = run_flow(OnAnyExecutor(offset=1, executor=Delegating(processes)), x=4)
    assert value == 33  # 4 * 4 * 2 + 1: the instance's attributes travelled with the step
    assert pid != os.getpid()


def test_the_workflow_executor_may_be_a_thread_pool_whose_steps_keep_their_context():
    async def main():
        request_id.set("pooled-by-default")
        return await SeesContext(executor=pool).run()

    value, thread = run(main())
    assert value == "pooled-by-default"
    assert thread in {t.ident for t in threading.enumerate() if t.name.startswith("crunch")}


def test_an_executor_of_unknown_kind_is_refused_a_context_step():
    class Local(Workflow):
        @step(executor=Delegating(pool))
        def produce(self, ctx: Context, ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(
        WorkflowValidationError,
        match=r"step 'produce' of Local runs on Delegating \(not a thread pool, so it may run the step in another process\) and cannot take a Context",
    ):
        Local().validate()


def test_the_workflow_executor_must_be_an_executor():
    with pytest.raises(WorkflowValidationError, match=r"executor must be a concurrent.futures Executor .* got str"):
        SeesContext(executor="threads")  # type: ignore[arg-type]


def test_run_without_a_loop_explains_what_to_do():
    with pytest.raises(WorkflowRuntimeError, match="needs a running event loop"):
        SeesContext().run()


def teardown_module():
    pool.shutdown()
    processes.shutdown()


class Tick(Event):
    n: int


class OrderedSends(Workflow):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.seen: list[int] = []

    @step
    def produce(self, ctx: Context, ev: StartEvent) -> Tick:
        for n in range(5):
            ctx.send_event(Tick(n=n))
        return Tick(n=5)  # the return value arrives after everything the step sent

    @step(num_workers=1)
    async def consume(self, ev: Tick) -> StopEvent | None:
        self.seen.append(ev.n)
        return StopEvent(result=list(self.seen)) if ev.n == 5 else None


def test_events_sent_from_a_thread_arrive_in_order_and_before_the_return_value():
    assert run_flow(OrderedSends()) == [0, 1, 2, 3, 4, 5]


class FreeHost(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Chunk:
        return Chunk(i=ev.x)


@step(workflow=FreeHost, executor=processes)
def free_crunch(ev: Chunk) -> StopEvent:
    return StopEvent(result=(square(ev.i), os.getpid()))


def test_a_free_function_step_on_a_process_pool():
    value, pid = run_flow(FreeHost(), x=7)
    assert value == 49 and pid != os.getpid()


def test_a_run_on_a_loop_in_another_thread():
    outcome: dict[str, object] = {}

    def serve() -> None:
        async def main():
            request_id.set("threaded")
            return await SyncFanOut().run(n=10), await SeesContext().run()

        outcome["result"] = asyncio.run(main())

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(10)
    fanned, (value, _) = outcome["result"]  # type: ignore[misc]
    assert fanned == list(range(10)) and value == "threaded"


def test_runs_on_uvloop():
    uvloop = pytest.importorskip("uvloop")

    async def main():
        request_id.set("uv")
        return await SyncFanOut().run(n=20), await SeesContext().run()

    loop = uvloop.new_event_loop()
    try:
        fanned, (value, _) = loop.run_until_complete(main())
    finally:
        loop.close()
    assert fanned == list(range(20)) and value == "uv"
