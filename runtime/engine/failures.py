"""What happens when a step raises: its retry policy, then its ``@catch_error`` handler, then
the end of the run.

A retried attempt runs in the same worker, after the wait the policy asks for, with
``ctx.retry_info()`` describing the failures so far. When the policy gives up (or there is
none), the handler covering the step gets a StepFailedEvent, unless the chain of events that
led here already came back to that handler ``max_recoveries`` times; then the run ends with a
WorkflowFailedEvent on the stream and the step's error for whoever awaits the handler.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .context import current_retry
from .events import Event, StepFailedEvent, StepState
from .retry import RetryInfo, retry_delay

if TYPE_CHECKING:
    from .run import Run, Lane

# What recover() returns when the step produced nothing because it failed for good.
GAVE_UP: Any = object()


async def recover(
    run: Run, lane: Lane, ev: Event, error: Exception, started: float, chain: dict[str, int] | None, slot: int
) -> Any:
    """Retry the step per its policy; return what a successful attempt returned, else hand the
    failure on and return GAVE_UP."""
    policy = lane.spec.retry_policy
    attempts = 1
    say = run.say
    internal = run.internal
    if say is not None:
        say(f"[{lane.name}:{slot}] complete with no result")
    if internal:
        run.state_changed(lane, slot, StepState.NOT_RUNNING, ev)
    while policy is not None and not run.finished:
        failed_at = datetime.now(timezone.utc)
        delay = retry_delay(policy, time.monotonic() - started, attempts, error)
        if delay is None:
            break
        if delay:
            await asyncio.sleep(delay)
        info = RetryInfo(
            retry_number=attempts,
            elapsed_seconds=time.monotonic() - started,
            last_exception=error,
            last_failed_at=failed_at,
        )
        token = current_retry.set(info)
        if say is not None:
            say(f"[{lane.name}:{slot}] started from {type(ev).__name__}")
        if internal:
            run.state_changed(lane, slot, StepState.RUNNING, ev)
        try:
            return await lane.call(ev)
        except Exception as again:  # noqa: BLE001 - each failure goes back to the policy
            error = again
            attempts += 1
            if say is not None:
                say(f"[{lane.name}:{slot}] complete with no result")
            if internal:
                run.state_changed(lane, slot, StepState.NOT_RUNNING, ev)
        finally:
            current_retry.reset(token)
    if not run.finished:
        _hand_on(run, lane, ev, error, attempts, time.monotonic() - started, chain or {})
    return GAVE_UP


def _hand_on(run: Run, lane: Lane, ev: Event, error: Exception, attempts: int, elapsed: float, chain: dict[str, int]) -> None:
    """Give the failure to the step's @catch_error handler, or end the run with it."""
    handler = run.plan.handler_for.get(lane.name)
    if handler is not None and run.lineage is not None:
        recoveries = chain.get(handler, 0) + 1
        if recoveries <= run.plan.handlers[handler].max_recoveries:
            failed = StepFailedEvent(
                step_name=lane.name,
                input_event=ev,
                exception=error,
                attempts=attempts,
                elapsed_seconds=elapsed,
                failed_at=datetime.now(timezone.utc),
            )
            run.lineage[id(failed)] = (failed, {**chain, handler: recoveries})
            run.deliver(failed, (run.lanes[handler],), handler)
            return
    run.step_failed(lane, error, attempts, elapsed)
