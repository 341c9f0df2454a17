"""Whether this process may fork its workers."""

from __future__ import annotations


def can_fork() -> bool:
    """True when the platform forks and no other thread runs in this process. A fork copies
    the locks other threads hold, and a child can wait on one forever (Python 3.12 warns of
    it): a program that checks code from several threads gets a one-process run instead,
    slower but safe. The ``wfasync`` command itself runs one thread whenever it forks."""
    import multiprocessing  # (here: a run answered from the cache never needs it)
    import threading

    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
