"""Every loop that starts running is announced, on asyncio and uvloop, on any thread."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import pytest

from runtime.detect import loop_hooks


@pytest.fixture
def heard():
    """Loops announced while the test runs, each with the thread it started on."""
    seen: list[tuple[asyncio.AbstractEventLoop, str]] = []

    def listener(loop: asyncio.AbstractEventLoop) -> None:
        seen.append((loop, threading.current_thread().name))

    loop_hooks.track()
    loop_hooks.subscribe(listener)
    try:
        yield seen
    finally:
        loop_hooks.unsubscribe(listener)
        loop_hooks.untrack()


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_asyncio_run_is_announced(heard):
    loop = asyncio.run(_running_loop())
    # asyncio.run also runs the loop to shut down async generators and the executor.
    assert {id(entry[0]) for entry in heard} == {id(loop)}


needs_runner = pytest.mark.skipif(not hasattr(asyncio, "Runner"), reason="asyncio.Runner is new in Python 3.11")


@needs_runner
def test_each_run_of_a_reused_loop_is_announced(heard):
    with asyncio.Runner() as runner:
        first = runner.run(_running_loop())
        second = runner.run(_running_loop())
    assert first is second
    # Runner.run drives run_until_complete, hence run_forever, each time.
    assert [entry[0] for entry in heard].count(first) >= 2


@needs_runner
def test_uvloop_loops_are_announced(heard):
    uvloop = pytest.importorskip("uvloop")
    loop_hooks.refresh()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        loop = runner.run(_running_loop())
    assert isinstance(loop, uvloop.Loop)
    assert loop in [entry[0] for entry in heard]


def test_a_loop_on_another_thread_is_announced_on_that_thread(heard):
    result: list[asyncio.AbstractEventLoop] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(_running_loop())), name="loop-thread")
    worker.start()
    worker.join()
    assert heard
    assert {(id(loop), thread) for loop, thread in heard} == {(id(result[0]), "loop-thread")}


def test_subscribe_returns_loops_already_running():
    started = threading.Event()
    loop = asyncio.new_event_loop()
    loop_hooks.track()
    try:
        loop.call_soon(started.set)
        worker = threading.Thread(target=loop.run_forever)
        worker.start()
        assert started.wait(5)
        assert loop in loop_hooks.running_loops()

        def listener(_loop: asyncio.AbstractEventLoop) -> None:
            pass

        assert loop in loop_hooks.subscribe(listener)
        loop_hooks.unsubscribe(listener)
        loop.call_soon_threadsafe(loop.stop)
        worker.join(5)
        assert loop not in loop_hooks.running_loops()
    finally:
        loop.close()
        loop_hooks.untrack()


def test_a_failing_listener_does_not_stop_the_loop(heard):
    def broken(_loop: asyncio.AbstractEventLoop) -> None:
        raise RuntimeError("listener bug")

    loop_hooks.subscribe(broken)
    try:
        assert asyncio.run(asyncio.sleep(0, result=42)) == 42
    finally:
        loop_hooks.unsubscribe(broken)
    assert heard


def test_untrack_restores_the_original_methods():
    # In a fresh interpreter: this process's own pytest session may be tracking loops.
    script = textwrap.dedent(
        """
        import asyncio, uvloop
        from runtime.detect import loop_hooks
        before = (asyncio.BaseEventLoop.__dict__["run_forever"], "run_forever" in uvloop.Loop.__dict__)
        loop_hooks.track()
        loop_hooks.track()
        assert asyncio.BaseEventLoop.__dict__["run_forever"] is not before[0]
        assert "run_forever" in uvloop.Loop.__dict__
        loop_hooks.untrack()
        assert asyncio.BaseEventLoop.__dict__["run_forever"] is not before[0], "still one user"
        loop_hooks.untrack()
        after = (asyncio.BaseEventLoop.__dict__["run_forever"], "run_forever" in uvloop.Loop.__dict__)
        assert after == before, (before, after)
        asyncio.run(asyncio.sleep(0))
        print("restored")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "restored"


def test_stop_listener_runs_on_the_loop_thread_before_the_close():
    events: list[tuple[str, str, bool]] = []

    def started(loop: asyncio.AbstractEventLoop) -> None:
        events.append(("start", threading.current_thread().name, loop.is_closed()))

    def stopped(loop: asyncio.AbstractEventLoop) -> None:
        events.append(("stop", threading.current_thread().name, loop.is_closed() or loop.is_running()))

    loop_hooks.track()
    loop_hooks.subscribe(started, stopped)
    try:
        worker = threading.Thread(target=asyncio.run, args=(asyncio.sleep(0),), name="runner")
        worker.start()
        worker.join(5)
    finally:
        loop_hooks.unsubscribe(started)
        loop_hooks.untrack()
    assert events[:2] == [("start", "runner", False), ("stop", "runner", False)]
    # Each run of the loop (asyncio.run also runs it to shut down) is a start/stop pair.
    assert [kind for kind, _, _ in events] == ["start", "stop"] * (len(events) // 2)
