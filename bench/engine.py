"""The same workflows on this engine (runtime) and on llama-index-workflows, side by side.

    python bench/engine.py            # about a minute or two
    python bench/engine.py --quick    # smaller counts, for a smoke run
    python bench/engine.py --peer-10k # also run the peer at 10k events (slow: its
                                      # collect_events is quadratic)

Measures, on one machine in one run:
- linear: a 3-step workflow run N times in sequence (runs/s);
- fan-out: one step sends n events to a num_workers=8 step, whose results a third step
  gathers with ctx.collect_events (events/s), at n = 1k and 10k;
- peak memory of one 1k / 10k fan-out run (tracemalloc, measured in a separate run
  because tracing slows everything down);
- the cost of recording a timeline: the linear workflow with ``trace=True`` against the
  same workflow without (this engine only).

The collect step passes one precomputed expected list (``[Done] * n``), identical on both
engines, so the figures measure the engines rather than building an n-element list
per event in user code. Timings are best-of-repeats; on a shared machine they are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.pop("WFASYNC_DETECT_BLOCKING", None)


def _ours() -> SimpleNamespace:
    import runtime

    return SimpleNamespace(
        name="runtime", Workflow=runtime.Workflow, step=runtime.step, Context=runtime.Context,
        Event=runtime.Event, StartEvent=runtime.StartEvent, StopEvent=runtime.StopEvent,
    )


def _peer() -> SimpleNamespace:
    import workflows
    from workflows.events import Event, StartEvent, StopEvent

    return SimpleNamespace(
        name="llama-index-workflows", Workflow=workflows.Workflow, step=workflows.step,
        Context=workflows.Context, Event=Event, StartEvent=StartEvent, StopEvent=StopEvent,
    )


def build_flows(api: SimpleNamespace) -> SimpleNamespace:
    """Define the benchmark workflows against one engine's API (same code for both)."""
    Workflow, step, Context = api.Workflow, api.step, api.Context
    Event, StartEvent, StopEvent = api.Event, api.StartEvent, api.StopEvent

    class First(Event):
        value: int

    class Second(Event):
        value: int

    class Linear(Workflow):
        @step
        async def one(self, ev: StartEvent) -> First:
            return First(value=ev.n)

        @step
        async def two(self, ev: First) -> Second:
            return Second(value=ev.value + 1)

        @step
        async def three(self, ev: Second) -> StopEvent:
            return StopEvent(result=ev.value)

    class Work(Event):
        i: int

    class Done(Event):
        i: int

    class FanOut(Workflow):
        @step
        async def spread(self, ctx: Context, ev: StartEvent) -> Work | None:
            self.expected = [Done] * ev.n
            for i in range(ev.n):
                ctx.send_event(Work(i=i))
            return None

        @step(num_workers=8)
        async def work(self, ev: Work) -> Done:
            return Done(i=ev.i * 2)

        @step
        async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
            batch = ctx.collect_events(ev, self.expected)
            if batch is None:
                return None
            return StopEvent(result=len(batch))

    return SimpleNamespace(Linear=Linear, FanOut=FanOut)


@dataclass
class Figures:
    linear_runs_per_s: float = 0.0
    fan_1k_events_per_s: float = 0.0
    fan_10k_events_per_s: float | None = None
    peak_1k_mb: float = 0.0
    peak_10k_mb: float | None = None
    linear_traced_runs_per_s: float | None = None


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        best = min(best, measure())
    return best


def time_linear(flows: SimpleNamespace, runs: int, **options: object) -> float:
    async def main() -> float:
        wf = flows.Linear(timeout=None, **options)
        assert await wf.run(n=1) == 2
        began = time.perf_counter()
        for i in range(runs):
            await wf.run(n=i)
        return time.perf_counter() - began

    return asyncio.run(main())


def time_fan_out(flows: SimpleNamespace, n: int, rounds: int = 1) -> float:
    """Seconds per fan-out run of n events, averaged over ``rounds`` runs on one loop."""

    async def main() -> float:
        wf = flows.FanOut(timeout=None)
        await wf.run(n=8)  # warm up: validation and first-run costs are not the rate
        began = time.perf_counter()
        for _ in range(rounds):
            result = await wf.run(n=n)
            assert result == n, result
        return (time.perf_counter() - began) / rounds

    return asyncio.run(main())


