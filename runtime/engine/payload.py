"""What a step sent to another process takes with it, and which part could not go.

A call travels as one pickled tuple: the step function, a copy of the workflow (its
class and its attributes, less those the engine keeps on the loop), and the event.
When pickling fails, each part is tried alone, then each attribute or field, so the
error names the one value to fix instead of echoing the pickler.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# Attributes of a Workflow that serve the engine on this side and never travel.
LOOP_ONLY_ATTRIBUTES = frozenset({"_default_executor"})


class PayloadError(Exception):
    """A part of a step call cannot be pickled; ``what`` names it, ``advice`` says how to fix it."""

    def __init__(self, what: str, advice: str, cause: BaseException) -> None:
        super().__init__(f"{what} cannot be pickled ({_reason(cause)})")
        self.what = what
        self.advice = advice


def _rebuild(cls: type, state: dict[str, Any]) -> Any:
    """Process side: the workflow copy, made without running ``__init__`` again."""
    instance = cls.__new__(cls)
    instance.__dict__.update(state)
    return instance


class _WorkflowCopy:
    """Pickles as its class and attributes, so the far side gets an instance back."""

    __slots__ = ("cls", "state")

    def __init__(self, cls: type, state: dict[str, Any]) -> None:
        self.cls = cls
        self.state = state

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[type, dict[str, Any]]]:
        return _rebuild, (self.cls, self.state)


def _pickles_itself(cls: type) -> bool:
    """Whether the class took charge of its own pickling; then it travels as it says."""
    return (
        cls.__reduce_ex__ is not object.__reduce_ex__
        or cls.__reduce__ is not object.__reduce__
        or getattr(cls, "__getstate__", None) is not getattr(object, "__getstate__", None)
    )


def workflow_for_travel(instance: Any) -> Any:
    if _pickles_itself(type(instance)) or not hasattr(instance, "__dict__"):
        return instance
    state = {k: v for k, v in vars(instance).items() if k not in LOOP_ONLY_ATTRIBUTES}
    return _WorkflowCopy(type(instance), state)


def call_packed(payload: bytes) -> Any:
    """Process side: unpickle (function, workflow-or-None, event parameter, event) and call it."""
    func, workflow, keyword, ev = pickle.loads(payload)
    head = () if workflow is None else (workflow,)
    if keyword is not None:
        return func(*head, **{keyword: ev})
    return func(*head, ev)


def pack(
    dumps: Callable[[Any], bytes], func: Callable[..., Any], instance: Any, keyword: str | None, ev: Any
) -> bytes:
    """The pickled call, or PayloadError naming the part that cannot be pickled."""
    workflow = None if instance is None else workflow_for_travel(instance)
    try:
        return dumps((func, workflow, keyword, ev))
    except Exception as exc:  # noqa: BLE001 - picklers raise many types; every one means "cannot travel"
        raise _culprit(dumps, func, instance, workflow, ev, exc) from exc


def _culprit(
    dumps: Callable[[Any], bytes], func: Any, instance: Any, workflow: Any, ev: Any, exc: BaseException
) -> PayloadError:
    if workflow is not None:
        name = type(instance).__name__
        state = workflow.state.items() if isinstance(workflow, _WorkflowCopy) else _members(instance)
        found = _first_failure(dumps, state)
        if found is not None:
            key, value, failure = found
            return PayloadError(
                f"the workflow attribute 'self.{key}' ({_type_name(value)})",
                f"a step in another process gets a copy of the {name} instance's attributes: "
                "create the object inside the step, or keep it in a ThreadPoolExecutor step",
                failure,
            )
        failure = _failure(dumps, workflow)
        if failure is not None:
            return PayloadError(f"the workflow instance ({name})", "define its class at module level", failure)
    found = _first_failure(dumps, _members(ev))
    if found is not None:
        key, value, failure = found
        return PayloadError(
            f"the field '{key}' of the event {type(ev).__name__} ({_type_name(value)})",
            "send what the object is made from (a path, a URL, the data) and build it in the step",
            failure,
        )
    failure = _failure(dumps, ev)
    if failure is not None:
        return PayloadError(f"the event {type(ev).__name__}", "define the event class at module level", failure)
    failure = _failure(dumps, func)
    if failure is not None:
        return PayloadError("the step function", "define it at module level", failure)
    return PayloadError("the call", "keep clients, locks and open files off events and the workflow", exc)


def _members(obj: Any) -> Iterator[tuple[str, Any]]:
    """An object's attributes and pydantic's extra fields, where it has them."""
    yield from (getattr(obj, "__dict__", None) or {}).items()
    yield from (getattr(obj, "__pydantic_extra__", None) or {}).items()


def _first_failure(
    dumps: Callable[[Any], bytes], members: Iterable[tuple[str, Any]]
) -> tuple[str, Any, BaseException] | None:
    """The first member that does not pickle; inside a private dict (an event's store of
    extra fields), the entry that does not."""
    for key, value in members:
        failure = _failure(dumps, value)
        if failure is None:
            continue
        if isinstance(value, dict) and key.startswith("_"):
            inner = _first_failure(dumps, ((k, v) for k, v in value.items() if isinstance(k, str)))
            if inner is not None:
                return inner
        return key, value, failure
    return None


def _failure(dumps: Callable[[Any], bytes], value: Any) -> BaseException | None:
    try:
        dumps(value)
    except Exception as exc:  # noqa: BLE001 - see pack()
        return exc
    return None


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
