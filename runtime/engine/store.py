"""The state store a run's steps share: ``await ctx.store.get("a.b")``, ``await ctx.store.set(...)``.

In memory and cheap. Writes take a short thread lock, so plain ``def`` steps running in
worker threads may use the ``*_sync`` twins safely; ``edit_state`` serialises async
editors with an asyncio lock. ``to_dict``/``from_dict`` save and restore it in
llama-index-workflows' payload shape (``store_type``, ``state_type``, ``state_module``,
``state_data``), values written by a serializer (runtime.engine.serializers).
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .serializers import BaseSerializer, JsonSerializer

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


class SavedState(BaseModel):
    """A store as ``to_dict`` writes it: for a DictState ``state_data`` is
    ``{"_data": {key: serialized value}}``, for a typed state the serialized model."""

    store_type: Literal["in_memory"] = "in_memory"
    state_type: str = "DictState"
    state_module: str = __name__
    state_data: Any = None


def encode_state(state: Any, serializer: BaseSerializer) -> dict[str, Any]:
    """``state`` as a SavedState dict; ValueError naming the key a value cannot be written for."""
    if isinstance(state, dict):
        data: dict[str, Any] = {}
        for key, value in state.items():
            try:
                data[key] = serializer.serialize(value)
            except Exception as exc:  # noqa: BLE001 - the serializer's own message says why
                raise ValueError(f"Failed to serialize state value for key {key}: {exc}") from exc
        state_data: Any = {"_data": data}
    else:
        state_data = serializer.serialize(state)
    kind = type(state)
    return SavedState(state_type=kind.__name__, state_module=kind.__module__, state_data=state_data).model_dump()


def decode_state(payload: Any, serializer: BaseSerializer) -> Any:
    """The state a SavedState dict holds; ValueError when it is not one."""
    if not payload:
        return DictState()
    try:
        saved = SavedState.model_validate(payload)
    except ValidationError as exc:
        raise ValueError(f"not a saved in-memory state store: {exc}") from None
    data = saved.state_data
    if data is None:
        return DictState()
    if isinstance(data, dict):
        values = data.get("_data")
        if not isinstance(values, dict):
            raise ValueError("a saved dict state keeps its values under '_data'")
        state = DictState()
        for key, value in values.items():
            try:
                state[key] = serializer.deserialize(value)
            except Exception as exc:  # noqa: BLE001 - name the key whatever went wrong
                raise ValueError(f"Failed to deserialize state value for key {key}: {exc}") from exc
        return state
    if isinstance(data, str):
        state = serializer.deserialize(data)
        if isinstance(state, BaseModel):
            return state
        raise ValueError(f"the saved typed state decodes to {type(state).__name__}, not a pydantic model")
    raise ValueError(f"unrecognised saved state of type {type(data).__name__}")


class StateStore:
    """Shared state of a run (and of later runs given the same Context).

    ``state``: the state's type (a pydantic model with defaults for every field), or an
    initial state instance; None starts from an empty DictState.
    """

    def __init__(self, state: Any = None) -> None:
        if state is None:
            state = DictState()
        elif isinstance(state, type):
            state = state()
        self._state: Any = state
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

    # -- saving ----------------------------------------------------------------------------
    def to_dict(self, serializer: BaseSerializer | None = None) -> dict[str, Any]:
        """The state as plain data for ``from_dict`` (JsonSerializer unless told otherwise).

        Raises ValueError when a value cannot be written with ``serializer`` (PickleSerializer
        takes any picklable value)."""
        with self._lock:
            return encode_state(self._state, serializer or JsonSerializer())

    @classmethod
    def from_dict(cls, serialized_state: dict[str, Any], serializer: BaseSerializer | None = None) -> StateStore:
        """A store holding the state ``to_dict`` saved; ValueError for anything else."""
        return cls(decode_state(serialized_state, serializer or JsonSerializer()))


# llama-index-workflows' name for its in-memory store.
InMemoryStateStore = StateStore
