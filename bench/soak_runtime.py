"""Soak the engine and the detector: batches of 10k concurrent runs, nothing may leak.

    python bench/soak_runtime.py [--runs 10000] [--batches 5] [--detector-batches 2]

Each batch starts ``--runs`` workflow runs at once (async and plain-def steps; some fail in
either kind of step, some time out, some are cancelled three different ways: see
``tests/reliability/runtime_load.py``) and checks that every run ended with its own result or
error. After each batch it counts what is left: tasks on the loop, threads beyond the pool,
live executors, and the memory still held (tracemalloc, after a collection, and RSS).

Then the same load runs with a BlockingDetector installed (and the engine's own switch on, so
every run shares it): nothing may deadlock, any report is printed with its site (the load
itself never blocks the loop: a report is either a true block of this process or a false
one), and uninstalling must put the loop back as it was.

Exit status 1 on a wrong ending, a leak, memory growth across batches, or a detector that
does not come off cleanly. Timings are noisy on a shared machine; the counts are not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests" / "reliability"))

from runtime_load import install_pool, live_executors, run_batch

import runtime.detect.detector as detector_mod
from runtime.detect import strict
from runtime.detect.detector import BlockingDetector

POOL = 16
# Growth of traced memory allowed from the second batch to the last (the first one warms
# caches: plans, code registries, linecache). A leak of one small object per run would be
# ~100 bytes per run per batch; "flat" is under one byte per run per batch, with a floor for
# allocator noise.
GROWTH_PER_RUN = 1.0
GROWTH_FLOOR = 64 * 1024


def rss_kib() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:  # not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def soak(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    pool = install_pool(loop, POOL)
    pool_threads = {t.ident for t in threading.enumerate()}
    executors = {id(e) for e in live_executors()}
    failures: list[str] = []
    memory: list[int] = []

    print(f"{'batch':>9} {'runs':>6} {'seconds':>7} {'results':>7} {'errors':>6} {'wrong':>5} "
          f"{'tasks':>5} {'threads':>7} {'execs':>5} {'traced KiB':>10} {'RSS KiB':>8}")

    def row(label: str, result, extra_threads: int, extra_execs: int, traced: int) -> None:
        errors = result.runs - result.outcomes["result"]
        print(f"{label:>9} {result.runs:6} {result.seconds:7.1f} {result.outcomes['result']:7} {errors:6} "
              f"{len(result.wrong):5} {result.tasks_left:5} {extra_threads:7} {extra_execs:5} "
              f"{traced // 1024:10} {rss_kib():8}")

    def leftovers(result, count_executors: bool = True) -> tuple[int, int]:
        deadline = time.monotonic() + 5
        while True:
            extra = [t for t in threading.enumerate() if t.ident not in pool_threads
                     and not t.name.startswith("wfasync-blocking-")]
            if not extra or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # Walking every object holds the GIL long enough to be a true block: not while the
        # detector watches (the executors are counted after it comes off).
        execs = [e for e in live_executors() if id(e) not in executors] if count_executors else []
        if result.wrong:
            failures.append(f"{len(result.wrong)} runs ended wrongly, e.g. {result.wrong[:3]}")
        if result.tasks_left:
            failures.append(f"{result.tasks_left} tasks left: {result.left}")
        if extra:
            failures.append(f"threads left: {[t.name for t in extra]}")
        if execs:
            failures.append(f"executors left: {execs}")
        return len(extra), len(execs)

    tracemalloc.start()
    for index in range(args.batches):
        result = await run_batch(args.runs)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0]
        memory.append(traced)
        threads, execs = leftovers(result)
        row(str(index + 1), result, threads, execs, traced)
    tracemalloc.stop()
    if len(memory) >= 3:
        growth = memory[-1] - memory[1]
        allowed = max(GROWTH_FLOOR, GROWTH_PER_RUN * args.runs * (len(memory) - 2))
        print(f"traced memory from batch 2 to {len(memory)}: {growth / 1024:+.0f} KiB "
              f"(allowed {allowed / 1024:.0f} KiB)")
        if growth > allowed:
            failures.append(f"memory grew {growth} bytes from batch 2 to {len(memory)}")

    # -- the detector under the same load -----------------------------------------------------
    # With ten thousand runs alive the cyclic garbage collector's full passes take a while and
    # run on the loop thread: a true stall of the loop that the detector reports where the
    # allocation happened. Record them, to tell such reports from false ones.
    pauses: list[tuple[float, float]] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif info.get("generation") == 2:
            pauses.append((gc_started[0], time.perf_counter()))

    gc.callbacks.append(on_gc)
    reports = []
    detector = BlockingDetector(threshold=args.threshold, on_report=reports.append, warn=False, log=False)
    detector.install(loop)
    try:
        for index in range(args.detector_batches):
            result = await asyncio.wait_for(run_batch(args.runs, detect_blocking=True), timeout=600)
            threads, execs = leftovers(result, count_executors=False)
            row(f"det {index + 1}", result, threads, execs, 0)
    except asyncio.TimeoutError:
        failures.append("the load under the detector did not finish within 600 s (deadlock?)")
    finally:
        t0 = time.perf_counter()
        detector.uninstall()
        uninstall = time.perf_counter() - t0
    gc.callbacks.remove(on_gc)
    selector = getattr(loop, "_selector", None)
    restored = (
        not detector.installed
        and (selector is None or "select" not in vars(selector))
        and id(loop) not in detector_mod._monitors
        and id(loop) not in detector_mod._shared
        and strict.patched() == {}
    )
    print(f"detector: threshold {args.threshold} s, {len(reports)} reports, uninstall {uninstall * 1000:.0f} ms, "
          f"loop restored: {'yes' if restored else 'NO'}")
    def gc_share(report) -> float:
        start, end = report.started, report.started + report.duration
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in pauses) / report.duration

    slow_gc = [b - a for a, b in pauses if b - a >= args.threshold]
    explained = [r for r in reports if gc_share(r) >= 0.5]
    print(f"full garbage collections on the loop thread: {len(pauses)}, {len(slow_gc)} longer than the "
          f"threshold (longest {max((b - a for a, b in pauses), default=0):.2f} s); reports that are mostly "
          f"such a pause: {len(explained)}; load average {os.getloadavg()[0]:.1f}")
    for report in reports[:12]:
        print(f"  [gc {gc_share(report):4.0%}] " + report.format().splitlines()[0][:160])
    if not restored:
        failures.append("uninstall did not put the loop back")
    execs = [e for e in live_executors() if id(e) not in executors]
    if execs:
        failures.append(f"executors left after the detector batches: {execs}")
    if uninstall > 5.0:
        failures.append(f"uninstall took {uninstall:.1f} s")
    await asyncio.sleep(0)
    pool.shutdown(wait=True)
    for failure in failures:
        print("FAIL " + failure)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="concurrent runs per batch (default 10000)")
    parser.add_argument("--batches", type=int, default=5, help="batches without the detector (default 5)")
    parser.add_argument("--detector-batches", type=int, default=2, help="batches with the detector (default 2)")
    parser.add_argument("--threshold", type=float, default=0.1, help="detector threshold in seconds (default 0.1)")
    args = parser.parse_args(argv)
    print(f"runtime soak: Python {sys.version.split()[0]}, {args.runs} concurrent runs per batch, "
          f"{os.cpu_count()} CPUs (shared: timings are noisy)")
    before = {t.ident for t in threading.enumerate()}
    code = asyncio.run(soak(args))
    left = [t.name for t in threading.enumerate() if t.ident not in before
            and t.name != "wfasync-blocking-reporter"]  # idles out on its own after 30 s
    deadline = time.monotonic() + 5
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [t.name for t in threading.enumerate() if t.ident not in before
                and t.name != "wfasync-blocking-reporter"]
    print(f"threads left after the loop closed: {left or 'none'}")
    return 1 if left else code


if __name__ == "__main__":
    sys.exit(main())
