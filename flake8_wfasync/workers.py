"""Forked worker processes: one helper for every pool of the static side.

Parsing holds the GIL, so the work that pays for more cores (scanning files, summarising
project modules, analysing files) runs in processes. They are forked: each inherits the state
it works on (sources, ``ast`` trees, the project index, the settings) instead of having it
pickled, and only the results travel back.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["can_fork", "default_jobs", "fork_map"]

Item = TypeVar("Item")
Result = TypeVar("Result")

# Set in the parent just before a pool forks; the workers inherit it.
_inherited: tuple[Callable[[Any, Any], Any], Any] | None = None


def can_fork() -> bool:
    """True when the platform forks and no other thread runs in this process. A fork copies
    the locks other threads hold, and a child can wait on one forever (Python 3.12 warns of
    it): a program that checks code from several threads gets a one-process run instead,
    slower but safe. The ``wfasync`` command itself runs one thread whenever it forks."""
    import multiprocessing  # (here: a run answered from the cache never needs it)
    import threading

    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        count = os.cpu_count() or 1
    return max(1, count)


def fork_map(
    work: Callable[[Any, Item], Result],
    items: Sequence[Item],
    state: Any,
    workers: int,
    *,
    chunksize: int = 1,
    meanwhile: Callable[[], None] | None = None,
) -> list[Result]:
    """``[work(state, item) for item in items]``, in ``workers`` forked processes that
    inherit ``state``; in this process when ``workers`` is 1 or less, when this process may not
    fork (:func:`can_fork`), or when no processes can be had. ``meanwhile`` runs here while
    the workers work (not at all without them)."""
    if workers <= 1 or len(items) < 2 or not can_fork():
        return [work(state, item) for item in items]
    global _inherited
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _inherited = (work, state)
    others = set(multiprocessing.active_children())
    size = max(1, chunksize)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), initializer=_ignore_interrupts,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            # The workers fork at the first submit. A Ctrl-C in that moment must reach this
            # process only, not a worker that has not yet set itself to ignore it: held back
            # here until they exist (a worker starts with none pending).
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                futures = [pool.submit(_run_chunk, chunk) for chunk in chunks]
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            try:
                if meanwhile is not None:
                    meanwhile()
                return [result for future in futures for result in future.result()]
            except BaseException:
                # Ctrl-C: leaving the pool would wait for every task queued so far. The futures
                # are not cancelled: the pool fails them itself once its workers are gone.
                for proc in set(multiprocessing.active_children()) - others:
                    proc.terminate()
                raise
    except (OSError, RuntimeError):  # no processes available here: do it in this one
        return [work(state, item) for item in items]
    finally:
        _inherited = None


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C reaches the whole process group, and this process answers it (it
    stops the workers), so that a worker neither prints a traceback nor starts on the next task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # (blocked while forking)


def _run_chunk(chunk: Sequence[Any]) -> list[Any]:
    assert _inherited is not None
    work, state = _inherited
    return [work(state, item) for item in chunk]
