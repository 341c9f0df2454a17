"""CPU-bound plain def steps: the loop's thread pool beside Dask worker processes.

    python bench/distributed.py            # one to five minutes, with the load
    python bench/distributed.py --quick    # fewer, shorter parts

One workflow, four places for its def step: an async step sends N parts, a def step
crunches each in pure Python (it holds the GIL, as real number crunching does), a third
step gathers them. The step runs on
- the loop's default thread pool (no executor: what a plain def step gets);
- a ProcessPoolExecutor of 2 processes (the standard library's way out of the GIL);
- a Dask LocalCluster of 1 worker process, then of 2 (``client.get_executor()``).
Threads cannot run pure-Python work in parallel, so the pool is one core's worth; two
Dask workers should approach two cores' worth, less the cost of shipping each call
(pickling the event and the workflow, a scheduler round trip). The machine's cores
are shared: read the ratios, which tolerate load better than the absolute figures.
Needs the dask extra: ``pip install -e '.[dask]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
# This file bears the name of the package it measures: import that package, not this file.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
sys.path.insert(0, os.path.join(HERE, ".."))
os.environ.pop("WFASYNC_DETECT_BLOCKING", None)

from runtime import Context, Event, StartEvent, StopEvent, Workflow, step  # noqa: E402


def burn(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        total = (total + i * i) % 1_000_003
    return total


class Part(Event):
    rounds: int


class PartDone(Event):
    total: int


class CpuFanOut(Workflow):
    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        await ctx.store.set("parts", ev.parts)
        for _ in range(ev.parts):
            ctx.send_event(Part(rounds=ev.rounds))
        return None

    @step(num_workers=32)
    def crunch(self, ev: Part) -> PartDone:
        return PartDone(total=burn(ev.rounds))

    @step
    async def gather(self, ctx: Context, ev: PartDone) -> StopEvent | None:
        parts = await ctx.store.get("parts")
        if ctx.collect_events(ev, [PartDone] * parts) is None:
            return None
        return StopEvent(result=parts)


def parts_per_second(executor: Executor | None, parts: int, rounds: int, repeats: int) -> float:
    """Best of ``repeats`` runs, after one warm-up run (workers import the workflow module)."""

    async def once() -> float:
        start = time.perf_counter()
        done = await CpuFanOut(timeout=600, executor=executor).run(parts=parts, rounds=rounds)
        assert done == parts
        return time.perf_counter() - start

    asyncio.run(once())
    return parts / min(asyncio.run(once()) for _ in range(repeats))


def on_dask(workers: int, measure: Callable[[Executor], float]) -> float:
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster, Client(cluster) as client:
        return measure(client.get_executor())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter parts (a smoke run)")
    parser.add_argument("--parts", type=int, default=None, help="events in the fan-out (default 48)")
    parser.add_argument("--rounds", type=int, default=None, help="loop rounds per part (default 400k)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    parts = args.parts or (16 if args.quick else 48)
    rounds = args.rounds or (100_000 if args.quick else 400_000)
    repeats = 1 if args.quick else args.repeats
    try:
        import distributed
    except ImportError:
        print("bench/distributed.py needs Dask distributed: pip install -e '.[dask]'", file=sys.stderr)
        return 2

    def measure(executor: Executor | None) -> float:
        return parts_per_second(executor, parts, rounds, repeats)

    start = time.perf_counter()
    single = burn_rate(rounds)
    threads = measure(None)
    with ProcessPoolExecutor(max_workers=2) as pool:
        processes = measure(pool)
    dask_one = on_dask(1, measure)
    dask_two = on_dask(2, measure)
    print(f"CPU-bound fan-out: {parts} parts of {rounds:,} rounds, best of {repeats}; "
          f"distributed {distributed.__version__}, {os.cpu_count()} cores")
    print(f"{'where the def step runs':42} {'parts/s':>9} {'vs threads':>11}")
    rows = [
        ("one core, no workflow (burn() in a loop)", single),
        ("the loop's default thread pool", threads),
        ("ProcessPoolExecutor(max_workers=2)", processes),
        ("Dask LocalCluster, 1 worker process", dask_one),
        ("Dask LocalCluster, 2 worker processes", dask_two),
    ]
    for label, rate in rows:
        print(f"{label:42} {rate:9.1f} {rate / threads:10.2f}x")
    print(f"\nDask 2 workers vs 1 worker: {dask_two / dask_one:.2f}x (2 cores at best: 2.00x)")
    print(f"Dask 1 worker vs one core without a workflow: {dask_one / single:.2f}x (the cost of shipping each call)")
    print(f"({time.perf_counter() - start:.0f} s in all)")
    return 0


def burn_rate(rounds: int, seconds: float = 1.0) -> float:
    """Parts per second of the bare function on this process's one core."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        burn(rounds)
        done += 1
    return done / (time.perf_counter() - start)


if __name__ == "__main__":
    raise SystemExit(main())
