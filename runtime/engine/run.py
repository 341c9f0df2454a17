"""One run of a workflow: per-step queues, worker tasks, dispatch, deadline, streaming.

Each step has a queue (a deque) drained by at most ``num_workers`` worker tasks.
Workers start when events arrive and retire when their queue is empty, so an idle
step costs nothing and a run never polls: the run ends when a StopEvent is
dispatched, a step fails, the deadline timer fires, or the caller cancels.

Worker tasks are named ``wfasync:<Workflow>.<step>``; the blocking detector reads
that name to say which step held the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from . import executors, failures, offload, trace
from .collect import Collection
from .context import Context, current_lineage, current_step
from .errors import WorkflowCancelledByUser, WorkflowRuntimeError, WorkflowStepDoesNotExistError, WorkflowTimeoutError
from .events import (
    Event,
    InputRequiredEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)
from .handler import WorkflowHandler
from .resource import resolve_step_resources
from .snapshot import Frozen, Resumption, Wait, freeze, restore_collection
from .steps import StepSpec
from .stream import EventStream
from .validation import WorkflowPlan, receivers, takes
from .verbose import output as verbose_output
from .verbose import summary


if TYPE_CHECKING:
    from runtime.detect.detector import BlockingDetector

    from .workflow import Workflow

# A worker that never suspends (steps that finish without awaiting) still lets the loop
# breathe after this many events, so a large fan-out does not hold the loop in one go.
_YIELD_EVERY = 64
# Lateness beyond which a deadline is said to have been missed because the loop was blocked.
_BLOCKED_SLACK = 0.05
_TASK_CONTEXT_KW = sys.version_info >= (3, 11)

_ASYNC, _THREAD, _ELSEWHERE = range(3)
# A step that runs elsewhere (a process pool, a Dask cluster) is drawn as running in a process.
_MODE_NAMES = {_ASYNC: "async", _THREAD: "thread", _ELSEWHERE: "process"}
_clock = trace.clock
_UNFINISHED = trace.UNFINISHED


class Lane:
    """A step's queue and its workers, for one run."""

    __slots__ = (
        "announced", "busy", "call", "context", "executor", "inflight", "invoke", "keyword", "label", "limit", "mode",
        "name", "queue", "slots", "spec", "task_name", "where", "workers",
    )

    def __init__(self, run: Run, spec: StepSpec) -> None:
        self.name = spec.name
        self.spec = spec
        self.queue: deque[Event] = deque()
        # The event each worker is handling, by worker: what a saved context replays.
        self.inflight: dict[object, Event] = {}
        self.workers = 0
        self.busy = 0
        self.limit = spec.num_workers
        self.where = f"step '{spec.name}' of {run.name}"
        self.task_name = f"wfasync:{run.name}.{spec.name}"
        self.label = f"{run.name}.{spec.name}"
        # A def step runs on its own executor, else on the workflow's default one.
        self.executor = None if spec.is_async else spec.executor or run.default_executor
        self.keyword = spec.event_param if spec.call_style == "keywords" else None
        if spec.is_async:
            self.mode = _ASYNC
        elif executors.runs_in_this_process(self.executor):
            self.mode = _THREAD
        else:
            self.mode = _ELSEWHERE
        self.invoke = _bind_call(spec, run.workflow, run.ctx)
        self.call = self.caller(run, self.invoke)
        self.context = run.base_context.copy()
        self.context.run(current_step.set, spec.name)
        # Worker numbers in use, and the event a new worker was announced with, for verbose
        # lines ("[step:0] started from ...").
        self.slots: set[int] = set()
        self.announced: Event | None = None

    def caller(self, run: Run, invoke: Callable[..., Any]) -> Callable[[Event], Any]:
        """One awaitable call of the step with an event, wherever the step runs."""
        spec = self.spec
        if spec.resources:
            return _with_resources(run, self, invoke)
        if self.mode == _ASYNC:
            return invoke
        if self.mode == _THREAD:
            return functools.partial(offload.in_thread, run.loop, self.executor, invoke)
        instance = run.workflow if spec.has_self else None
        return functools.partial(
            offload.elsewhere, run.loop, self.executor, spec.func, instance, self.keyword,
            where=self.where, label=self.label,
        )

    def take_slot(self) -> int:
        slot = 0
        while slot in self.slots:
            slot += 1
        self.slots.add(slot)
        return slot


