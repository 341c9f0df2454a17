"""Events: the pydantic models steps accept and return.

An event declares typed fields with class annotations (``query: str``, ``top_k: int = 3``,
``pydantic.Field(...)``); pydantic validates them, dumps them to dicts and JSON, and describes
them with a JSON schema. Any keyword the class does not declare is kept as an extra field,
readable as an attribute, with ``ev.get(key)`` and ``ev[key]``, and dumped under ``"_data"``.

Extras live in the instance's ``__dict__`` under ``_data`` rather than in a pydantic private
attribute: a model with private attributes runs a Python initialiser on every construction,
which would triple the cost of the most frequent thing a run does. Private attributes a
subclass declares (``_cursor: int = PrivateAttr(0)``) work as in any pydantic model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SerializeAsAny, WithJsonSchema, model_serializer

_EXTRAS = "_data"


def extras_of(ev: Event) -> dict[str, Any]:
    """The extra fields of an event: the live dict, made on first use (most events have no
    extras, and a run builds many events)."""
    own = ev.__dict__
    extras = own.get(_EXTRAS)
    if extras is None:
        extras = own[_EXTRAS] = {}
    return extras


class Event(BaseModel):
    """Base class of every workflow event.

    >>> class Retrieved(Event):
    ...     query: str
    ...     top_k: int = 3
    >>> ev = Retrieved(query="q", top_k="5", source="web")
    >>> ev.query, ev.top_k, ev.source, ev.get("missing", 0)
    ('q', 5, 'web', 0)
    >>> ev.model_dump_json()
    '{"query":"q","top_k":5,"_data":{"source":"web"}}'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # pydantic keeps the locals of the function that defined the class, to resolve its
        # annotations later; a complete model needs them no more, and a step pickled by value
        # (cloudpickle, on a Dask cluster) would drag them along: a client, a lock, ...
        if cls.__pydantic_complete__:
            cls.__pydantic_parent_namespace__ = None

    def __init__(self, **params: Any) -> None:
        cls = type(self)
        fields = cls.__pydantic_fields__
        for key in params:
            if key not in fields:
                break
        else:  # only declared fields: the common case, validated in one call (extras come on first use)
            self.__pydantic_validator__.validate_python(params, self_instance=self)
            return
        private = cls.__private_attributes__
        declared = {k: v for k, v in params.items() if k in fields}
        self.__pydantic_validator__.validate_python(declared, self_instance=self)
        extras: dict[str, Any] = {}
        for key, value in params.items():
            if key in fields:
                continue
            if key in private:
                BaseModel.__setattr__(self, key, value)
            elif key == _EXTRAS and isinstance(value, dict):
                # A dump read back (``model_validate(ev.model_dump())``): its extras come home.
                extras.update(value)
            else:
                extras[key] = value
        self.__dict__[_EXTRAS] = extras

    # Attribute access: declared fields are found in __dict__ before this is called.
    def __getattr__(self, name: str) -> Any:
        if name == _EXTRAS:
            return extras_of(self)
        if not name.startswith("__"):
            extras = self.__dict__.get(_EXTRAS)
            if extras is not None and name in extras:
                return extras[name]
        if name in type(self).__private_attributes__:
            return super().__getattr__(name)  # type: ignore[misc]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        cls = type(self)
        if name in cls.__pydantic_fields__ or name in cls.__private_attributes__ or hasattr(cls, name):
            super().__setattr__(name, value)
        else:
            extras_of(self)[name] = value

    # Mapping-style access to the extra fields.
    def get(self, key: str, default: Any = None) -> Any:
        return extras_of(self).get(key, default)

    def __getitem__(self, key: str) -> Any:
        return extras_of(self)[key]

    def __setitem__(self, key: str, value: Any) -> None:
        extras_of(self)[key] = value

    def __contains__(self, key: object) -> bool:
        return key in extras_of(self)

    def keys(self) -> Any:
        return extras_of(self).keys()

    def values(self) -> Any:
        return extras_of(self).values()

    def items(self) -> Any:
        return extras_of(self).items()

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(extras_of(self))

    def __len__(self) -> int:
        return len(extras_of(self))

    def __bool__(self) -> bool:
        return True

    def to_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The extra fields (the live dict, not a copy)."""
        return extras_of(self)

    @model_serializer(mode="wrap")
    def _dump_with_extras(self, handler: Any) -> dict[str, Any]:
        dumped = handler(self)
        extras = self.__dict__.get(_EXTRAS)
        if extras:
            dumped[_EXTRAS] = extras
        return dumped

    def __eq__(self, other: object) -> bool:
        same = super().__eq__(other)
        if same is not True:
            return same
        return (self.__dict__.get(_EXTRAS) or None) == (other.__dict__.get(_EXTRAS) or None)  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]  # mutable


class StartEvent(Event):
    """The event a run starts with; ``wf.run(**kwargs)`` builds it from the keyword arguments."""


class StopEvent(Event):
    """The event that ends a run. ``await handler`` gives ``result`` for a plain StopEvent
    and the event itself for a subclass.

    ``result`` is not a field: it is kept as given, never validated, and dumped as
    ``"result"`` when it is not None. Extras given to a StopEvent are readable but not dumped.
    """

    def __init__(self, result: Any = None, **params: Any) -> None:
        super().__init__(**params)
        self.__dict__["_result"] = result

    def _get_result(self) -> Any:
        """What ``result`` returns; a subclass may compute it from its fields."""
        return self.__dict__.get("_result")

    @property
    def result(self) -> Any:
        return self._get_result()

    @model_serializer(mode="wrap")
    def _dump_with_extras(self, handler: Any) -> dict[str, Any]:
        dumped = handler(self)
        result = self.__dict__.get("_result")
        if result is not None:
            dumped["result"] = result
        return dumped

    def __eq__(self, other: object) -> bool:
        same = super().__eq__(other)
        if same is not True:
            return same
        return self.__dict__.get("_result") == other.__dict__.get("_result")  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = {**extras_of(self), **self.model_dump()}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def __str__(self) -> str:
        return str(self.__dict__.get("_result"))


def _exception_record(error: BaseException) -> dict[str, str]:
    kind = type(error)
    return {"exception_type": f"{kind.__module__}.{kind.__qualname__}", "exception_message": str(error)}


# An exception carried by an event: the live object in the run, its type and message in JSON.
# Its JSON schema says nothing (any value), as the peer's does.
CarriedException = Annotated[
    Exception, PlainSerializer(_exception_record, return_type=dict[str, str]), WithJsonSchema({})
]


class WorkflowTimedOutEvent(StopEvent):
    """Published on the stream when a run outlives its timeout; awaiting the handler then
    raises WorkflowTimeoutError."""

    timeout: float
    active_steps: list[str]


class WorkflowCancelledEvent(StopEvent):
    """Published on the stream when the caller cancels a run (``await handler.cancel_run()``);
    awaiting the handler then raises WorkflowCancelledByUser."""


class WorkflowFailedEvent(StopEvent):
    """Published on the stream when a step fails for good (retries exhausted, no error
    handler, or the handler itself failed); awaiting the handler then raises the error."""

    step_name: str
    exception: CarriedException
    attempts: int | None = None
    elapsed_seconds: float | None = None


class StepFailedEvent(Event):
    """What a ``@catch_error`` handler receives when a step fails for good."""

    step_name: str
    input_event: SerializeAsAny[Event]
    exception: CarriedException
    attempts: int
    elapsed_seconds: float
    failed_at: datetime = Field(description="When the last attempt failed (UTC)")


class InputRequiredEvent(Event):
    """A step asks the caller for input. Returned from a step it is written to the event
    stream; it needs no consumer."""


class HumanResponseEvent(Event):
    """The caller's answer to an InputRequiredEvent, sent with ``handler.ctx.send_event``."""


class InternalDispatchEvent(Event):
    """An event the engine itself publishes about a run's inner workings; the stream carries
    them only to ``handler.stream_events(expose_internal=True)``."""


class StepState(Enum):
    """Where one step execution stands, as StepStateChanged reports it."""

    PREPARING = "preparing"  # enqueued: every worker of the step is busy
    RUNNING = "running"
    NOT_RUNNING = "not_running"  # finished (an attempt that failed counts too)


class StepStateChanged(InternalDispatchEvent):
    """A step execution started (``RUNNING``), waits for a worker (``PREPARING``, worker
    ``"<enqueued>"``) or ended (``NOT_RUNNING``, with ``str()`` of the input and output types,
    the output None for a failed attempt), as llama-index-workflows reports them."""

    name: str = Field(description="Name of the step")
    step_state: StepState = Field(description="State of the step")
    worker_id: str = Field(description="ID of the worker that the step is running on")
    input_event_name: str = Field(description="Name of the input event")
    output_event_name: str | None = Field(description="Name of the output event", default=None)


EventType = type[Event]
