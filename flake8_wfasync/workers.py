"""Forked worker processes: one helper for every pool of the static side.

Parsing holds the GIL, so the work that pays for more cores (scanning files, summarising
project modules, analysing files) runs in processes. They are forked: each inherits the state
it works on (sources, ``ast`` trees, the project index, the settings) instead of having it
pickled, and only the results travel back.
"""

from __future__ import annotations

import os
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
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(items)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            results = pool.map(_run_inherited, items, chunksize=max(1, chunksize))
            if meanwhile is not None:
                meanwhile()
            return list(results)
    except (OSError, RuntimeError):  # no processes available here: do it in this one
        return [work(state, item) for item in items]
    finally:
        _inherited = None


def _run_inherited(item: Any) -> Any:
    assert _inherited is not None
    work, state = _inherited
    return work(state, item)
