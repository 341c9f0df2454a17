"""collect_events buffers: batch order, surplus and unexpected events, a changed expectation."""

from __future__ import annotations

from runtime.engine.collect import Collection
from runtime.engine.events import Event


class A(Event):
    n: int = 0


class B(Event):
    n: int = 0


class C(Event):
    pass


def test_returns_none_until_complete_then_the_batch_in_expected_order():
    box = Collection()
    expected = [A, B, A]
    assert box.offer(B(n=1), expected) is None
    assert box.offer(A(n=2), expected) is None
    batch = box.offer(A(n=3), expected)
    assert [(type(e).__name__, e.n) for e in batch] == [("A", 2), ("B", 1), ("A", 3)]


def test_the_buffer_is_empty_after_a_batch():
    box = Collection()
    assert box.offer(A(n=1), [A]) == [A(n=1)]
    assert box.offer(A(n=2), [A, A]) is None
    assert box.offer(A(n=3), [A, A]) == [A(n=2), A(n=3)]


def test_unexpected_and_surplus_events_are_dropped():
    box = Collection()
    expected = [A, B]
    assert box.offer(C(), expected) is None
    assert box.offer(A(n=1), expected) is None
    assert box.offer(A(n=2), expected) is None  # surplus A: dropped
    assert box.offer(B(n=3), expected) == [A(n=1), B(n=3)]


def test_a_fresh_but_equal_expected_list_each_call():
    box = Collection()
    for n in range(4):
        result = box.offer(A(n=n), [A] * 5)
        assert result is None
    assert [e.n for e in box.offer(A(n=4), [A] * 5)] == [0, 1, 2, 3, 4]


def test_a_changed_expectation_keeps_what_still_fits():
    box = Collection()
    assert box.offer(A(n=1), [A, A, B]) is None
    assert box.offer(A(n=2), [A, A, B]) is None
    # Now only one A is expected: the first collected A is kept, the second dropped.
    assert box.offer(B(n=3), [A, B]) == [A(n=1), B(n=3)]


def test_nothing_expected_returns_an_empty_batch():
    assert Collection().offer(A(), []) == []
