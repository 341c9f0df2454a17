"""Plain def steps on a real Dask cluster: two worker processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import threading
import traceback
import uuid

import pytest

distributed = pytest.importorskip("distributed")

from dask_flows import (  # noqa: E402
    CrunchOnTheCluster,
    Fails,
    FanOut,
    HoldsAConnection,
    SendsFromADefStep,
    WaitsForRelease,
)

from runtime import (  # noqa: E402
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
    WorkflowValidationError,
    step,
)


# Dask's own event loops (in its client and cluster threads) block now and then while the
# cluster starts and stops: not what these tests are about.
pytestmark = pytest.mark.wfasync_allow_blocking


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def worker_pids(client):
    return set(client.run(os.getpid).values())


@pytest.fixture
def executor(client):
    return client.get_executor()


def scheduler_task_count(client) -> int:
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def steps_the_scheduler_saw(client) -> set[str]:
    """Task keys start with '<Workflow>.<step>': the prefixes of every task ever submitted."""
    return client.run_on_scheduler(lambda dask_scheduler: set(dask_scheduler.task_prefixes))


def wait_until_the_scheduler_is_idle(client, seconds: float = 60.0) -> int:
    """The scheduler forgets a task once no client wants it any more: the sign that the
    engine cancelled it. Returns the tasks left when the scheduler got there, or gave up."""

    async def idle(dask_scheduler, seconds):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while dask_scheduler.tasks and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return len(dask_scheduler.tasks)

    return client.run_on_scheduler(idle, seconds=seconds)


def test_the_step_runs_in_a_worker_process(client, executor, worker_pids):
    async def main():
        return await CrunchOnTheCluster(label="from-the-caller", executor=executor).run()

    step_pid, label, report_pid = asyncio.run(main())
    assert step_pid in worker_pids
    assert report_pid == os.getpid()  # the async step stayed on the caller's loop
    assert label == "from-the-caller"  # the workflow's attributes travelled with the step
    assert "CrunchOnTheCluster.crunch" in steps_the_scheduler_saw(client)  # the task is named for its step


def test_a_step_given_the_dask_executor_in_its_decorator(executor, worker_pids):
    # The shape a new user writes first: a workflow defined where the client is at hand.
    class Done(Event):
        pid: int

    class Local(Workflow):
        @step(executor=executor)
        def crunch(self, ev: StartEvent) -> Done:
            return Done(pid=os.getpid())

        @step
        async def finish(self, ev: Done) -> StopEvent:
            return StopEvent(result=(type(ev) is Done, ev.pid))

    async def main():
        return await Local(timeout=60).run()

    routed_as_sent, pid = asyncio.run(main())
    assert routed_as_sent  # the event came back as the very class the steps accept
    assert pid in worker_pids


def test_an_asynchronous_client_on_the_runs_own_loop(client, worker_pids):
    async def main():
        async with distributed.Client(client.scheduler.address, asynchronous=True) as on_this_loop:
            flow = CrunchOnTheCluster(label="async client", executor=on_this_loop.get_executor())
            return await flow.run()

    step_pid, label, _ = asyncio.run(main())
    assert step_pid in worker_pids
    assert label == "async client"


def test_a_fan_out_of_cpu_bound_events_spreads_over_the_workers(executor, worker_pids):
    async def main():
        return await FanOut(timeout=120, executor=executor).run(parts=12, rounds=200_000)

    done = asyncio.run(main())
    assert [index for index, _ in done] == list(range(12))
    assert {pid for _, pid in done} == worker_pids


def test_an_error_in_a_remote_step_reaches_the_caller_naming_the_step(client, executor):
    async def main():
        return await Fails(executor=executor).run(x=3)

    with pytest.raises(ValueError, match="bad input 3") as info:
        asyncio.run(main())
    assert "(raised in step 'crunch' of Fails)" in info.value.__notes__
    assert "crunch" in [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    # The error is still alive here, yet it holds no Dask future: the failed task is gone.
    assert wait_until_the_scheduler_is_idle(client) == 0


def test_an_attribute_that_cannot_travel_is_named_before_anything_is_sent(client, executor):
    async def main():
        return await HoldsAConnection(executor=executor).run()

    with pytest.raises(WorkflowRuntimeError) as info:
        asyncio.run(main())
    message = str(info.value)
    assert "step 'crunch' of HoldsAConnection runs on a Dask cluster" in message
    assert "the workflow attribute 'self.conn' (sqlite3.Connection) cannot be pickled" in message
    assert "HoldsAConnection.crunch" not in steps_the_scheduler_saw(client)


def test_an_event_field_that_cannot_travel_is_named(client, executor):
    async def main():
        return await CrunchOnTheCluster(executor=executor, workflow_name="LockedOut").run(lock=threading.Lock())

    with pytest.raises(WorkflowRuntimeError, match=r"the field 'lock' of the event StartEvent \(_thread.lock\) cannot be pickled"):
        asyncio.run(main())
    assert "LockedOut.crunch" not in steps_the_scheduler_saw(client)


def test_a_timeout_fails_the_run_while_the_remote_step_still_runs_and_cancels_it(client, executor):
    started, release = uuid.uuid4().hex, uuid.uuid4().hex

    async def main():
        handler = WaitsForRelease(timeout=1, executor=executor).run(started=started, release=release)
        try:
            # Generous: the run must fail at its 1 s deadline, not when the step returns.
            await asyncio.wait_for(handler, 60)
        finally:
            await asyncio.to_thread(distributed.Event(release, client=client).set)

    with pytest.raises(WorkflowTimeoutError, match=r"WaitsForRelease timed out after 1 s; steps still running: 'hold'") as info:
        asyncio.run(main())
    assert info.value.steps == ("hold",)
    assert wait_until_the_scheduler_is_idle(client) == 0


def test_cancelling_a_run_cancels_its_remote_step(client, executor):
    started, release = uuid.uuid4().hex, uuid.uuid4().hex

    async def main():
        handler = WaitsForRelease(timeout=None, executor=executor).run(started=started, release=release)
        await asyncio.to_thread(distributed.Event(started, client=client).wait, 60)
        assert await asyncio.to_thread(scheduler_task_count, client) == 1
        await handler.cancel_run()
        with pytest.raises(WorkflowCancelledByUser):
            await handler
        count = await asyncio.to_thread(wait_until_the_scheduler_is_idle, client)
        await asyncio.to_thread(distributed.Event(release, client=client).set)
        return count

    assert asyncio.run(main()) == 0


def test_a_step_bound_to_the_cluster_cannot_take_a_context(executor):
    class Local(Workflow):
        @step(executor=executor)
        def produce(self, ctx: Context, ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(
        WorkflowValidationError,
        match=r"step 'produce' of Local runs on a Dask cluster \(ClientExecutor\) and cannot take a Context",
    ):
        Local().validate()


def test_the_workflow_default_executor_refuses_a_def_step_that_takes_a_context(executor):
    async def main():
        return await SendsFromADefStep(executor=executor).run()

    with pytest.raises(WorkflowValidationError, match=r"step 'produce' of SendsFromADefStep .* cannot take a Context"):
        asyncio.run(main())


def test_the_client_itself_is_refused_with_the_call_that_gives_its_executor(client):
    with pytest.raises(WorkflowValidationError, match=r"got Client; for a Dask cluster pass client.get_executor\(\), not the Client"):

        class Local(Workflow):
            @step(executor=client)
            def crunch(self, ev: StartEvent) -> StopEvent:
                return StopEvent()
