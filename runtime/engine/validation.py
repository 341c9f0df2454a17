"""Checks that a workflow's steps form a runnable graph, and the routing table they imply."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import WorkflowValidationError
from .events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from .steps import StepSpec

# Events that may cross the workflow's boundary: produced for the caller, or sent by it.
_LEAVES = (StopEvent, InputRequiredEvent, HumanResponseEvent)
_ENTERS = (HumanResponseEvent, InputRequiredEvent)


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
        raise WorkflowValidationError(
            f"{name} has no step that {role} {base.__name__}; "
            + (
                "a run starts by sending StartEvent to the step that accepts it"
                if base is StartEvent
                else "a run ends when a step returns StopEvent, so it could never finish"
            )
        )
    if len(kinds) > 1:
        raise WorkflowValidationError(
            f"{name}: only one {base.__name__} type is allowed per workflow, found {_names(kinds)}"
        )
    return next(iter(kinds))


def _check_process_step(name: str, spec: StepSpec) -> None:
    where = f"step '{spec.name}' of {name}"
    if spec.context_param is not None:
        raise WorkflowValidationError(
            f"{where} runs on a ProcessPoolExecutor and cannot take a Context: a live Context "
            "(store, event queues) cannot cross into another process. Drop the ctx parameter "
            "and return the next event instead"
        )
    try:
        pickle.dumps(spec.func)
    except Exception as exc:  # noqa: BLE001 - pickling raises many types; all mean the same here
        raise WorkflowValidationError(
            f"{where} runs on a ProcessPoolExecutor, but its function cannot be pickled ({exc}); "
            "define the workflow class (or the free-function step) at module top level"
        ) from None


def build_plan(name: str, steps: dict[str, StepSpec], check_graph: bool = True) -> WorkflowPlan:
    """Resolve every step and check the graph; raise WorkflowValidationError saying what is wrong."""
    if not steps:
        raise WorkflowValidationError(
            f"{name} has no steps: decorate its methods with @step, or attach functions "
            "with @step(workflow=...)"
        )
    for spec in steps.values():
        spec.resolve(name)
        if isinstance(spec.executor, ProcessPoolExecutor):
            _check_process_step(name, spec)
    accepted = {k for s in steps.values() for k in s.accepted}
    produced = {k for s in steps.values() for k in s.returns if k is not type(None)}
    start = _single({k for k in accepted if issubclass(k, StartEvent)}, StartEvent, name, "accepts")
    stop = _single({k for k in produced if issubclass(k, StopEvent)}, StopEvent, name, "returns")
    if check_graph:
        _check_graph(name, steps, accepted, produced | {start})
    routes: dict[type, list[str]] = {}
    for step_name, spec in steps.items():
        for kind in spec.accepted:
            routes.setdefault(kind, []).append(step_name)
    state_type = next((s.state_type for s in steps.values() if s.state_type is not None), None)
    uses_hitl = any(issubclass(k, InputRequiredEvent) for k in produced) or any(
        issubclass(k, HumanResponseEvent) for k in accepted
    )
    return WorkflowPlan(
        workflow_name=name,
        steps=steps,
        routes={k: tuple(v) for k, v in routes.items()},
        start_event=start,
        stop_event=stop,
        state_type=state_type,
        uses_hitl=uses_hitl,
    )


def _check_graph(name: str, steps: dict[str, StepSpec], accepted: set[type], produced: set[type]) -> None:
    stop_takers = [n for n, s in steps.items() if any(issubclass(k, StopEvent) for k in s.accepted)]
    if stop_takers:
        raise WorkflowValidationError(
            f"{name}: step(s) {', '.join(repr(n) for n in stop_takers)} accept StopEvent, which ends "
            "the run and is never delivered to a step; accept another event type"
        )
    never_produced = {k for k in accepted - produced if not issubclass(k, _ENTERS)}
    if never_produced:
        detail = "; ".join(
            f"{k.__name__} (accepted by {_steps_touching(steps, k, 'accepted')})"
            for k in sorted(never_produced, key=lambda k: k.__name__)
        )
        raise WorkflowValidationError(
            f"{name}: events accepted but never produced: {detail}. Add them to the return "
            "annotation of the step that returns or sends them"
        )
    never_consumed = {k for k in produced - accepted if not issubclass(k, _LEAVES)}
    if never_consumed:
        detail = "; ".join(
            f"{k.__name__} (returned by {_steps_touching(steps, k, 'returns')})"
            for k in sorted(never_consumed, key=lambda k: k.__name__)
        )
        raise WorkflowValidationError(
            f"{name}: events produced that no step accepts: {detail}. Add a step that accepts "
            "them, or drop them from the return annotation"
        )
