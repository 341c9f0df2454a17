"""Checks that a workflow's steps form a runnable graph, and the routing table they imply."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from . import executors
from .errors import WorkflowConfigurationError, WorkflowValidationError
from .events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StepFailedEvent, StopEvent
from .steps import StepSpec

# Events that may cross the workflow's boundary: produced for the caller, or sent by it.
_LEAVES = (StopEvent, InputRequiredEvent, HumanResponseEvent)
_ENTERS = (HumanResponseEvent, InputRequiredEvent, StepFailedEvent)
# Events a run may end on.
_TERMINALS = (StopEvent, InputRequiredEvent)


@dataclass(frozen=True)
class WorkflowPlan:
    """A validated workflow: its steps and which step receives which event type."""

    workflow_name: str
    steps: dict[str, StepSpec]
    routes: dict[type, tuple[str, ...]]
    start_event: type[StartEvent]
    stop_event: type[StopEvent]
    state_type: type | None
    uses_hitl: bool
    # @catch_error handlers by name, and the handler covering each step it covers.
    handlers: dict[str, StepSpec]
    handler_for: dict[str, str]
    uses_resources: bool = False

    @property
    def events(self) -> list[type[Event]]:
        seen: dict[type, None] = {}
        for spec in self.steps.values():
            for kind in (*spec.accepted, *spec.returns):
                if kind is not type(None):
                    seen[kind] = None
        return list(seen)


def _names(kinds: Any) -> str:
    return ", ".join(sorted(k.__name__ for k in kinds))


def _steps_touching(steps: dict[str, StepSpec], kind: type, attr: str) -> str:
    return ", ".join(f"'{n}'" for n, s in steps.items() if kind in getattr(s, attr))


def _single(kinds: set[type], base: type, name: str, role: str) -> type:
    if not kinds:
        raise WorkflowConfigurationError(
            f"{name} has no step that {role} {base.__name__}; "
            + (
                "a run starts by sending StartEvent to the step that accepts it"
                if base is StartEvent
                else "a run ends when a step returns StopEvent, so it could never finish"
            )
        )
    if len(kinds) > 1:
        raise WorkflowConfigurationError(
            f"{name}: only one {base.__name__} type is allowed per workflow, found {_names(kinds)}"
        )
    return next(iter(kinds))


def check_elsewhere_step(name: str, spec: StepSpec, executor: Executor, whose: str = "") -> None:
    """A def step bound to an executor that may run it in another process: no Context, and a
    function that its pickler can carry."""
    where = f"step '{spec.name}' of {name} runs on {whose}{executors.describe(executor)}"
    if spec.context_param is not None:
        raise WorkflowValidationError(
            f"{where} and cannot take a Context: the Context (store, event queues, stream) lives "
            "on the event loop of this process and cannot travel to another. Drop the ctx "
            "parameter and return the next event; keep the ctx work in an async step before or "
            "after it, or run this step on a ThreadPoolExecutor"
        )
    if spec.resources:
        raise WorkflowValidationError(
            f"{where} and cannot take resources ({', '.join(spec.resource_params)}): they are made "
            "and kept on the event loop of this process. Use them in an async step before or "
            "after it, or run this step on a ThreadPoolExecutor"
        )
    try:
        executors.dumps_for(executor)(spec.func)
    except Exception as exc:  # noqa: BLE001 - pickling raises many types; all mean the same here
        raise WorkflowValidationError(
            f"{where}, but its function cannot be pickled ({exc}); "
            "define the workflow class (or the free-function step) at module top level"
        ) from None


def check_default_executor(name: str, steps: dict[str, StepSpec], executor: Executor) -> None:
    """The workflow-wide executor, for the def steps that name none of their own."""
    if executors.runs_in_this_process(executor):
        return
    for spec in steps.values():
        if not spec.is_async and spec.executor is None:
            check_elsewhere_step(name, spec, executor, "the workflow's executor: ")


def takes(spec: StepSpec, kind: type) -> bool:
    """Whether ``spec`` receives events of type ``kind``."""
    if kind in spec.accepted:
        return True
    return spec.accept_event_subclasses and any(issubclass(kind, base) for base in spec.accepted)


def receivers(steps: dict[str, StepSpec], kind: type) -> tuple[str, ...]:
    """The ordinary steps (not error handlers) an event of type ``kind`` is delivered to."""
    return tuple(name for name, spec in steps.items() if not spec.is_error_handler and takes(spec, kind))


def build_plan(
    name: str,
    steps: dict[str, StepSpec],
    check_graph: bool = True,
    skip_checks: frozenset[str] = frozenset(),
) -> WorkflowPlan:
    """Resolve every step and check the graph; raise WorkflowValidationError saying what is wrong."""
    if not steps:
        raise WorkflowConfigurationError(
            f"{name} has no steps: decorate its methods with @step, or attach functions "
            "with @step(workflow=...)"
        )
    for spec in steps.values():
        spec.resolve(name)
        if spec.executor is not None and not executors.runs_in_this_process(spec.executor):
            check_elsewhere_step(name, spec, spec.executor)
    accepted = {k for s in steps.values() for k in s.accepted}
    produced = {k for s in steps.values() for k in s.returns if k is not type(None)}
    start = _single({k for k in accepted if issubclass(k, StartEvent)}, StartEvent, name, "accepts")
    stop = _single({k for k in produced if issubclass(k, StopEvent)}, StopEvent, name, "returns")
    handlers, handler_for = _error_handlers(name, steps)
    if check_graph:
        _check_graph(name, steps, produced | {start}, skip_checks)
        _check_reach(name, steps, start, skip_checks)
    routes = {kind: receivers(steps, kind) for kind in accepted | produced | {start}}
    state_type = next((s.state_type for s in steps.values() if s.state_type is not None), None)
    uses_hitl = any(issubclass(k, InputRequiredEvent) for k in produced) or any(
        issubclass(k, HumanResponseEvent) for k in accepted
    )
    return WorkflowPlan(
        workflow_name=name,
        steps=steps,
        routes={k: v for k, v in routes.items() if v},
        start_event=start,
        stop_event=stop,
        state_type=state_type,
        uses_hitl=uses_hitl,
        handlers=handlers,
        handler_for=handler_for,
        uses_resources=any(spec.resources for spec in steps.values()),
    )


def _error_handlers(name: str, steps: dict[str, StepSpec]) -> tuple[dict[str, StepSpec], dict[str, str]]:
    """The @catch_error handlers, checked, and which handler covers which step."""
    handlers = {n: s for n, s in steps.items() if s.is_error_handler}
    problems = []
    for handler_name, spec in handlers.items():
        if spec.accepted != (StepFailedEvent,):
            problems.append(
                f"@catch_error handler '{handler_name}' must take 'ev: StepFailedEvent', "
                f"not {', '.join(k.__name__ for k in spec.accepted)}"
            )
    wildcards = sorted(n for n, s in handlers.items() if s.for_steps is None)
    if len(wildcards) > 1:
        problems.append(
            f"only one @catch_error handler without for_steps is allowed, found {len(wildcards)}: {', '.join(wildcards)}"
        )
    handler_for: dict[str, str] = {}
    for handler_name, spec in handlers.items():
        for target in spec.for_steps or ():
            if target not in steps:
                problems.append(
                    f"@catch_error handler '{handler_name}' lists unknown step '{target}' in for_steps "
                    f"(steps: {', '.join(n for n in steps if n not in handlers)})"
                )
            elif target in handlers:
                problems.append(f"@catch_error handler '{handler_name}' cannot cover another handler, '{target}'")
            elif target in handler_for:
                problems.append(
                    f"step '{target}' is claimed by two @catch_error handlers: '{handler_for[target]}' and '{handler_name}'"
                )
            else:
                handler_for[target] = handler_name
    if problems:
        raise WorkflowValidationError(f"{name}: " + "; ".join(problems))
    if wildcards:
        for step_name in steps:
            if step_name not in handlers:
                handler_for.setdefault(step_name, wildcards[0])
    return handlers, handler_for


def _check_graph(name: str, steps: dict[str, StepSpec], produced: set[type], skip_checks: frozenset[str]) -> None:
    stop_takers = [n for n, s in steps.items() if any(issubclass(k, StopEvent) for k in s.accepted)]
    if stop_takers:
        raise WorkflowValidationError(
            f"{name}: step(s) {', '.join(repr(n) for n in stop_takers)} accept StopEvent, which ends "
            "the run and is never delivered to a step; accept another event type"
        )
    never_produced = {
        kind
        for step_name, spec in steps.items()
        for kind in spec.accepted
        if not issubclass(kind, _ENTERS)
        and kind not in produced
        and not (spec.accept_event_subclasses and any(issubclass(p, kind) for p in produced))
    }
    if never_produced:
        detail = "; ".join(
            f"{k.__name__} (accepted by {_steps_touching(steps, k, 'accepted')})"
            for k in sorted(never_produced, key=lambda k: k.__name__)
        )
        raise WorkflowValidationError(
            f"{name}: events accepted but never produced: {detail}. Add them to the return "
            "annotation of the step that returns or sends them"
        )
    never_consumed = {
        kind for kind in produced if not issubclass(kind, _LEAVES) and not any(takes(s, kind) for s in steps.values())
    }
    if never_consumed and "terminal_event" not in skip_checks:
        detail = "; ".join(
            f"{k.__name__} (returned by {_steps_touching(steps, k, 'returns')})"
            for k in sorted(never_consumed, key=lambda k: k.__name__)
        )
        raise WorkflowValidationError(
            f"{name}: events produced that no step accepts: {detail}. Add a step that accepts "
            "them, or drop them from the return annotation (or pass skip_graph_checks={'terminal_event'})"
        )


def _check_reach(name: str, steps: dict[str, StepSpec], start: type, skip_checks: frozenset[str]) -> None:
    """Every step can be reached from the start (or from the caller, or a failure), and every
    step that produces events can lead to the end of the run."""
    reached_events: set[type] = {start, *(k for s in steps.values() for k in s.accepted if issubclass(k, _ENTERS))}
    reached_steps: set[str] = set()
    grew = True
    while grew:
        grew = False
        for step_name, spec in steps.items():
            if step_name not in reached_steps and any(takes(spec, kind) for kind in reached_events):
                reached_steps.add(step_name)
                reached_events.update(k for k in spec.returns if k is not type(None))
                grew = True
    problems = []
    if "reachability" not in skip_checks:
        unreachable = sorted(
            n for n, s in steps.items() if n not in reached_steps and "reachability" not in s.skip_graph_checks
        )
        if unreachable:
            problems.append(
                f"steps that no event from the start can reach: {', '.join(unreachable)} (a step must be "
                "reachable from the StartEvent or a HumanResponseEvent)"
            )
    if "dead_end" not in skip_checks:
        dead = sorted(n for n in _dead_ends(steps) if "dead_end" not in steps[n].skip_graph_checks)
        if dead:
            problems.append(
                f"steps with no path to a StopEvent or InputRequiredEvent: {', '.join(dead)} (the events "
                "they produce can never end the run)"
            )
    if problems:
        raise WorkflowValidationError(f"{name}: " + "; ".join(problems))


def _dead_ends(steps: dict[str, StepSpec]) -> set[str]:
    outputs = {n: [k for k in s.returns if k is not type(None)] for n, s in steps.items()}
    alive = {n for n, kinds in outputs.items() if any(issubclass(k, _TERMINALS) for k in kinds)}
    grew = True
    while grew:
        grew = False
        for step_name, kinds in outputs.items():
            if step_name in alive:
                continue
            if any(takes(steps[other], kind) for kind in kinds for other in alive):
                alive.add(step_name)
                grew = True
    return {n for n, kinds in outputs.items() if kinds and n not in alive}
