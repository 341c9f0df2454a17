"""A context saved as plain data (``ctx.to_dict()``) and read back (``Context.from_dict``).

The payload keeps llama-index-workflows' top-level shape: ``version``, ``state`` (the store's
``to_dict``), ``is_running``, and ``workers`` with, per step, the events queued, the events
being handled when the context was saved, and the ``collect_events`` buffers. Events are
strings written by the serializer. Fields this engine does not use are ignored on reading.

A run resumed from a snapshot handles the saved in-progress events again from the start
of their step (as the peer does): code before a step's first ``await`` runs twice.
Everything is checked when the payload is read, against the workflow it is read for, so a
payload from another workflow or a damaged one fails in ``from_dict`` with
ContextSerdeError, not later inside a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .collect import Collection
from .errors import ContextSerdeError
from .events import Event
from .serializers import BaseSerializer, find_qualified_name
from .store import DictState, decode_state
from .validation import WorkflowPlan, takes

if TYPE_CHECKING:
    from .run import Run

# The peer's current format number; a payload with a higher one was written by a newer engine.
CURRENT_VERSION = 2


class SavedAttempt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: str
    attempts: int = 0


class SavedWaiter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    waiter_id: str
    # ``module.Class`` of the event waited for.
    waiting_for_event: str
    has_requirements: bool = False


class SavedWorker(BaseModel):
    model_config = ConfigDict(extra="ignore")

    queue: list[SavedAttempt] = Field(default_factory=list)
    in_progress: list[SavedAttempt] = Field(default_factory=list)
    # collect_events buffers by buffer id ("" when the step gave none): events in arrival order.
    collected_events: dict[str, list[str]] = Field(default_factory=dict)
    # The step's ctx.wait_for_event calls in progress (their events are in ``in_progress``).
    collected_waiters: list[SavedWaiter] = Field(default_factory=list)


class SavedContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int = CURRENT_VERSION
    state: dict[str, Any] = Field(default_factory=dict)
    is_running: bool = False
    workers: dict[str, SavedWorker] = Field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    """A step waiting in ``ctx.wait_for_event``."""

    step: str
    waiter_id: str
    event_type: type[Event]

    @property
    def key(self) -> tuple[str, str]:
        return (self.step, self.waiter_id)


@dataclass
class Resumption:
    """A saved run, decoded and checked, waiting for ``workflow.run(ctx=...)`` to resume it."""

    is_running: bool
    # Per step: events to handle, the saved in-progress ones first; collect buffers by id.
    queues: dict[str, list[Event]] = field(default_factory=dict)
    buffers: dict[str, dict[str, list[Event]]] = field(default_factory=dict)
    waits: list[Wait] = field(default_factory=list)


@dataclass
class Frozen:
    """What a run was doing at one moment: events in progress and queued per step, collect
    buffers, waits. Kept by a run the caller cancelled, which saves as still going (as on
    the peer): restoring it resumes where the cancel stopped it."""

    in_progress: dict[str, list[Event]]
    queued: dict[str, list[Event]]
    buffers: dict[tuple[str, str], list[Event]]
    waits: list[Wait]


def freeze(run: Run) -> Frozen:
    """The run's work now (loop thread only: its queues change under any other thread)."""
    pending = run.pending_events()
    return Frozen(
        in_progress={name: list(lane.inflight.values()) for name, lane in run.lanes.items()},
        queued={name: [*lane.queue, *pending.get(name, ())] for name, lane in run.lanes.items()},
        buffers={key: collection.held() for key, collection in run.collections.items()},
        waits=list(run.waits),
    )


def capture(run: Run | None, plan: WorkflowPlan, state: dict[str, Any], serializer: BaseSerializer) -> dict[str, Any]:
    """The payload for a context whose run is ``run``: its work if it is going (or was
    cancelled by the caller), none if it finished or there is no run yet."""
    work = None if run is None else run.frozen if run.finished else freeze(run)
    workers: dict[str, SavedWorker] = {name: SavedWorker() for name in plan.steps}
    if work is not None:
        for name in workers:
            saved = workers[name]
            saved.in_progress = [_attempt(ev, serializer) for ev in work.in_progress.get(name, ())]
            saved.queue = [_attempt(ev, serializer) for ev in work.queued.get(name, ())]
        for (step, buffer_id), held in work.buffers.items():
            if held and step in workers:
                workers[step].collected_events[buffer_id] = [_encode(ev, serializer) for ev in held]
        for wait in work.waits:
            if wait.step in workers:
                workers[wait.step].collected_waiters.append(_waiter(wait))
    return SavedContext(state=state, is_running=work is not None, workers=workers).model_dump(mode="json")


