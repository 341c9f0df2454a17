"""The state store a run's steps share: ``await ctx.store.get("a.b")``, ``await ctx.store.set(...)``.

In memory and cheap. Writes take a short thread lock, so plain ``def`` steps running in
worker threads may use the ``*_sync`` twins safely; ``edit_state`` serialises async
editors with an asyncio lock.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

_NO_DEFAULT: Any = Ellipsis


class DictState(dict):  # type: ignore[type-arg]
    """The default state: a dict whose keys also read and write as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _step_into(value: Any, segment: str) -> Any:
    if isinstance(value, dict):
        return value[segment]
    if isinstance(value, (list, tuple)) and segment.lstrip("-").isdigit():
        return value[int(segment)]
    return getattr(value, segment)


def _copy_state(state: Any) -> Any:
    model_copy = getattr(state, "model_copy", None)
    return model_copy() if callable(model_copy) else copy.copy(state)


class StateStore:
    """Shared state of a run (and of later runs given the same Context)."""

    def __init__(self, state_type: type | None = None) -> None:
        self._state: Any = state_type() if state_type is not None else DictState()
        self._lock = threading.Lock()
        self._edit_lock: asyncio.Lock | None = None

    # Synchronous twins: for plain def steps and other non-async code.
    def get_sync(self, path: str, default: Any = _NO_DEFAULT) -> Any:
        """Value at a dot-separated path ("user.name"); ``default`` or ValueError when absent."""
        value = self._state
        try:
            for segment in path.split(".") if path else ():
                value = _step_into(value, segment)
        except (KeyError, IndexError, AttributeError, TypeError):
            if default is not _NO_DEFAULT:
                return default
            raise ValueError(f"path {path!r} not found in the workflow state") from None
        return value

    def set_sync(self, path: str, value: Any) -> None:
        """Set the value at a dot-separated path; missing dict levels are created."""
        if not path:
            raise ValueError("path cannot be empty")
        *parents, last = path.split(".")
        with self._lock:
            target = self._state
            for segment in parents:
                try:
                    target = _step_into(target, segment)
                except (KeyError, AttributeError):
                    if not isinstance(target, dict):
                        raise ValueError(f"path {path!r}: no {segment!r} to set into") from None  # noqa: TRY004
                    target[segment] = DictState()
                    target = target[segment]
            if isinstance(target, dict):
                target[last] = value
            elif isinstance(target, list) and last.lstrip("-").isdigit():
                target[int(last)] = value
            else:
                setattr(target, last, value)

    # The async API of llama-index-workflows' store.
    async def get(self, path: str, default: Any = _NO_DEFAULT) -> Any:
        return self.get_sync(path, default)

    async def set(self, path: str, value: Any) -> None:
        self.set_sync(path, value)

    async def get_state(self) -> Any:
        """A copy of the whole state."""
        return _copy_state(self._state)

    async def set_state(self, state: Any) -> None:
        with self._lock:
            self._state = state

    async def clear(self) -> None:
        """Reset the state to a fresh instance of its type."""
        with self._lock:
            self._state = type(self._state)()

    @asynccontextmanager
    async def edit_state(self) -> AsyncIterator[Any]:
        """Edit the live state; concurrent async editors wait their turn."""
        if self._edit_lock is None:
            self._edit_lock = asyncio.Lock()
        async with self._edit_lock:
            yield self._state