def _with_resources(run: Run, lane: Lane, invoke: Callable[..., Any]) -> Callable[[Event], Any]:
    """The step's call, its resources resolved on the loop first: a factory's error is the
    step's error, as the peer has it (retried by its policy, seen by its handlers)."""
    manager = run.workflow.resource_manager
    definitions = lane.spec.resources
    loop, executor, mode = run.loop, lane.executor, lane.mode

    wanted = [(definition.name, definition.resource) for definition in definitions]
    made = manager.resources

    async def call(ev: Event) -> Any:
        # Cached resources already made are read directly: what the manager would return.
        values = {}
        for param, resource in wanted:
            if not resource.cache or resource.name not in made:
                values = await resolve_step_resources(manager, definitions)
                break
            values[param] = made[resource.name]
        if mode == _ASYNC:
            return await invoke(ev, values)
        return await offload.in_thread(loop, executor, functools.partial(invoke, values=values), ev)

    return call


def _bind_call(spec: StepSpec, workflow: Workflow, ctx: Context) -> Callable[..., Any]:
    """A one-argument callable that calls the step with its event (and context); for a step
    that takes resources, a two-argument one that takes their values too."""
    fn = spec.func.__get__(workflow) if spec.has_self else spec.func
    if spec.resources:
        named_ctx = {} if spec.context_param is None else {spec.context_param: ctx}
        event_name = spec.event_param
        return lambda ev, values: fn(**{event_name: ev}, **named_ctx, **values)
    style = spec.call_style
    if style == "event":
        return fn
    if style == "ctx_event":
        return functools.partial(fn, ctx)
    if style == "event_ctx":
        return lambda ev: fn(ev, ctx)
    event_param, context_param = spec.event_param, spec.context_param
    if context_param is None:
        return lambda ev: fn(**{event_param: ev})
    return lambda ev: fn(**{event_param: ev, context_param: ctx})


