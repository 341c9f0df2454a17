"""Events: the payloads steps accept and return.

An event declares typed fields with class annotations (``query: str``,
``top_k: int = 3``); any other keyword given to the constructor is kept as an
extra field, readable as an attribute, with ``ev.get(key)`` and ``ev[key]``.
There is no per-event validation: constructing an event costs about as much as
constructing a plain object, which is what lets a run move tens of thousands of
events a second. Defaults written as ``pydantic.Field(default=...)`` or
``Field(default_factory=...)`` are honoured, so events written for
llama-index-workflows keep working.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, ClassVar

_REQUIRED, _VALUE, _FACTORY, _COPY = range(4)
_COPIED_DEFAULTS = (list, dict, set, bytearray)


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return getattr(annotation, "__origin__", None) is ClassVar or annotation is ClassVar


def _field_plan(default: Any) -> tuple[int, Any]:
    """How the constructor fills a field that was not given: (kind, value)."""
    if type(default).__name__ == "FieldInfo":  # pydantic.Field(...), read without importing pydantic
        factory = getattr(default, "default_factory", None)
        if factory is not None:
            return _FACTORY, factory
        value = getattr(default, "default", None)
        if repr(value) == "PydanticUndefined" or value is Ellipsis:
            return _REQUIRED, None
        default = value
    if isinstance(default, _COPIED_DEFAULTS):
        return _COPY, default
    return _VALUE, default


class Event:
    """Base class of every workflow event.

    >>> class Retrieved(Event):
    ...     query: str
    ...     top_k: int = 3
    >>> ev = Retrieved(query="q", source="web")
    >>> ev.query, ev.top_k, ev.source, ev.get("missing", 0)
    ('q', 3, 'web', 0)
    """

    # name -> (kind, value); filled per subclass from its annotations and those of its bases.
    _field_plans: ClassVar[dict[str, tuple[int, Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        plans: dict[str, tuple[int, Any]] = {}
        for klass in reversed(cls.__mro__):
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                if name.startswith("_") or _is_classvar(annotation):
                    continue
                if name in vars(klass):
                    plans[name] = _field_plan(vars(klass)[name])
                elif name not in plans:
                    plans[name] = (_REQUIRED, None)
        cls._field_plans = plans

    def __init__(self, **data: Any) -> None:
        own = self.__dict__
        plans = type(self)._field_plans
        if plans:
            for name, (kind, value) in plans.items():
                if name in data:
                    own[name] = data.pop(name)
                elif kind == _VALUE:
                    own[name] = value
                elif kind == _FACTORY:
                    own[name] = value()
                elif kind == _COPY:
                    own[name] = copy.copy(value)
                else:
                    raise TypeError(
                        f"{type(self).__name__}() missing required field {name!r} "
                        f"(declared fields: {', '.join(plans)})"
                    )
        own["_data"] = data

    # Attribute access: declared fields live in __dict__; extras in _data.
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_data":
            raise AttributeError(name)
        try:
            return self.__dict__["_data"][name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self)._field_plans or name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            self._data[name] = value

    # Mapping-style access to the extra fields (declared fields are found too).
    def get(self, key: str, default: Any = None) -> Any:
        data = self._data
        if key in data:
            return data[key]
        if key in type(self)._field_plans:
            return self.__dict__.get(key, default)
        return default

    def __getitem__(self, key: str) -> Any:
        data = self._data
        if key in data:
            return data[key]
        if key in type(self)._field_plans:
            return self.__dict__[key]
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def keys(self) -> Any:
        return self._data.keys()

    def values(self) -> Any:
        return self._data.values()

    def items(self) -> Any:
        return self._data.items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        """The extra fields, as a dict."""
        return self._data

    def model_dump(self) -> dict[str, Any]:
        """Declared fields followed by the extra fields, as a new dict."""
        own = self.__dict__
        dumped = {name: own[name] for name in type(self)._field_plans if name in own}
        dumped.update(self._data)
        return dumped

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like the pydantic events it stands in for

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.model_dump().items())
        return f"{type(self).__name__}({fields})"


class StartEvent(Event):
    """The event a run starts with; ``wf.run(**kwargs)`` builds it from the keyword arguments."""


class StopEvent(Event):
    """The event that ends a run. ``await handler`` gives ``result`` for a plain StopEvent
    and the event itself for a subclass."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass may annotate `result` to document its type; it stays the property.
        cls._field_plans = {k: v for k, v in cls._field_plans.items() if k != "result"}

    def __init__(self, result: Any = None, **data: Any) -> None:
        super().__init__(**data)
        self.__dict__["_result"] = result

    @property
    def result(self) -> Any:
        return self.__dict__.get("_result")

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = {"result": self.result, **self.model_dump()}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def __str__(self) -> str:
        return str(self.result)


class InputRequiredEvent(Event):
    """A step asks the caller for input. Returned from a step it is written to the event
    stream; it needs no consumer."""


class HumanResponseEvent(Event):
    """The caller's answer to an InputRequiredEvent, sent with ``handler.ctx.send_event``."""
