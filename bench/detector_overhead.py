"""What watching the event loop costs: wfasync's BlockingDetector next to its peers.

Two callback-heavy workloads, each on asyncio and on uvloop:

- ``sleep0``: 200k ``await asyncio.sleep(0)`` spread over 100 tasks (pure loop overhead);
- ``to_thread``: 10k small file reads through ``asyncio.to_thread`` (100 tasks).

Each is run with no detector, with ours, with asyncio's debug mode, with blockbuster, with
aiocop and with pyleak, interleaved repeat by repeat; the table shows the best time of the
repeats as a ratio to the best time without a detector. aiocop installs a permanent audit
hook, so it runs in a child process with its own baseline.

    python bench/detector_overhead.py            # full run (a few minutes)
    python bench/detector_overhead.py --quick    # smaller workloads, fewer repeats

Timings on a shared machine are noisy: re-run a borderline figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a bench dependency
    uvloop = None

TASKS = 100
THRESHOLD = 0.1
MODES = ("none", "wfasync", "debug", "blockbuster", "aiocop", "pyleak")
IN_PROCESS = ("none", "wfasync", "debug", "blockbuster", "pyleak")


# -- workloads ---------------------------------------------------------------------------------

async def sleep0(total: int, path: str) -> None:
    per_task = total // TASKS

    async def worker() -> None:
        for _ in range(per_task):
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(TASKS)))


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


async def to_thread(total: int, path: str) -> None:
    per_task = total // TASKS

    async def worker() -> None:
        for _ in range(per_task):
            await asyncio.to_thread(_read, path)

    await asyncio.gather(*(worker() for _ in range(TASKS)))


WORKLOADS: dict[str, Callable[[int, str], Any]] = {"sleep0": sleep0, "to_thread": to_thread}


# -- detectors -----------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def watching(mode: str) -> AsyncIterator[None]:
    """Watch the running loop the way each tool is meant to be used."""
    if mode in ("none", "debug"):  # debug mode is set on the runner
        yield
    elif mode == "wfasync":
        from runtime.detect.detector import BlockingDetector

        with BlockingDetector(THRESHOLD, warn=False, log=False):
            yield
    elif mode == "blockbuster":
        from blockbuster import BlockBuster

        buster = BlockBuster()
        buster.activate()
        try:
            yield
        finally:
            buster.deactivate()
    elif mode == "pyleak":
        from pyleak import no_event_loop_blocking

        async with no_event_loop_blocking(action="log", logger=logging.getLogger("bench.pyleak"), threshold=THRESHOLD):
            yield
    elif mode == "aiocop":
        import aiocop

        aiocop.activate()  # patches the running loop (configured once per process)
        try:
            yield
        finally:
            aiocop.deactivate()
    else:
        raise ValueError(mode)


def _setup_aiocop() -> None:
    import aiocop

    aiocop.patch_audit_functions()
    aiocop.start_blocking_io_detection(trace_depth=20)
    aiocop.detect_slow_tasks(threshold_ms=int(THRESHOLD * 1000), on_slow_task=lambda event: None)


def run_once(workload: str, loop_kind: str, mode: str, total: int, path: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process) for one run of the workload."""
    factory = uvloop.new_event_loop if loop_kind == "uvloop" else asyncio.new_event_loop
    elapsed = (0.0, 0.0)

    async def main() -> None:
        nonlocal elapsed
        async with watching(mode):
            start, cpu = time.perf_counter(), time.process_time()
            await WORKLOADS[workload](total, path)
            elapsed = (time.perf_counter() - start, time.process_time() - cpu)

    gc.collect()
    with asyncio.Runner(loop_factory=factory, debug=(mode == "debug")) as runner:
        if mode == "debug":
            runner.get_loop().slow_callback_duration = THRESHOLD
        runner.run(main())
    return elapsed