class Run:
    """The live state of one ``workflow.run()``."""

    def __init__(
        self,
        workflow: Workflow,
        plan: WorkflowPlan,
        ctx: Context,
        loop: asyncio.AbstractEventLoop,
        *,
        run_id: str,
        timeout: float | None,
        verbose: bool,
        detect_blocking: bool,
        default_executor: Executor | None = None,
        record_trace: bool = False,
    ) -> None:
        self.workflow = workflow
        # Where def steps without an executor of their own run (None: the loop's pool).
        self.default_executor = default_executor
        self.record_trace = record_trace
        self.plan = plan
        self.name = plan.workflow_name
        self.ctx = ctx
        self.loop = loop
        self.handler = WorkflowHandler(loop, ctx, run_id, self)
        self.finished = False
        self.stop_event: StopEvent | None = None
        self.base_context = contextvars.copy_context()
        self.lanes = {name: Lane(self, spec) for name, spec in plan.steps.items()}
        self.routes = {kind: tuple(self.lanes[n] for n in names) for kind, names in plan.routes.items()}
        self.tasks: set[asyncio.Task[None]] = set()
        # Events sent during this turn of the loop, delivered at the next.
        self.outbox: deque[tuple[Event, tuple[Lane, ...], str | None]] = deque()
        # The worker tasks the end of the run cancelled (cancel_run waits for them to unwind).
        self.stopping: list[asyncio.Task[None]] = []
        self.stream = EventStream(loop)
        self.collections: dict[tuple[str, str], Collection] = {}
        self.collect_lock = threading.Lock()
        self.waiters: dict[type, list[tuple[dict[str, Any], asyncio.Future[Event]]]] = {}
        # Who waits in wait_for_event (what a saved context records); on a resumed run, the
        # saved waits whose steps run again, the types they wait for, and answers that came
        # before the step got back to its wait.
        self.waits: list[Wait] = []
        self.replayed_waits: set[tuple[str, str]] = set()
        self.awaited: frozenset[type] = frozenset()
        self.early: list[Event] = []
        # What the run was doing when the caller cancelled it (what ctx.to_dict() saves then).
        self.frozen: Frozen | None = None
        self.loop_thread = threading.get_ident()
        self.say = verbose_output() if verbose else None
        # Publish StepStateChanged events: a stream with expose_internal=True asked for them.
        self.internal = False
        # Recovery counts of event chains that went through a @catch_error handler, by event id
        # (the event is kept so its id stays its own); None when the workflow has no handler.
        self.lineage: dict[int, tuple[Event, dict[str, int]]] | None = {} if plan.handlers else None
        self.timeout = timeout
        self.detect_blocking = detect_blocking
        self.deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._detector_loop: asyncio.AbstractEventLoop | None = None
        self.trace: trace.Trace | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, start_event: Event) -> None:
        self.start_clock()
        self.deliver(start_event, self.routes[type(start_event)])

    def start_clock(self) -> None:
        """Attach the detector and the trace if asked for, and set the deadline."""
        detector = self._acquire_detector() if self.detect_blocking else None
        if self.detect_blocking or self.record_trace or trace.observed():
            # Started after the detector, whose first installation may take a moment.
            self.trace = trace.Trace(self.name, self.handler.run_id)
            self.trace.detector = detector
        if self.timeout is not None:
            self.deadline = self.loop.time() + self.timeout
            self._timer = self.loop.call_at(self.deadline, self._on_deadline)

    def resume(self, saved: Resumption) -> None:
        """Start from a saved context: its collect buffers back in place, its queued and
        in-progress events handed to their steps (no start event)."""
        self.start_clock()
        self.replayed_waits = {wait.key for wait in saved.waits}
        self.awaited = frozenset(wait.event_type for wait in saved.waits)
        for step, buffers in saved.buffers.items():
            for buffer_id, events in buffers.items():
                self.collections[(step, buffer_id)] = restore_collection(events)
        for step, events in saved.queues.items():
            lane = self.lanes[step]
            for ev in events:
                self._push(lane, ev)

    def pending_events(self) -> dict[str, list[Event]]:
        """Events sent during this turn and not yet delivered, by receiving step."""
        pending: dict[str, list[Event]] = {}
        for ev, lanes, _ in self.outbox:
            for lane in lanes:
                pending.setdefault(lane.name, []).append(ev)
        return pending

    def _close(self) -> None:
        self.finished = True
        if self._timer is not None:
            self._timer.cancel()
        current = asyncio.current_task(self.loop) if self.loop_thread == threading.get_ident() else None
        self.stopping = [task for task in self.tasks if task is not current]
        for task in self.stopping:
            task.cancel()
        self.tasks.clear()
        for pending in self.waiters.values():
            for _, future in pending:
                future.cancel()
        self.waiters.clear()
        if self.trace is not None:
            self.trace.finish()
        if self._detector_loop is not None:
            self._release_detector()

    def finish(self, stop: StopEvent) -> None:
        if self.finished:
            return
        self._close()
        self.stream.put(stop)
        self.stream.close()
        self.stop_event = stop
        if not self.handler.done():
            self.handler.set_result(stop.result if type(stop) is StopEvent else stop)

    def fail(self, error: BaseException, why: StopEvent) -> None:
        """End the run with ``error``: ``why`` (a WorkflowFailedEvent, WorkflowTimedOutEvent or
        WorkflowCancelledEvent) ends the event stream, then awaiting the handler raises."""
        if self.finished:
            return
        self._close()
        self.stream.put(why)
        self.stream.close()
        if isinstance(why, WorkflowCancelledEvent):
            self.stop_event = why
        if not self.handler.done():
            self.handler.set_exception(error)

    def step_failed(self, lane: Lane, error: BaseException, attempts: int | None = 1, elapsed: float | None = None) -> None:
        """A step's error ends the run."""
        if isinstance(error, Exception) and not isinstance(error, (WorkflowRuntimeError, WorkflowTimeoutError)):
            if hasattr(error, "add_note"):
                error.add_note(f"(raised in {lane.where})")
        why = WorkflowFailedEvent(
            step_name=lane.name,
            exception=error if isinstance(error, Exception) else WorkflowRuntimeError(repr(error)),
            attempts=attempts,
            elapsed_seconds=elapsed,
        )
        self.fail(error, why)

    def abort(self) -> None:
        """Stop at once (the handler was cancelled)."""
        if not self.finished:
            self._close()
            self.stream.close()

    def cancel_by_user(self) -> bool:
        """End the run with WorkflowCancelledByUser; False if it had already ended."""
        if self.finished:
            return False
        # A cancelled run still saves as going (ctx.to_dict() after cancel_run, as on the peer).
        self.frozen = freeze(self)
        if self.say is not None:
            self.say("[tick] cancelled")
        self.fail(WorkflowCancelledByUser(f"run of {self.name} cancelled by the caller"), WorkflowCancelledEvent())
        return True

    # -- blocking detector (refcounted per loop, owned by runtime.detector) ------------------
    def _acquire_detector(self) -> BlockingDetector | None:
        try:
            from runtime.detect.detector import acquire
        except ImportError as exc:
            warnings.warn(
                f"detect_blocking is on but the blocking detector is unavailable ({exc})",
                RuntimeWarning,
                stacklevel=4,
            )
            return None
        detector = acquire(self.loop)
        self._detector_loop = self.loop
        return detector

    def _release_detector(self) -> None:
        loop, self._detector_loop = self._detector_loop, None
        from runtime.detect.detector import release

        release(loop)

    # -- deadline ------------------------------------------------------------------------
    def running_steps(self) -> list[str]:
        return [lane.name for lane in self.lanes.values() if lane.busy]

    def _timeout_error(self, late_step: str | None) -> WorkflowTimeoutError:
        running = self.running_steps()
        if late_step is not None and late_step not in running:
            running.insert(0, late_step)
        late = self.loop.time() - (self.deadline or 0.0)
        message = f"{self.name} timed out after {self.timeout} s"
        message += f"; steps still running: {', '.join(repr(s) for s in running)}" if running else "; no step was running"
        if late > _BLOCKED_SLACK:
            message += f". The event loop was blocked {late:.2f} s past the deadline"
            on_loop = [lane.name for lane in self.lanes.values() if lane.busy and lane.mode == _ASYNC]
            if late_step is not None:
                message += f" by step '{late_step}'"
            elif len(on_loop) == 1:
                message += f" (step '{on_loop[0]}' was the only step running on the loop)"
            message += ": move blocking work to a thread (a plain def step, or await asyncio.to_thread(...))"
        return WorkflowTimeoutError(message, timeout=self.timeout, steps=tuple(running))

    def _on_deadline(self) -> None:
        self._time_out(None)

    def _time_out(self, late_step: str | None) -> None:
        error = self._timeout_error(late_step)
        if self.say is not None:
            self.say(f"[tick] timeout: {self.timeout}s")
        self.fail(error, WorkflowTimedOutEvent(timeout=self.timeout, active_steps=list(error.steps)))

    # -- workers -----------------------------------------------------------------------
    def _push(self, lane: Lane, ev: Event) -> None:
        lane.queue.append(ev)
        if lane.workers < lane.limit:
            lane.workers += 1
            slot = 0
            if self.say is not None or self.trace is not None or self.internal:
                slot = lane.take_slot()
            if (self.say is not None or self.internal) and len(lane.queue) == 1:
                # The new worker's first event: it starts now, as the peer says.
                if self.say is not None:
                    self.say(f"[{lane.name}:{slot}] started from {type(ev).__name__}")
                if self.internal:
                    self.state_changed(lane, slot, StepState.RUNNING, ev)
                lane.announced = ev
            coro = self._work(lane, slot)
            if _TASK_CONTEXT_KW:
                # A copy per worker: what one worker sets (its retry info, a user's ContextVar) stays its own.
                task = self.loop.create_task(coro, name=lane.task_name, context=lane.context.copy())
            else:  # pragma: no cover - Python 3.10
                task = lane.context.run(self.loop.create_task, coro)
                task.set_name(lane.task_name)
            self.tasks.add(task)
        else:
            if self.say is not None:
                self.say(f"[{lane.name}] enqueued (waiting for capacity)")
            if self.internal:
                self.state_changed(lane, "<enqueued>", StepState.PREPARING, ev)

    async def _work(self, lane: Lane, slot: int) -> None:
        queue = lane.queue
        call = lane.call
        say = self.say
        internal = self.internal
        lineage = self.lineage
        inflight = lane.inflight
        me = object()
        streak = 0
        tracer = trace.WorkerTrace(self.trace, lane.name, _MODE_NAMES[lane.mode], slot) if self.trace is not None else None
        if tracer is not None and lane.mode == _THREAD:
            # The same call, noting which pool thread runs the step.
            call = lane.caller(self, tracer.wrap(lane.invoke))
        try:
            while queue and not self.finished:
                ev = queue.popleft()
                if say is not None or internal:
                    if lane.announced is ev:
                        lane.announced = None
                    else:
                        if say is not None:
                            say(f"[{lane.name}:{slot}] started from {type(ev).__name__}")
                        if internal:
                            self.state_changed(lane, slot, StepState.RUNNING, ev)
                chain = lineage[id(ev)][1] if lineage is not None and id(ev) in lineage else None
                token = current_lineage.set(chain) if chain is not None else None
                lane.busy += 1
                inflight[me] = ev
                started = time.monotonic()
                began = _clock() if tracer is not None else 0.0
                result = _UNFINISHED
                try:
                    result = await call(ev)
                except Exception as error:  # noqa: BLE001 - a step's error goes to its retry policy, handler or the caller
                    if tracer is not None:
                        tracer.error = error
                    result = await failures.recover(self, lane, ev, error, started, chain, slot)
                finally:
                    lane.busy -= 1
                    del inflight[me]
                    if token is not None:
                        current_lineage.reset(token)
                    if tracer is not None:
                        tracer.record(ev, began, result, result is failures.GAVE_UP)
                if self.finished:
                    return
                if result is failures.GAVE_UP:
                    continue
                if chain is not None and isinstance(result, Event):
                    lineage[id(result)] = (result, chain)  # type: ignore[index]
                if say is not None:
                    self._say_done(lane, slot, result)
                if internal:
                    self.state_changed(lane, slot, StepState.NOT_RUNNING, ev, result)
                self._after_step(lane, result)
                streak += 1
                if streak == _YIELD_EVERY:
                    streak = 0
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            if not self.finished:
                # Not cancelled by the run ending: the loop is shutting down (asyncio.run
                # returned without awaiting the handler) or the step let a CancelledError out.
                # Either way the run is over; cancelling the handler says so without leaving
                # an exception nobody retrieves.
                self.abort()
                self.handler.cancel(msg=f"{lane.where} was cancelled while the run was going")
            raise
        except Exception as exc:  # noqa: BLE001 - what the step returned broke the contract: the run ends
            self.step_failed(lane, exc)
        finally:
            lane.workers -= 1
            lane.slots.discard(slot)
            self.tasks.discard(asyncio.current_task(self.loop))  # type: ignore[arg-type]

    def state_changed(self, lane: Lane, slot: int | str, state: StepState, ev: Event, result: Any = _UNFINISHED) -> None:
        """Publish a StepStateChanged as the peer words it: the input's class name when a step
        starts or waits, ``str()`` of the input and output types when it ends (no output: failed)."""
        if state is StepState.NOT_RUNNING:
            changed = StepStateChanged(
                name=lane.name, step_state=state, worker_id=str(slot), input_event_name=str(type(ev)),
                output_event_name=None if result is _UNFINISHED else str(type(result)),
            )
        else:
            changed = StepStateChanged(
                name=lane.name, step_state=state, worker_id=str(slot), input_event_name=type(ev).__name__
            )
        self.publish(changed)

    def _say_done(self, lane: Lane, slot: int, result: Any) -> None:
        say = self.say
        assert say is not None
        if isinstance(result, StopEvent):
            say(f"[result] {summary(result)}")
        outcome = type(result).__name__ if result is not None else "no result"
        say(f"[{lane.name}:{slot}] complete with {outcome}")

    def _after_step(self, lane: Lane, result: Any) -> None:
        if self.deadline is not None and self.loop.time() > self.deadline:
            # The deadline passed while this step held the loop (else the timer would
            # have fired first): fail now instead of finishing late as if on time.
            self._time_out(lane.name)
            return
        if result is None:
            return
        if not isinstance(result, Event):
            raise WorkflowRuntimeError(
                f"{lane.where} returned {type(result).__name__} ({_short(result)}) instead of an "
                "Event; return an Event instance, or None to emit nothing"
            )
        lanes = self.routes.get(type(result))
        if lanes is None:
            lanes = self._lanes_for(result, None, f"{lane.where} returned")
        self.deliver(result, lanes)

    # -- dispatch ------------------------------------------------------------------------
    def _lanes_for(self, ev: Event, target: str | None, origin: str) -> tuple[Lane, ...]:
        kind = type(ev)
        if target is not None:
            lane = self.lanes.get(target)
            if lane is None:
                raise WorkflowStepDoesNotExistError(
                    f"{origin} {kind.__name__} to step {target!r}, but {self.name} has no such step "
                    f"(steps: {', '.join(self.lanes)})"
                )
            if not takes(lane.spec, kind):
                raise WorkflowRuntimeError(
                    f"{origin} {kind.__name__} to step {target!r}, which accepts "
                    f"{_type_names(lane.spec.accepted)}, not {kind.__name__}"
                )
            return (lane,)
        lanes = self.routes.get(kind)
        if lanes is not None:
            return lanes
        names = receivers(self.plan.steps, kind)  # subclasses of what a step accepts
        if names:
            lanes = self.routes[kind] = tuple(self.lanes[n] for n in names)
            return lanes
        if isinstance(ev, (StopEvent, InputRequiredEvent)) or kind in self.waiters or kind in self.awaited:
            return ()
        raise WorkflowRuntimeError(
            f"{origin} {kind.__name__}, but no step of {self.name} accepts {kind.__name__} "
            f"(accepted: {_type_names(self.routes)})"
        )

    def deliver(self, ev: Event, lanes: tuple[Lane, ...], target: str | None = None) -> None:
        """Hand an already-checked event to its steps (``target``: sent to that step only).
        Loop thread only."""
        if self.finished:
            return
        if isinstance(ev, StopEvent):
            self.finish(ev)
            return
        if self.say is not None:
            self.say(f"[tick] add: {summary(ev)}" + (f" -> {target}" if target is not None else ""))
        if self.waiters and self._give_to_waiter(ev):
            return
        if not lanes and self.awaited and type(ev) in self.awaited:
            self.early.append(ev)  # for a resumed step that has not reached its wait yet
            return
        if isinstance(ev, InputRequiredEvent):
            self.stream.put(ev)
        for lane in lanes:
            self._push(lane, ev)

    def _on_loop_thread(self) -> bool:
        return threading.get_ident() == self.loop_thread

    def send(self, ev: Event, step: str | None) -> None:
        """``ctx.send_event``: check now (raising in the caller), deliver on the loop."""
        if not isinstance(ev, Event):
            raise WorkflowRuntimeError(f"send_event() takes an Event, got {type(ev).__name__} ({_short(ev)})")
        if self.finished:
            return
        lanes = self.routes.get(type(ev)) if step is None else None
        if lanes is None:  # a targeted send, or a type without a step: check and explain
            sender = current_step.get()
            origin = f"step '{sender}' of {self.name} sent" if sender else "send_event() sent"
            lanes = self._lanes_for(ev, step, origin)
        if self.lineage is not None:
            chain = current_lineage.get()
            if chain is not None:
                self.lineage[id(ev)] = (ev, chain)
        # Delivered on the loop's next turn, as the peer does: what a step returns reaches the
        # next steps before what it sent just before returning.
        if threading.get_ident() == self.loop_thread:
            self._post((ev, lanes, step))
        else:
            self.loop.call_soon_threadsafe(self._post, (ev, lanes, step))

    def _post(self, sent: tuple[Event, tuple[Lane, ...], str | None]) -> None:
        # One callback delivers every event sent during a turn, in order: a fan-out of n sends
        # costs n tuples, not n loop handles.
        self.outbox.append(sent)
        if len(self.outbox) == 1:
            self.loop.call_soon(self._deliver_sent)

    def _deliver_sent(self) -> None:
        outbox = self.outbox
        while outbox:
            ev, lanes, target = outbox.popleft()
            self.deliver(ev, lanes, target)

    def publish(self, ev: Event) -> None:
        """``ctx.write_event_to_stream`` from any thread."""
        if self.finished:
            return
        if self._on_loop_thread():
            self.stream.put(ev)
        else:
            self.loop.call_soon_threadsafe(self._publish_late, ev)

    def _publish_late(self, ev: Event) -> None:
        if not self.finished:
            self.stream.put(ev)

    # -- collect_events and wait_for_event -----------------------------------------------
    def collect(self, key: tuple[str, str], ev: Event, expected: list[type[Event]]) -> list[Event] | None:
        with self.collect_lock:
            collection = self.collections.get(key)
            if collection is None:
                collection = self.collections[key] = Collection()
            return collection.offer(ev, expected)

    async def wait_for(
        self,
        event_type: type[Event],
        waiter_event: Event | None,
        requirements: dict[str, Any] | None,
        timeout: float | None,
        waiter_id: str | None = None,
    ) -> Any:
        if not self._on_loop_thread():
            raise WorkflowRuntimeError("wait_for_event() must be awaited on the event loop, in an async step")
        requirements = requirements or {}
        wait = Wait(current_step.get(), waiter_id or f"{event_type.__module__}.{event_type.__qualname__}", event_type)
        replayed = wait.key in self.replayed_waits
        if replayed:
            # A step resumed from a saved context runs up to its wait again: the caller saw the
            # waiter event the first time, and may have answered already.
            self.replayed_waits.discard(wait.key)
            early = self._early_answer(event_type, requirements)
            if early is not None:
                return early
        future: asyncio.Future[Event] = self.loop.create_future()
        entry = (requirements, future)
        self.waiters.setdefault(event_type, []).append(entry)
        self.waits.append(wait)
        if waiter_event is not None and not replayed:
            self.publish(waiter_event)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waits.remove(wait)
            pending = self.waiters.get(event_type)
            if pending is not None and entry in pending:
                pending.remove(entry)
                if not pending:
                    del self.waiters[event_type]

    def _early_answer(self, event_type: type[Event], requirements: dict[str, Any]) -> Event | None:
        for i, ev in enumerate(self.early):
            if type(ev) is event_type and all(getattr(ev, k, None) == v for k, v in requirements.items()):
                del self.early[i]
                return ev
        return None

    def _give_to_waiter(self, ev: Event) -> bool:
        pending = self.waiters.get(type(ev))
        if not pending:
            return False
        for requirements, future in pending:
            if not future.done() and all(getattr(ev, k, None) == v for k, v in requirements.items()):
                future.set_result(ev)
                return True
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_names(kinds: Any) -> str:
    return ", ".join(sorted(k.__name__ for k in kinds)) or "nothing"
