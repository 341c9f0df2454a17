"""The ``@step`` decorator: what a step accepts, returns and needs, read from its signature.

The decorator checks the shape of the signature at once (an event parameter, a return
annotation) and leaves resolving the annotations to validation, so a step may name
events that are defined further down the module.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from runtime.detect.step_codes import remember_step_code

from .errors import WorkflowValidationError
from .events import Event, StepFailedEvent
from .resource import ResourceDefinition, resource_definition
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .workflow import Workflow

DEFAULT_NUM_WORKERS = 4
# Graph checks a step (or a whole workflow) may opt out of.
STEP_GRAPH_CHECKS = ("reachability", "dead_end")
WORKFLOW_GRAPH_CHECKS = ("dead_end", "reachability", "terminal_event")

_CONTEXT_TEXT = re.compile(r"(?:\w+\.)*Context(?:\[.*\])?")


def register_step_code(workflow_name: str, spec: StepSpec) -> None:
    """Tell the detector which workflow and step a function's code belongs to (wrapped functions
    too), so a report on a blocked loop names the step."""
    func: Any = spec.func
    seen = 0
    while func is not None and seen < 8:
        code = getattr(func, "__code__", None)
        if isinstance(code, types.CodeType):
            remember_step_code(code, workflow_name, spec.name)
        func = getattr(func, "__wrapped__", None)
        seen += 1


@dataclass(eq=False)
class StepSpec:
    """Everything the engine needs to know about one step."""

    name: str
    func: Callable[..., Any]
    is_async: bool
    has_self: bool
    event_param: str
    context_param: str | None
    num_workers: int
    executor: Executor | None
    # How the engine passes arguments: "event", "ctx_event", "event_ctx" or "keywords".
    call_style: str = "event"
    retry_policy: RetryPolicy | None = None
    skip_graph_checks: frozenset[str] = frozenset()
    # Route events of subclasses of the accepted types here too (else: exact types only).
    accept_event_subclasses: bool = False
    # A @catch_error handler: the steps it covers (None: every step no other handler covers)
    # and how often one chain of events may come back to it.
    is_error_handler: bool = False
    for_steps: tuple[str, ...] | None = None
    max_recoveries: int = 1
    # Caller's locals at decoration time, so annotations naming local classes resolve.
    localns: dict[str, Any] = field(default_factory=dict, repr=False)
    # Parameters annotated Annotated[T, Resource(...)] or Annotated[T, ResourceConfig(...)].
    resources: tuple[ResourceDefinition, ...] = ()
    # Filled by resolve(): the event types accepted and returned, the typed state if any.
    accepted: tuple[type[Event], ...] = ()
    returns: tuple[type, ...] = ()
    state_type: type | None = None
    resolved: bool = False

    def __getstate__(self) -> dict[str, Any]:
        # A step function pickled by value (cloudpickle, for a workflow class defined in a
        # function or in __main__) carries its spec: the executor and the decoration site's
        # locals stay behind, since only the engine on the caller's side reads them.
        state = dict(self.__dict__)
        state["executor"] = None
        state["localns"] = {}
        return state

    @property
    def resource_params(self) -> tuple[str, ...]:
        return tuple(definition.name for definition in self.resources)

    def resolve(self, workflow_name: str) -> None:
        """Turn the annotations into event types, or explain which one is wrong."""
        if self.resolved:
            return
        where = f"step '{self.name}' of {workflow_name}"
        try:
            hints = get_type_hints(self.func, localns=self.localns)
        except NameError as exc:
            raise WorkflowValidationError(
                f"{where}: cannot resolve an annotation ({exc}); define the event classes "
                "at module level, or before the workflow class that uses them"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any broken annotation expression, e.g. a bad subscript
            raise WorkflowValidationError(f"{where}: cannot evaluate its annotations: {exc}") from None
        self.accepted = tuple(_event_types(hints[self.event_param], where, f"parameter '{self.event_param}'"))
        self.returns = tuple(_event_types(hints["return"], where, "return annotation", allow_none=True))
        if self.context_param is not None:
            args = get_args(hints.get(self.context_param))
            self.state_type = args[0] if args and isinstance(args[0], type) else None
        self.resolved = True


def _flatten_union(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        flat: list[Any] = []
        for arg in get_args(annotation):
            flat.extend(_flatten_union(arg))
        return flat
    return [annotation]


def _event_types(annotation: Any, where: str, what: str, allow_none: bool = False) -> list[type]:
    found: list[type] = []
    for member in _flatten_union(annotation):
        if member is None or member is type(None):
            if allow_none:
                found.append(type(None))
                continue
            raise WorkflowValidationError(f"{where}: {what} cannot be None; name the Event subclass it accepts")
        if isinstance(member, type) and issubclass(member, Event):
            found.append(member)
            continue
        shown = getattr(member, "__name__", None) or repr(member)
        hint = ""
        if get_origin(member) is list:
            hint = " (returning a list of events is not supported: send them with ctx.send_event)"
        raise WorkflowValidationError(
            f"{where}: {what} names {shown}, which is not an Event subclass{hint}"
        )
    return found


def _is_context_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return _CONTEXT_TEXT.fullmatch(annotation.strip()) is not None
    target = get_origin(annotation) or annotation
    return getattr(target, "__name__", None) == "Context"


def _caller_locals(depth: int) -> dict[str, Any]:
    """Locals lexically around the decoration site: the class bodies being defined and the
    function that encloses them (module globals are found through the function itself).

    Stopping at the first function frame keeps unrelated locals of callers further up
    from shadowing the names an annotation means.
    """
    frame = inspect.currentframe()
    try:
        for _ in range(depth):
            frame = frame.f_back if frame is not None else None
        chain = []
        while frame is not None and frame.f_code.co_name != "<module>":
            chain.append(frame)
            if frame.f_code.co_flags & inspect.CO_OPTIMIZED:  # a function, not a class body
                break
            frame = frame.f_back
        merged: dict[str, Any] = {}
        for scope in reversed(chain):
            merged.update(scope.f_locals)
        return merged
    finally:
        del frame


def make_step_spec(
    func: Callable[..., Any],
    *,
    num_workers: int = DEFAULT_NUM_WORKERS,
    executor: Executor | None = None,
    localns: dict[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: Any = None,
    accept_event_subclasses: bool = False,
) -> StepSpec:
    """Read a step's signature; raise WorkflowValidationError when it cannot be a step."""
    name = getattr(func, "__name__", repr(func))
    where = f"step '{name}'"
    if not callable(func):
        raise WorkflowValidationError(f"@step decorates a function, got {type(func).__name__}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise WorkflowValidationError(f"{where}: num_workers must be an integer >= 1, got {num_workers!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise WorkflowValidationError(f"{where}: {executor_error(executor)}")
    if retry_policy is not None and not callable(getattr(retry_policy, "next", None)):
        raise WorkflowValidationError(
            f"{where}: retry_policy must have a next(elapsed_time, attempts, error) method, "
            f"got {type(retry_policy).__name__}; build one with retry_policy(...)"
        )
    skipped = frozenset(skip_graph_checks or ())
    unknown = sorted(skipped - set(STEP_GRAPH_CHECKS))
    if unknown or isinstance(skip_graph_checks, str):
        raise WorkflowValidationError(
            f"{where}: skip_graph_checks takes a list of {', '.join(STEP_GRAPH_CHECKS)}, got {skip_graph_checks!r}"
        )
    is_async = inspect.iscoroutinefunction(inspect.unwrap(func)) or inspect.iscoroutinefunction(func)
    if inspect.isasyncgenfunction(func):
        raise WorkflowValidationError(f"{where}: a step cannot be an async generator; return one event or None")
    if is_async and executor is not None:
        raise WorkflowValidationError(
            f"{where}: executor= runs plain def steps; this step is async def. Make it a plain def, "
            "or keep it async and hand the work to loop.run_in_executor(pool, fn, ...)"
        )
    signature = inspect.signature(func)
    resources = _resource_params(func, signature, localns or {})
    has_self = False
    event_params: list[str] = []
    context_param: str | None = None
    order: list[str] = []
    keyword_only = False
    for index, param in enumerate(signature.parameters.values()):
        if index == 0 and param.name in ("self", "cls"):
            has_self = True
            continue
        keyword_only = keyword_only or param.kind is param.KEYWORD_ONLY
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise WorkflowValidationError(f"{where}: *args/**kwargs are not supported in a step signature")
        if param.annotation is inspect.Parameter.empty:
            suggestion = "ctx: Context" if param.name in ("ctx", "context") else f"{param.name}: MyEvent"
            raise WorkflowValidationError(
                f"{where}: parameter '{param.name}' has no annotation; steps are routed by "
                f"annotations, so write it as '{suggestion}'"
            )
        if _is_context_annotation(param.annotation):
            context_param = param.name
            order.append("ctx")
        elif param.name in resources:
            keyword_only = True  # resources are passed by name, so every argument is
        else:
            event_params.append(param.name)
            order.append("event")
    if not event_params:
        raise WorkflowValidationError(
            f"{where}: no event parameter; a step takes one parameter annotated with the "
            "Event subclass(es) it accepts, e.g. 'ev: StartEvent'"
        )
    if len(event_params) > 1:
        raise WorkflowValidationError(
            f"{where}: takes {len(event_params)} event parameters ({', '.join(event_params)}); a step takes "
            "one (use a union 'ev: A | B' and ctx.collect_events to wait for several)"
        )
    if signature.return_annotation is inspect.Signature.empty:
        raise WorkflowValidationError(
            f"{where}: no return annotation; annotate the events it returns, e.g. '-> StopEvent' "
            "or '-> A | B | None'"
        )
    return StepSpec(
        name=name,
        func=func,
        is_async=is_async,
        has_self=has_self,
        event_param=event_params[0],
        context_param=context_param,
        num_workers=num_workers,
        executor=executor,
        call_style="keywords" if keyword_only else "_".join(order),
        localns=dict(localns or {}),
        retry_policy=retry_policy,
        skip_graph_checks=skipped,
        accept_event_subclasses=bool(accept_event_subclasses),
        resources=tuple(resources.values()),
    )


def _resource_params(
    func: Callable[..., Any], signature: inspect.Signature, localns: dict[str, Any]
) -> dict[str, ResourceDefinition]:
    """The parameters that ask for a resource. Annotations written as strings are evaluated
    now (a resource parameter is not an event parameter, which decides the call's shape); one
    that cannot be evaluated yet is left to validation, as an event annotation."""
    if not any(_may_be_annotated(p.annotation) for p in signature.parameters.values()):
        return {}
    try:
        hints = get_type_hints(func, localns=localns, include_extras=True)
    except Exception:  # noqa: BLE001 - a name defined later: evaluate what can be, one by one
        hints = {}
        scope = getattr(inspect.unwrap(func), "__globals__", {})
        for param in signature.parameters.values():
            if isinstance(param.annotation, str) and "Annotated" in param.annotation:
                try:
                    hints[param.name] = eval(param.annotation, scope, localns)  # noqa: S307 - the user's own annotation, as get_type_hints does
                except Exception:  # noqa: BLE001, S112
                    continue
    found: dict[str, ResourceDefinition] = {}
    for name, param in signature.parameters.items():
        definition = resource_definition(name, hints.get(name, param.annotation), localns)
        if definition is not None:
            found[name] = definition
    return found


def _may_be_annotated(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return "Annotated" in annotation
    return get_origin(annotation) is Annotated


def executor_error(executor: object) -> str:
    """Why ``executor`` cannot run def steps, with the fix for the usual mix-up."""
    kind = type(executor)
    hint = ""
    if kind.__name__ == "Client" and kind.__module__.startswith("distributed"):
        hint = "; for a Dask cluster pass client.get_executor(), not the Client"
    return (
        "executor must be a concurrent.futures Executor (a ThreadPoolExecutor, a "
        f"ProcessPoolExecutor, Dask's client.get_executor(), ...), got {kind.__name__}{hint}"
    )


def step(
    func: Callable[..., Any] | None = None,
    *,
    workflow: type[Workflow] | None = None,
    num_workers: int = DEFAULT_NUM_WORKERS,
    executor: Executor | None = None,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: list[str] | None = None,
    accept_event_subclasses: bool = False,
) -> Any:
    """Declare a workflow step: ``@step``, or ``@step(num_workers=8, executor=pool)``.

    Methods of a Workflow subclass are its steps; a free function joins a workflow
    with ``@step(workflow=MyFlow)``. A plain ``def`` step runs in a thread (the loop's
    default pool, or ``executor``) so its blocking calls never stall the event loop.

    ``retry_policy`` runs a failed step again (see :mod:`runtime.engine.retry`);
    ``accept_event_subclasses=True`` routes subclasses of the accepted event types here
    too; ``skip_graph_checks=["reachability", "dead_end"]`` exempts the step from those
    graph checks.
    """
    options = {
        "num_workers": num_workers,
        "executor": executor,
        "retry_policy": retry_policy,
        "skip_graph_checks": skip_graph_checks,
        "accept_event_subclasses": accept_event_subclasses,
    }
    return _decorator(func, workflow, options, _caller_locals(2))


def catch_error(
    func: Callable[..., Any] | None = None,
    *,
    for_steps: list[str] | None = None,
    max_recoveries: int = 1,
) -> Any:
    """Declare a step that handles other steps' failures: ``@catch_error`` or
    ``@catch_error(for_steps=["fetch"], max_recoveries=2)``.

    When a step fails for good (its retry policy, if any, gave up), the handler covering it
    gets a StepFailedEvent instead of the run failing. It may return a StopEvent to end the
    run, another event to carry on, or raise to fail the run. A bare ``@catch_error`` covers
    every step that no ``for_steps`` handler names. ``max_recoveries`` bounds how many times
    one chain of events may come back to the handler before the failure ends the run.
    """
    if isinstance(max_recoveries, bool) or not isinstance(max_recoveries, int) or max_recoveries < 1:
        raise WorkflowValidationError(f"@catch_error: max_recoveries must be an integer >= 1, got {max_recoveries!r}")
    if for_steps is not None and (
        not isinstance(for_steps, (list, tuple)) or not all(isinstance(name, str) for name in for_steps)
    ):
        raise WorkflowValidationError(f"@catch_error: for_steps must be a list of step names, got {for_steps!r}")
    options = {
        "num_workers": 1,
        "is_error_handler": True,
        "for_steps": None if for_steps is None else tuple(for_steps),
        "max_recoveries": max_recoveries,
    }
    return _decorator(func, None, options, _caller_locals(2))


def _decorator(
    func: Callable[..., Any] | None, workflow: type[Workflow] | None, options: dict[str, Any], localns: dict[str, Any]
) -> Any:
    """Apply a step decorator now (``@step``) or return it (``@step(...)``)."""
    handler_options = {k: options.pop(k) for k in ("is_error_handler", "for_steps", "max_recoveries") if k in options}

    def decorate(target: Callable[..., Any]) -> Callable[..., Any]:
        spec = make_step_spec(target, localns=localns, **options)
        if handler_options:
            for name, value in handler_options.items():
                setattr(spec, name, value)
            _check_handler_event(spec)
        target._wfasync_step = spec  # type: ignore[attr-defined]
        if workflow is not None:
            workflow.add_step(target)
        elif not spec.has_self:
            raise WorkflowValidationError(
                f"step '{spec.name}' is a free function: attach it with @step(workflow=MyWorkflow)"
            )
        return target

    return decorate(func) if func is not None else decorate


def _check_handler_event(spec: StepSpec) -> None:
    """A @catch_error handler takes a StepFailedEvent: say so at the decorator when the
    annotation can be read now (else the workflow's validation says it)."""
    try:
        annotation = get_type_hints(spec.func, localns=spec.localns).get(spec.event_param)
    except Exception:  # noqa: BLE001 - a name defined later: checked when the workflow is validated
        return
    if _flatten_union(annotation) != [StepFailedEvent]:
        shown = getattr(annotation, "__name__", None) or repr(annotation)
        raise WorkflowValidationError(
            f"@catch_error handler '{spec.name}' must take 'ev: StepFailedEvent', not {shown}"
        )


def spec_of(obj: Any) -> StepSpec | None:
    """The StepSpec attached to a function by @step, if any."""
    return getattr(obj, "_wfasync_step", None)

