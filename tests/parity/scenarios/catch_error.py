"""@catch_error handlers: wildcard and scoped, the StepFailedEvent they get, recovery budgets."""

from workflows import Context, Workflow, catch_error, step
from workflows.errors import WorkflowValidationError
from workflows.events import Event, StartEvent, StepFailedEvent, StopEvent, WorkflowFailedEvent
from workflows.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Fetched(Event):
    body: str


class RetryFetch(Event):
    pass


class Pipeline(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def fetch(self, ev: StartEvent) -> Fetched:
        if ev.get("fail_fetch"):
            raise ConnectionError("unreachable")
        return Fetched(body="<html>")

    @step
    async def parse(self, ev: Fetched) -> StopEvent:
        raise ValueError(f"cannot parse {ev.body}")

    @catch_error(for_steps=["fetch"])
    async def on_fetch_failure(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result={
            "handler": "fetch",
            "step": ev.step_name,
            "error": repr(ev.exception),
            "attempts": ev.attempts,
            "input": type(ev.input_event).__name__,
            "input_flag": ev.input_event.get("fail_fetch"),
            "elapsed_ok": ev.elapsed_seconds > 0,
            "failed_at_utc": ev.failed_at.tzinfo is not None,
        })

    @catch_error
    async def on_any_failure(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result={"handler": "wildcard", "step": ev.step_name, "error": str(ev.exception), "attempts": ev.attempts})


class Loop(Workflow):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    @step
    async def fetch(self, ev: StartEvent | RetryFetch) -> StopEvent:
        self.calls.append(type(ev).__name__)
        raise ConnectionError("down")

    @catch_error(max_recoveries=2)
    async def again(self, ev: StepFailedEvent) -> RetryFetch:
        self.calls.append("handler")
        return RetryFetch()


class HandlerFails(Workflow):
    @step
    async def work(self, ev: StartEvent) -> StopEvent:
        raise KeyError("first")

    @catch_error
    async def handle(self, ev: StepFailedEvent) -> StopEvent:
        raise RuntimeError(f"handler gave up on {ev.step_name}")


async def outcome_of(flow, **kwargs):
    handler = flow.run(**kwargs)
    streamed = [
        [type(ev).__name__, ev.step_name, repr(ev.exception)]
        async for ev in handler.stream_events()
        if isinstance(ev, WorkflowFailedEvent)
    ]
    try:
        return {"result": await handler, "streamed": streamed}
    except Exception as exc:
        return {"raised": repr(exc), "streamed": streamed}


def invalid(build):
    try:
        build()
    except WorkflowValidationError as exc:
        return type(exc).__name__
    return "accepted"


async def main():
    loop = Loop(timeout=10)
    record = {
        "fetch_fails": await outcome_of(Pipeline(timeout=10), fail_fetch=True),
        "parse_fails": await outcome_of(Pipeline(timeout=10)),
        "budget": await outcome_of(loop),
        "budget_calls": loop.calls,
        "handler_raises": await outcome_of(HandlerFails(timeout=10)),
        "bad_budget": invalid(lambda: catch_error(max_recoveries=0)),
        "bad_for_steps": invalid(lambda: catch_error(for_steps="fetch")),
    }

    class Unknown(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @catch_error(for_steps=["nope"])
        async def c(self, ev: StepFailedEvent) -> StopEvent:
            return StopEvent()

    try:
        await Unknown(timeout=5).run()
        record["unknown_step"] = "ran"
    except WorkflowValidationError as exc:
        record["unknown_step"] = type(exc).__name__
    return record
