"""``ctx.collect_events`` buffers, with O(1) work per event.

A fan-in step calls ``collect_events(ev, [Result] * n)`` once per arriving event.
Recounting the buffer on every call (as a naive version does) makes collecting n
events cost O(n^2); here each buffer keeps per-type lists and a count of what is
still missing, and recognises the repeated ``expected`` list by identity, or by one
C-speed list comparison when the caller builds a fresh but equal list each time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


class Collection:
    """One collect buffer: events so far, by type, against the expected multiset."""

    __slots__ = ("_expected", "_expected_copy", "_have", "_missing", "_need")

    def __init__(self) -> None:
        self._expected: Any = None
        self._expected_copy: list[type] = []
        self._need: dict[type, int] = {}
        self._have: dict[type, list[Any]] = {}
        self._missing = 0

    def _same_expected(self, expected: Sequence[type]) -> bool:
        if expected is self._expected and len(expected) == len(self._expected_copy):
            return True
        same = (expected if type(expected) is list else list(expected)) == self._expected_copy
        if same:
            self._expected = expected
        return same

    def _expect(self, expected: Sequence[type]) -> None:
        """Adopt a new expected list, keeping the events collected so far that still fit."""
        self._expected = expected
        self._expected_copy = list(expected)
        self._need = dict(Counter(self._expected_copy))
        kept: dict[type, list[Any]] = {}
        for kind, events in self._have.items():
            room = self._need.get(kind, 0)
            if room:
                kept[kind] = events[:room]
        self._have = kept
        self._missing = len(self._expected_copy) - sum(len(v) for v in kept.values())

    def offer(self, ev: Any, expected: Sequence[type]) -> list[Any] | None:
        """Add ``ev``; return the full ordered batch when it completes one, else None."""
        if not expected:
            return []
        if not self._same_expected(expected):
            self._expect(expected)
        kind = type(ev)
        need = self._need.get(kind, 0)
        if not need:
            return None
        bucket = self._have.get(kind)
        if bucket is None:
            bucket = self._have[kind] = []
        if len(bucket) >= need:
            return None
        bucket.append(ev)
        self._missing -= 1
        if self._missing:
            return None
        return self._release()

    def _release(self) -> list[Any]:
        iterators = {kind: iter(events) for kind, events in self._have.items()}
        batch = [next(iterators[kind]) for kind in self._expected_copy]
        self._have = {}
        self._missing = len(self._expected_copy)
        return batch

    # -- saving and restoring (runtime.engine.snapshot) ----------------------------------------
    def held(self) -> list[Any]:
        """The events collected and not yet released, type by type in arrival order."""
        return [ev for events in self._have.values() for ev in events]

    def hold(self, events: list[Any]) -> None:
        """Take back saved events; the next ``offer`` matches them against its expected list."""
        for ev in events:
            self._have.setdefault(type(ev), []).append(ev)
        self._expected = None
        self._expected_copy = []
