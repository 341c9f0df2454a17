"""Notice every event loop as it starts running, whoever created it and on whatever thread.

A test can run loops it never sees: pytest-asyncio's runners, ``asyncio.run`` in a sync test,
a loop a module-scoped fixture started in a background thread. They all go through
``run_forever`` (``run_until_complete`` calls it, on asyncio and on uvloop alike), so wrapping
that one method on every loop class is enough to hear about each loop the moment it starts.

The wrapper is installed while at least one user holds :func:`track` (reference counted, so
nested pytest sessions in one process share it) and removed when the last one lets go.
Loop classes imported later (uvloop inside a test module) are picked up by :func:`refresh`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

LoopListener = Callable[[asyncio.AbstractEventLoop], None]

logger = logging.getLogger("runtime.loop_hooks")

_lock = threading.RLock()
_users = 0
# Class -> the run_forever found in its own __dict__ before patching (None: it had none).
_patched: dict[type, Any] = {}
_listeners: list[LoopListener] = []
# Start listener -> its stop listener, called on the loop's thread when that run ends.
_stop_listeners: dict[LoopListener, LoopListener] = {}
# id(loop) -> (loop, depth): loops inside run_forever right now. Strong references are fine:
# the running run_forever frame keeps the loop alive anyway, and the entry goes when it returns.
_running: dict[int, tuple[asyncio.AbstractEventLoop, int]] = {}

_WRAPPED = "__wfasync_original__"


def track() -> None:
    """Start noticing loops (patch ``run_forever`` on every loop class); pair with :func:`untrack`."""
    global _users
    with _lock:
        _users += 1
        _patch_new_classes()


def untrack() -> None:
    """Stop noticing loops once no one else tracks them; restore the original methods."""
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            _restore_all()


def refresh() -> None:
    """Patch loop classes that appeared since :func:`track` (e.g. uvloop imported by a test)."""
    with _lock:
        if _users:
            _patch_new_classes()


def subscribe(listener: LoopListener, on_stop: LoopListener | None = None) -> list[asyncio.AbstractEventLoop]:
    """Call ``listener(loop)`` on each loop that starts running from now on, on its own thread,
    and ``on_stop(loop)`` on that thread when the run ends (the loop stopped, not yet closed).

    Returns the loops already running, so the caller can cover those too; no loop falls in
    between, because both happen under the same lock as the start of a run.
    """
    with _lock:
        if not _users:
            raise RuntimeError("subscribe() needs track() first")
        _patch_new_classes()
        _listeners.append(listener)
        if on_stop is not None:
            _stop_listeners[listener] = on_stop
        return [loop for loop, _ in _running.values()]


def unsubscribe(listener: LoopListener) -> None:
    with _lock:
        try:
            _listeners.remove(listener)
        except ValueError:
            pass
        _stop_listeners.pop(listener, None)


def running_loops() -> list[asyncio.AbstractEventLoop]:
    """Loops currently inside a (patched) ``run_forever``, on any thread."""
    with _lock:
        return [loop for loop, _ in _running.values()]


def _started(loop: asyncio.AbstractEventLoop) -> tuple[LoopListener, ...]:
    with _lock:
        key = id(loop)
        entry = _running.get(key)
        depth = entry[1] + 1 if entry is not None else 1
        _running[key] = (loop, depth)
        # A loop started twice (a second run_forever on a running loop fails right away)
        # is announced only once.
        return tuple(_listeners) if depth == 1 else ()


def _run_ended(loop: asyncio.AbstractEventLoop, announced: tuple[LoopListener, ...]) -> None:
    with _lock:
        stops = [_stop_listeners[listener] for listener in announced if listener in _stop_listeners]
    for on_stop in stops:
        try:
            on_stop(loop)
        except Exception:
            logger.exception("loop stop listener %r failed", on_stop)


def _stopped(loop: asyncio.AbstractEventLoop) -> None:
    with _lock:
        key = id(loop)
        entry = _running.get(key)
        if entry is None:
            return
        if entry[1] <= 1:
            del _running[key]
        else:
            _running[key] = (loop, entry[1] - 1)


def _wrap(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(original)
    def run_forever(self: asyncio.AbstractEventLoop) -> Any:
        if not _users:
            # Restoring failed because someone patched over us: stay out of the way.
            return original(self)
        announced = _started(self)
        for listener in announced:
            try:
                listener(self)
            except Exception:
                # A listener must never keep the user's loop from running.
                logger.exception("loop listener %r failed", listener)
        try:
            return original(self)
        finally:
            if announced:
                _run_ended(self, announced)
            _stopped(self)

    setattr(run_forever, _WRAPPED, original)
    return run_forever


def all_subclasses(base: type) -> list[type]:
    """Every class below ``base``, however deep; classes created later are not seen."""
    seen: list[type] = []
    stack = list(base.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


def _owner(cls: type) -> type | None:
    """The class whose ``run_forever`` to wrap for ``cls``: where it is defined, if writable."""
    for klass in cls.__mro__:
        if "run_forever" in vars(klass):
            if klass is asyncio.AbstractEventLoop:
                return None  # abstract: no concrete run_forever to wrap
            # Extension types (uvloop's Cython loop) cannot take new attributes: wrap on the
            # Python subclass instead, which Cython's run_until_complete looks up dynamically.
            heap_type = bool(klass.__flags__ & (1 << 9))  # Py_TPFLAGS_HEAPTYPE
            return klass if heap_type else cls
    return None


def _patch_new_classes() -> None:
    for cls in all_subclasses(asyncio.AbstractEventLoop):
        owner = _owner(cls)
        if owner is None or owner in _patched:
            continue
        current = vars(owner).get("run_forever")
        if current is not None and hasattr(current, _WRAPPED):
            continue
        target = owner.run_forever
        try:
            owner.run_forever = _wrap(target)
        except (TypeError, AttributeError):
            continue
        _patched[owner] = current


def _restore_all() -> None:
    for owner, previous in list(_patched.items()):
        current = vars(owner).get("run_forever")
        if current is None or not hasattr(current, _WRAPPED):
            # Someone replaced our wrapper (their own patch); leave theirs. Ours, if still
            # underneath, passes straight through while untracked.
            del _patched[owner]
            continue
        if previous is None:
            delattr(owner, "run_forever")
        else:
            owner.run_forever = previous
        del _patched[owner]