def measure(
    modes: tuple[str, ...], plan: list[tuple[str, str, int]], repeats: int, debug_repeats: int, path: str
) -> dict[str, list[float]]:
    """Best (wall, CPU) per workload/loop/mode; repeats interleaved, and the order of the
    modes rotated each repeat, so drift on a shared machine hits every mode alike."""
    best: dict[str, list[float]] = {}
    for rep in range(repeats):
        order = modes[rep % len(modes):] + modes[: rep % len(modes)]
        for workload, loop_kind, total in plan:
            for mode in order:
                if mode == "debug" and rep >= debug_repeats:
                    continue
                wall, cpu = run_once(workload, loop_kind, mode, total, path)
                key = f"{workload}/{loop_kind}/{mode}"
                old = best.get(key, [float("inf"), float("inf")])
                best[key] = [min(old[0], wall), min(old[1], cpu)]
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--debug-repeats", type=int, default=1, help="repeats for asyncio debug mode (slow)")
    parser.add_argument("--child", choices=["aiocop"], help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the raw best times as JSON")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {','.join(MODES)}")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of sleep0,to_thread")
    args = parser.parse_args(argv)
    modes = tuple(m for m in MODES if m in args.modes.split(",") or m == "none")
    chosen = [w for w in args.workloads.split(",") if w in WORKLOADS]
    if len(modes) < 2 or not chosen:
        parser.error(f"--modes needs one of {', '.join(MODES[1:])}; --workloads one of {', '.join(WORKLOADS)}")

    scale = 10 if args.quick else 1
    repeats = args.repeats or (3 if args.quick else 5)
    loops = ["asyncio"] + (["uvloop"] if uvloop is not None else [])
    sizes = {"sleep0": 200_000, "to_thread": 10_000}
    plan = [(w, kind, sizes[w] // scale) for w in chosen for kind in loops]

    logging.getLogger("bench.pyleak").disabled = True
    logging.getLogger("runtime").disabled = True
    logging.getLogger("asyncio").disabled = True
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "small.txt")
        with open(path, "w") as fh:
            fh.write("x" * 512)
        if args.child == "aiocop":
            _setup_aiocop()
            print(json.dumps(measure(("none", "aiocop"), plan, repeats, 0, path)))
            return 0
        child_cmd = [sys.executable, os.path.abspath(__file__), "--child", "aiocop", "--repeats", str(repeats),
                     "--workloads", ",".join(chosen)]
        if args.quick:
            child_cmd.append("--quick")
        best = measure(tuple(m for m in modes if m in IN_PROCESS), plan, repeats, args.debug_repeats, path)
        aiocop_best: dict[str, list[float]] = {}
        if "aiocop" in modes:
            child = subprocess.run(child_cmd, capture_output=True, text=True, check=False)
            if child.returncode == 0 and child.stdout.strip():
                aiocop_best = json.loads(child.stdout.strip().splitlines()[-1])
            else:
                print(f"aiocop run failed:\n{child.stderr[-2000:]}", file=sys.stderr)

    if args.json:
        print(json.dumps({"in_process": best, "aiocop_process": aiocop_best}, indent=2))
    for index, title in ((0, "wall-clock time"), (1, "CPU time of the process (all threads)")):
        print(f"\n{title}: ratio to no detector (lower is better)")
        header = f"{'workload':<18}{'loop':<9}{'none (s)':>9}" + "".join(f"{m:>13}" for m in modes[1:])
        print(header)
        print("-" * len(header))
        for workload, loop_kind, total in plan:
            base = best[f"{workload}/{loop_kind}/none"][index]
            cells = []
            for mode in modes[1:]:
                if mode == "aiocop":
                    mine = aiocop_best.get(f"{workload}/{loop_kind}/aiocop")
                    own = aiocop_best.get(f"{workload}/{loop_kind}/none")
                    ratio = mine[index] / own[index] if mine and own else None
                else:
                    value = best.get(f"{workload}/{loop_kind}/{mode}")
                    ratio = value[index] / base if value else None
                cells.append(f"{ratio:>12.2f}x" if ratio else f"{'-':>13}")
            label = f"{workload} x{total // 1000}k"
            print(f"{label:<18}{loop_kind:<9}{base:>9.3f}" + "".join(cells))
    print(
        f"\nbest of {repeats} repeats (asyncio debug mode: {args.debug_repeats}); threshold {THRESHOLD} s; "
        "aiocop is measured against its own process's baseline"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
