"""Garbage collections while loops are watched: on which thread, how long, and what set them off.

A collection runs on whichever thread allocated when a generation filled up (or called
``gc.collect()``), and it runs the weakref callbacks and finalizers of what it frees. A sampled
stack taken meanwhile shows those callbacks, or the line that happened to allocate, and
neither is what held the loop. ``gc.callbacks`` tells when each collection starts and stops;
the detector asks here whether a block was mostly garbage collection, and which line
triggered it (the frame running when the collection started).

The callback costs a few hundred nanoseconds per collection and is registered only while at
least one loop is watched.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import deque
from types import FrameType
from typing import Any

# (code, line, module __name__) of a frame, as the sampler keeps them.
FrameInfo = tuple[Any, int, "str | None"]

# Shorter collections are not worth remembering: they cannot make a block.
MIN_RECORDED = 0.001

_perf = time.perf_counter
_get_ident = threading.get_ident
_users = 0
# thread id -> (start, generation, the frame that was running when the collection started)
_running: dict[int, tuple[float, int, FrameType | None]] = {}
# (thread id, start, stop, generation, trigger)
_done: deque[tuple[int, float, float, int, FrameInfo | None]] = deque(maxlen=256)


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    tid = _get_ident()
    if phase == "start":
        try:
            frame: FrameType | None = sys._getframe(1)
        except ValueError:
            frame = None
        _running[tid] = (_perf(), info.get("generation", 0), frame)
        return
    entry = _running.pop(tid, None)
    if entry is None:
        return
    start, generation, frame = entry
    stop = _perf()
    if stop - start >= MIN_RECORDED:
        trigger = (frame.f_code, frame.f_lineno, frame.f_globals.get("__name__")) if frame is not None else None
        _done.append((tid, start, stop, generation, trigger))


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


def collections_during(tid: int | None, start: float, stop: float) -> tuple[float, int, FrameInfo | None] | None:
    """(seconds spent collecting on thread ``tid`` between ``start`` and ``stop``, the highest
    generation, the trigger of the longest collection), or None when there was none."""
    if tid is None:
        return None
    total, generation, trigger, longest = 0.0, 0, None, 0.0
    for thread, began, ended, gen, where in list(_done):
        if thread != tid:
            continue
        overlap = min(ended, stop) - max(began, start)
        if overlap <= 0:
            continue
        total += overlap
        generation = max(generation, gen)
        if overlap > longest:
            longest, trigger = overlap, where
    return (total, generation, trigger) if total > 0 else None
