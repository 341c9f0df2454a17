"""@step(retry_policy=...): composed policies, which errors retry, ctx.retry_info()."""

from datetime import datetime

from workflows import Context, Workflow, step
from workflows.events import StartEvent, StopEvent, WorkflowFailedEvent
from workflows.retry_policy import (
    RetryInfo,
    retry_if_exception_message,
    retry_if_exception_type,
    retry_policy,
    stop_after_attempt,
    stop_after_delay,
    wait_fixed,
    wait_none,
)


class Flaky(Workflow):
    def __init__(self, fail_times, error=ConnectionError, **kwargs):
        super().__init__(**kwargs)
        self.fail_times = fail_times
        self.error = error
        self.seen = []

    @step(
        retry_policy=retry_policy(
            retry=retry_if_exception_type((TimeoutError, ConnectionError))
            | retry_if_exception_message(match="rate limit"),
            wait=wait_fixed(0.01) + wait_none(),
            stop=stop_after_attempt(3) | stop_after_delay(30),
        )
    )
    async def call(self, ctx: Context, ev: StartEvent) -> StopEvent:
        info = ctx.retry_info()
        self.seen.append([
            isinstance(info, RetryInfo),
            info.retry_number,
            info.elapsed_seconds == 0 if info.retry_number == 0 else info.elapsed_seconds > 0,
            repr(info.last_exception),
            None if info.last_failed_at is None else (type(info.last_failed_at).__name__, info.last_failed_at.tzinfo is not None),
        ])
        if len(self.seen) <= self.fail_times:
            raise self.error(f"attempt {len(self.seen)}")
        return StopEvent(result=len(self.seen))


async def attempt(flow):
    handler = flow.run()
    failed = []
    async for ev in handler.stream_events():
        if isinstance(ev, WorkflowFailedEvent):
            failed.append([ev.step_name, repr(ev.exception), ev.attempts])
    try:
        outcome = await handler
    except Exception as exc:
        outcome = repr(exc)
    return {"outcome": outcome, "seen": flow.seen, "failed": failed}


async def main():
    return {
        "recovers": await attempt(Flaky(2, timeout=10)),
        "exhausted": await attempt(Flaky(5, timeout=10)),
        "by_message": await attempt(Flaky(1, error=lambda m: RuntimeError("rate limit: " + m), timeout=10)),
        "not_retried": await attempt(Flaky(1, error=ValueError, timeout=10)),
    }
