"""Garbage collections while loops are watched: on which thread, how long, and what set them off.

A collection runs on whichever thread allocated when a generation filled up (or called
``gc.collect()``), and it runs the weakref callbacks and finalizers of what it frees. A sampled
stack taken meanwhile shows those callbacks, or the line that happened to allocate, and
neither is what held the loop. ``gc.callbacks`` tells when each collection starts and stops;
the detector asks here whether a block was mostly garbage collection, and which line
triggered it (the frame running when the collection started).

A collection holds the GIL from start to end, so the watchdog cannot sample it, and when the
loop stops right after it no later stamp of the loop shows the gap either. A collection is a
timed fact, not a guess: each one is kept with the loop that was running on its thread, and
the detector reports one that held a watched loop past the threshold from these records
alone when nothing else covered it (:func:`claim`, :func:`unclaimed`).

The callback costs a few hundred nanoseconds per collection and is registered only while at
least one loop is watched.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from collections import deque
from types import FrameType
from typing import Any, NamedTuple

# (code, line, module __name__) of a frame, as the sampler keeps them.
FrameInfo = tuple[Any, int, "str | None"]

# Shorter collections are not worth remembering: they cannot make a block.
MIN_RECORDED = 0.001

_perf = time.perf_counter
_get_ident = threading.get_ident
_running_loop = asyncio._get_running_loop
_thread_time = time.thread_time
_users = 0
# Only a full collection can last long enough to hold a loop; only its CPU time is read (a
# system call, too dear for the frequent young collections).
_TIMED_GENERATION = 2
# thread id -> (start, generation, the frame that was running when the collection started,
# id of the loop running on that thread then or None, thread CPU time at the start or None)
_running: dict[int, tuple[float, int, FrameType | None, int | None, float | None]] = {}


class Collection:
    """One finished collection of at least ``MIN_RECORDED`` seconds."""

    __slots__ = ("thread_id", "start", "stop", "generation", "trigger", "loop_id", "cpu", "claimed")

    def __init__(
        self,
        thread_id: int,
        start: float,
        stop: float,
        generation: int,
        trigger: FrameInfo | None,
        loop_id: int | None,
        cpu: float | None = None,
    ) -> None:
        self.thread_id = thread_id
        self.start = start
        self.stop = stop
        self.generation = generation
        self.trigger = trigger
        self.loop_id = loop_id
        # CPU seconds the thread spent in it (full collections only): far less than its wall
        # time means the machine did not let the process run, not that collecting took long.
        self.cpu = cpu
        # Set (by the watchdog only) once a report, or the decision not to make one, covered it.
        self.claimed = False

    @property
    def seconds(self) -> float:
        return self.stop - self.start


_done: deque[Collection] = deque(maxlen=256)


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    tid = _get_ident()
    if phase == "start":
        try:
            frame: FrameType | None = sys._getframe(1)
        except ValueError:
            frame = None
        loop = _running_loop()
        generation = info.get("generation", 0)
        cpu = _thread_time() if generation >= _TIMED_GENERATION else None
        _running[tid] = (_perf(), generation, frame, id(loop) if loop is not None else None, cpu)
        return
    entry = _running.pop(tid, None)
    if entry is None:
        return
    start, generation, frame, loop_id, cpu_start = entry
    stop = _perf()
    if stop - start >= MIN_RECORDED:
        trigger = (frame.f_code, frame.f_lineno, frame.f_globals.get("__name__")) if frame is not None else None
        cpu = _thread_time() - cpu_start if cpu_start is not None else None
        _done.append(Collection(tid, start, stop, generation, trigger, loop_id, cpu))


def track() -> None:
    """Start recording collections; pair with :func:`untrack` (callers hold one lock)."""
    global _users
    _users += 1
    if _users == 1 and _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


def untrack() -> None:
    global _users
    if _users == 0:
        return
    _users -= 1
    if _users == 0:
        while _on_gc in gc.callbacks:
            gc.callbacks.remove(_on_gc)
        _running.clear()


class Found(NamedTuple):
    """The collections of one thread within a stretch of time."""

    seconds: float  # wall time spent collecting within the stretch
    generation: int  # the highest generation collected
    trigger: FrameInfo | None  # the line that set off the longest one
    timed_wall: float  # of ``seconds``, what was spent in collections whose CPU time is known
    timed_cpu: float  # the CPU time of those

    def starved(self, threshold: float) -> bool:
        """True when the collecting took so little CPU that, on a machine that let the
        process run, it would not have come near ``threshold``: the wall time was the load."""
        return self.timed_wall > 0 and self.timed_cpu < 0.5 * min(self.timed_wall, threshold)

    def held(self, threshold: float) -> bool:
        """True when collecting itself held the thread for ``threshold`` seconds or more."""
        return self.seconds >= threshold and not self.starved(threshold)


def collections_during(tid: int | None, start: float, stop: float) -> Found | None:
    """What collecting on thread ``tid`` took between ``start`` and ``stop``, or None."""
    if tid is None:
        return None
    total, generation, trigger, longest = 0.0, 0, None, 0.0
    timed_wall = timed_cpu = 0.0
    for done in list(_done):
        if done.thread_id != tid:
            continue
        overlap = min(done.stop, stop) - max(done.start, start)
        if overlap <= 0:
            continue
        total += overlap
        generation = max(generation, done.generation)
        if overlap > longest:
            longest, trigger = overlap, done.trigger
        if done.cpu is not None and done.seconds > 0:
            timed_wall += overlap
            timed_cpu += done.cpu * overlap / done.seconds
    if total <= 0:
        return None
    return Found(total, generation, trigger, timed_wall, timed_cpu)


def claim(tid: int | None, start: float, stop: float) -> None:
    """Mark the collections on thread ``tid`` that overlap ``start``-``stop`` as covered by a
    stretch the detector has judged already."""
    if tid is None:
        return
    for done in list(_done):
        if done.thread_id == tid and done.start < stop and done.stop > start:
            done.claimed = True


def unclaimed(loop_id: int, since: float, longer_than: float) -> list[Collection]:
    """Collections longer than ``longer_than`` seconds, started after ``since`` while the loop
    ``loop_id`` was running on their thread, that nothing covered yet; they are claimed now."""
    found = []
    for done in list(_done):
        if done.loop_id == loop_id and not done.claimed and done.start >= since and done.seconds >= longer_than:
            done.claimed = True
            found.append(done)
    return found
