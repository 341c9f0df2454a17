"""Workflows that the Dask tests run on a cluster. Kept apart from the test module so a
worker process that imports them to unpickle a step loads nothing but these classes."""

from __future__ import annotations

import os
import socket

from runtime import Context, Event, StartEvent, StopEvent, Workflow, step


def burn(rounds: int) -> int:
    """Pure-Python CPU work: holds the GIL the whole time, as real number crunching does."""
    total = 0
    for i in range(rounds):
        total = (total + i * i) % 1_000_003
    return total


class Part(Event):
    index: int
    rounds: int


class PartDone(Event):
    index: int
    pid: int
    total: int


class Crunched(Event):
    pid: int
    label: str


class CrunchOnTheCluster(Workflow):
    """One def step; it runs wherever the workflow's default executor sends it."""

    def __init__(self, label: str = "unset", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.label = label

    @step
    def crunch(self, ev: StartEvent) -> Crunched:
        burn(10_000)
        return Crunched(pid=os.getpid(), label=self.label)

    @step
    async def report(self, ev: Crunched) -> StopEvent:
        return StopEvent(result=(ev.pid, ev.label, os.getpid()))


class FanOut(Workflow):
    """N CPU-bound parts sent by an async step, crunched by a def step, gathered again."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        await ctx.store.set("parts", ev.parts)
        for index in range(ev.parts):
            ctx.send_event(Part(index=index, rounds=ev.rounds))
        return None

    @step(num_workers=16)
    def crunch(self, ev: Part) -> PartDone:
        return PartDone(index=ev.index, pid=os.getpid(), total=burn(ev.rounds))

    @step
    async def gather(self, ctx: Context, ev: PartDone) -> StopEvent | None:
        parts = await ctx.store.get("parts")
        done = ctx.collect_events(ev, [PartDone] * parts)
        if done is None:
            return None
        return StopEvent(result=sorted((d.index, d.pid) for d in done))


class Fails(Workflow):
    @step
    def crunch(self, ev: StartEvent) -> StopEvent:
        raise ValueError(f"bad input {ev.x!r} on host {socket.gethostname()}")


class HoldsAConnection(Workflow):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        import sqlite3

        self.rows = [1, 2, 3]
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)

    @step
    def crunch(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=sum(self.rows))


class WaitsForRelease(Workflow):
    """Its def step blocks on the cluster until the test sets a Dask Event."""

    @step
    def hold(self, ev: StartEvent) -> StopEvent:
        from distributed import Event as ClusterEvent

        ClusterEvent(ev.started).set()
        released = ClusterEvent(ev.release).wait(120)
        return StopEvent(result=released)


class SendsFromADefStep(Workflow):
    @step
    def produce(self, ctx: Context, ev: StartEvent) -> StopEvent:
        return StopEvent(result="never")