def resumption_payload(resume: Resumption, plan: WorkflowPlan, state: dict[str, Any], serializer: BaseSerializer) -> dict[str, Any]:
    """The payload of a context restored but not run yet: what it was restored from."""
    workers = {name: SavedWorker() for name in plan.steps}
    for name, events in resume.queues.items():
        workers[name].queue = [_attempt(ev, serializer) for ev in events]
    for wait in resume.waits:
        workers[wait.step].collected_waiters.append(_waiter(wait))
    for name, buffers in resume.buffers.items():
        workers[name].collected_events = {
            buffer_id: [_encode(ev, serializer) for ev in events] for buffer_id, events in buffers.items()
        }
    return SavedContext(state=state, is_running=resume.is_running, workers=workers).model_dump(mode="json")


def _encode(ev: Event, serializer: BaseSerializer) -> str:
    try:
        return serializer.serialize(ev)
    except ValueError as exc:  # ValueError, as for a state value (the peer's class here)
        raise ValueError(f"Failed to serialize the event {type(ev).__name__}: {exc}") from exc


def _waiter(wait: Wait) -> SavedWaiter:
    kind = wait.event_type
    return SavedWaiter(waiter_id=wait.waiter_id, waiting_for_event=f"{kind.__module__}.{kind.__name__}")


def _attempt(ev: Event, serializer: BaseSerializer) -> SavedAttempt:
    return SavedAttempt(event=_encode(ev, serializer))


def restore(data: Any, plan: WorkflowPlan, serializer: BaseSerializer) -> tuple[Any, Resumption]:
    """The state and the run a payload holds, checked against ``plan``; ContextSerdeError
    saying what is wrong otherwise."""
    where = f"cannot restore a context for {plan.workflow_name}"
    if not isinstance(data, dict):
        raise ContextSerdeError(f"{where}: expected the dict ctx.to_dict() returned, got {type(data).__name__}")
    version = data.get("version", CURRENT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version > CURRENT_VERSION:
        raise ContextSerdeError(
            f"{where}: the payload has version={version!r}; this engine reads versions up to "
            f"{CURRENT_VERSION}. It was likely written by a newer engine"
        )
    try:
        saved = SavedContext.model_validate(data)
    except ValidationError as exc:
        raise ContextSerdeError(f"{where}: the payload is not a saved context: {exc}") from None
    unknown = sorted(set(saved.workers) - set(plan.steps))
    if unknown:
        raise ContextSerdeError(
            f"{where}: the payload has steps {', '.join(map(repr, unknown))}, which "
            f"{plan.workflow_name} does not have (its steps: {', '.join(plan.steps)}); "
            "was it saved from another workflow?"
        )
    try:
        state = decode_state(saved.state, serializer)
    except (ValueError, TypeError) as exc:
        raise ContextSerdeError(f"{where}: its state cannot be read: {exc}") from exc
    expected = plan.state_type
    if expected is not None and not isinstance(state, expected) and not (isinstance(state, DictState) and not state):
        raise ContextSerdeError(
            f"{where}: its state is a {type(state).__name__}, but {plan.workflow_name}'s steps "
            f"use Context[{expected.__name__}]; was it saved from another workflow?"
        )
    resume = Resumption(is_running=saved.is_running)
    for name, worker in saved.workers.items():
        spec = plan.steps[name]
        events = [_decode(a.event, serializer, where, name) for a in (*worker.in_progress, *worker.queue)]
        for ev in events:
            if not takes(spec, type(ev)):
                raise ContextSerdeError(
                    f"{where}: step {name!r} has a saved {type(ev).__name__}, which it does not accept; "
                    "was the payload saved from another workflow?"
                )
        if events:
            resume.queues[name] = events
        buffers = {
            buffer_id: [_decode(text, serializer, where, name) for text in texts]
            for buffer_id, texts in worker.collected_events.items()
            if texts
        }
        if buffers:
            resume.buffers[name] = buffers
        for waiter in worker.collected_waiters:
            try:
                kind = find_qualified_name(waiter.waiting_for_event)
            except ValueError as exc:
                raise ContextSerdeError(f"{where}: step {name!r} waits for an event that cannot be found: {exc}") from exc
            if not (isinstance(kind, type) and issubclass(kind, Event)):
                raise ContextSerdeError(f"{where}: step {name!r} waits for {waiter.waiting_for_event}, not an Event")
            resume.waits.append(Wait(name, waiter.waiter_id, kind))
    return state, resume


def _decode(text: str, serializer: BaseSerializer, where: str, step: str) -> Event:
    try:
        ev = serializer.deserialize(text)
    except Exception as exc:  # noqa: BLE001 - JSON, import, validation or unpickling: one answer
        raise ContextSerdeError(f"{where}: an event saved for step {step!r} cannot be read: {exc}") from exc
    if not isinstance(ev, Event):
        raise ContextSerdeError(
            f"{where}: step {step!r} has a saved {type(ev).__name__} where an Event belongs"
        )
    return ev


def restore_collection(events: list[Event]) -> Collection:
    collection = Collection()
    collection.hold(events)
    return collection
