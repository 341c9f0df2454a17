"""Strict mode: catch known blocking calls that are too short for any timer.

While at least one strict detector is installed, each module-level blocking callable of the
catalog (``time.sleep``, ``subprocess.run``, ``urllib.request.urlopen``, ...) is replaced on its
module by a thin wrapper. The wrapper reports a call only when it runs on the thread of a
watched loop, inside that loop's running task, and not under the import machinery; calls from
worker threads (``asyncio.to_thread``, executors) pass straight through. Calls as long as the
threshold are left to the watchdog, so one blocking call gives one report; CPU-heavy calls
(WFA109) shorter than a tenth of the threshold are not reported (their cost is their duration).
The report names the user's line that led to the call, not the standard library's.

Only modules already imported are patched, and a name bound before the patch
(``from time import sleep``) keeps the original. Removing the last strict detector puts every
original object back exactly.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from . import static_side

logger = logging.getLogger("runtime")

# Report sink: called with (loop, entry, call name, caller frame, duration).
Sink = Callable[[asyncio.AbstractEventLoop, Any, str, FrameType, float], None]

_lock = threading.RLock()
# loop -> (threshold, sink) of the strict detectors watching it.
_watched: dict[asyncio.AbstractEventLoop, list[tuple[float, Sink]]] = {}
# (module object, attribute) -> (original, wrapper)
_patched: dict[tuple[Any, str], tuple[Any, Any]] = {}
_local = threading.local()
_MARK = "__wfasync_strict_original__"
# A CPU-heavy call (WFA109) is reported only when it took at least this share of the
# threshold: unlike I/O, its cost is all in its duration, and a short one held nothing up.
CPU_SHARE = 0.1


def enable(loop: asyncio.AbstractEventLoop, threshold: float, sink: Sink) -> None:
    with _lock:
        _watched.setdefault(loop, []).append((threshold, sink))
        _patch_all()


def disable(loop: asyncio.AbstractEventLoop, sink: Sink) -> None:
    with _lock:
        entries = _watched.get(loop, [])
        for item in entries:
            if item[1] == sink:
                entries.remove(item)
                break
        if not entries:
            _watched.pop(loop, None)
        if not _watched:
            _restore_all()


def patched() -> dict[tuple[str, str], Any]:
    """What is currently wrapped: (module name, attribute) -> original (for tests)."""
    with _lock:
        return {(m.__name__, a): orig for (m, a), (orig, _) in _patched.items()}


def _patch_all() -> None:
    catalog = static_side.load_catalog()
    if catalog is None:  # without a catalog there is nothing to wrap
        logger.warning(
            "strict blocking detection is off: the catalog could not be loaded "
            "(the 'runtime' logger says why at DEBUG level)"
        )
        return
    for module_name, attr, entry in catalog.module_level_callables():
        module = sys.modules.get(module_name)
        if module is None or (module, attr) in _patched:
            continue
        original = getattr(module, attr, None)
        # Classes stay untouched: a function in their place would break isinstance().
        if original is None or isinstance(original, type) or not callable(original):
            continue
        if getattr(original, _MARK, None) is not None:
            continue
        name = f"{module_name}.{attr}"
        # sqlite3.connect(":memory:"), urlopen("data:..."): the catalog reads the real arguments.
        quiet = functools.partial(catalog.quiet_call, name) if name in catalog.ARGUMENT_CONDITIONS else None
        wrapper = _wrap(original, entry, name, quiet)
        try:
            setattr(module, attr, wrapper)
        except (AttributeError, TypeError):
            continue
        _patched[(module, attr)] = (original, wrapper)


def _restore_all() -> None:
    for (module, attr), (original, wrapper) in list(_patched.items()):
        if getattr(module, attr, None) is wrapper:
            setattr(module, attr, original)
        # else someone patched over us; our wrapper underneath passes through when unwatched.
        del _patched[(module, attr)]


def _wrap(original: Callable[..., Any], entry: Any, name: str,
          quiet: Callable[[tuple[Any, ...], dict[str, Any]], bool] | None = None) -> Callable[..., Any]:
    get_loop = asyncio._get_running_loop
    current_task = asyncio.current_task
    perf = time.perf_counter

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _watched:
            return original(*args, **kwargs)
        loop = get_loop()
        if loop is None or loop not in _watched or getattr(_local, "busy", False):
            return original(*args, **kwargs)
        try:
            task = current_task(loop)
        except RuntimeError:
            task = None
        caller = sys._getframe(1)
        if task is None or _under_import(caller) or (quiet is not None and quiet(args, kwargs)):
            return original(*args, **kwargs)
        _local.busy = True  # a wrapped call inside this one is part of it
        start = perf()
        try:
            return original(*args, **kwargs)
        finally:
            duration = perf() - start
            try:
                _dispatch(loop, entry, name, caller, duration)
            except Exception:  # noqa: BLE001 - never let reporting break the user's call
                logger.exception("strict blocking report for %s failed", name)
            finally:
                _local.busy = False

    setattr(wrapper, _MARK, original)
    return wrapper


def _dispatch(loop: asyncio.AbstractEventLoop, entry: Any, name: str, caller: FrameType, duration: float) -> None:
    with _lock:
        sinks = list(_watched.get(loop, ()))
    cpu = getattr(entry, "category", None) == "cpu"
    for threshold, sink in sinks:
        if duration >= threshold:
            continue  # long enough for the watchdog, which reports it
        if cpu and duration < threshold * CPU_SHARE:
            continue  # a CPU-heavy call on tiny input (zlib.compress of a cookie) blocks nothing
        sink(loop, entry, name, caller, duration)


def _under_import(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False