def peak_memory_mb(flows: SimpleNamespace, n: int) -> float:
    async def main() -> None:
        await flows.FanOut(timeout=None).run(n=n)

    gc.collect()
    tracemalloc.start()
    try:
        asyncio.run(main())
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def measure(api: SimpleNamespace, runs: int, repeats: int, fan_repeats: int, with_10k: bool) -> Figures:
    flows = build_flows(api)
    fig = Figures()
    if api.name == "runtime":
        # Off and on alternate, so a load that comes and goes weighs on both alike.
        off, on = [], []
        for _ in range(repeats + 2):
            off.append(best_of(1, lambda: time_linear(flows, runs)))
            on.append(best_of(1, lambda: time_linear(flows, runs, trace=True)))
        fig.linear_runs_per_s = runs / min(off)
        fig.linear_traced_runs_per_s = runs / min(on)
    else:
        fig.linear_runs_per_s = runs / best_of(repeats, lambda: time_linear(flows, runs))
    # Ten 1k runs per sample, so a 1k sample lasts as long as a 10k one and noise weighs the same.
    rounds = 10 if api.name == "runtime" else 1
    fig.fan_1k_events_per_s = 1000 / best_of(fan_repeats, lambda: time_fan_out(flows, 1000, rounds))
    fig.peak_1k_mb = peak_memory_mb(flows, 1000)
    if with_10k:
        fig.fan_10k_events_per_s = 10_000 / best_of(fan_repeats, lambda: time_fan_out(flows, 10_000))
        fig.peak_10k_mb = peak_memory_mb(flows, 10_000)
    return fig


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{unit}"


def _ratio(ours: float | None, theirs: float | None, invert: bool = False) -> str:
    if not ours or not theirs:
        return "-"
    return f"{(theirs / ours) if invert else (ours / theirs):.1f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, one repeat")
    parser.add_argument("--peer-10k", action="store_true", help="also run the peer at 10k events")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    ours = measure(_ours(), runs=500 if args.quick else 3000, repeats=repeats, fan_repeats=repeats + 2, with_10k=True)
    # The peer needs ~7 s per 1k fan-out run on a 2-core machine: fewer repeats.
    peer = measure(
        _peer(), runs=100 if args.quick else 300, repeats=repeats,
        fan_repeats=1 if args.quick else 2, with_10k=args.peer_10k,
    )

    rows = [
        ("linear 3-step runs/s", ours.linear_runs_per_s, peer.linear_runs_per_s, False, ">= 5x"),
        ("fan-out 1k events/s", ours.fan_1k_events_per_s, peer.fan_1k_events_per_s, False, ">= 20x"),
        ("fan-out 10k events/s", ours.fan_10k_events_per_s, peer.fan_10k_events_per_s, False, ""),
        ("peak memory 1k fan-out (MB)", ours.peak_1k_mb, peer.peak_1k_mb, True, "smaller"),
        ("peak memory 10k fan-out (MB)", ours.peak_10k_mb, peer.peak_10k_mb, True, "smaller"),
    ]
    print(f"{'measure':32} {'runtime':>14} {'llama-index-wf':>15} {'ratio':>8}  goal")
    for label, a, b, invert, goal in rows:
        print(f"{label:32} {_fmt(a):>14} {_fmt(b):>15} {_ratio(a, b, invert):>8}  {goal}")
    scale = (ours.fan_10k_events_per_s or 0) / ours.fan_1k_events_per_s
    print(f"\nruntime events/s at 10k vs at 1k: {scale:.2f} (goal: >= 0.75, cost linear in events)")
    print("ratios: ours / peer for rates, peer / ours for memory (higher is better for us)")
    traced = ours.linear_traced_runs_per_s or 0
    print(
        f"\nrecording a timeline (trace=True): linear runs/s {ours.linear_runs_per_s:,.1f} off, {traced:,.1f} on: "
        f"{ours.linear_runs_per_s / traced:.2f}x the time (goal: <= 1.2x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
