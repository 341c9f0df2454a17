"""WorkflowTestRunner: runs a workflow to its end and returns the streamed events (with the
engine's StepStateChanged events unless expose_internal=False), their counts by type, the
result and the context."""

import re

from workflows import Context, Workflow, catch_error, step
from workflows.events import Event, StartEvent, StepFailedEvent, StepState, StepStateChanged, StopEvent
from workflows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from workflows.testing import WorkflowTestRunner
from workflows.testing.runner import WorkflowTestResult


class Greeting(Event):
    text: str


class Progress(Event):
    pct: int


class Greet(Workflow):
    @step
    async def hello(self, ctx: Context, ev: StartEvent) -> Greeting:
        await ctx.store.set("who", ev.get("who", "nobody"))
        ctx.write_event_to_stream(Progress(pct=50))
        return Greeting(text=f"hello {ev.get('who', 'nobody')}")

    @step
    async def finish(self, ctx: Context, ev: Greeting) -> StopEvent:
        ctx.write_event_to_stream(Progress(pct=100))
        await ctx.store.set("done", True)
        return StopEvent(result=ev.text + "!")


class Quiet(Workflow):
    @step
    async def skip(self, ctx: Context, ev: StartEvent) -> Greeting | None:
        ctx.send_event(Greeting(text="sent"))
        return None

    @step
    async def finish(self, ev: Greeting) -> StopEvent:
        return StopEvent(result="spoke")


class Broken(Workflow):
    @step
    async def fail(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ctx.write_event_to_stream(Progress(pct=10))
        raise KeyError("missing")


class Flaky(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def fetch(self, ev: StartEvent) -> StopEvent:
        raise ConnectionError("down")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=f"recovered after {ev.attempts}")


def type_name(text):
    # str(type(ev)) names the module; only the class name is the same on both engines.
    match = re.fullmatch(r"<class '(?:[\w.]+\.)?(\w+)'>", text or "")
    return match.group(1) if match else text


def describe(ev):
    if isinstance(ev, StepStateChanged):
        return ["state", ev.name, ev.step_state.value, ev.worker_id, type_name(ev.input_event_name),
                type_name(ev.output_event_name)]
    return [type(ev).__name__, ev.model_dump(exclude={"result"}) if not isinstance(ev, StopEvent) else ev.result]


def summary(outcome):
    return {
        "is_result": isinstance(outcome, WorkflowTestResult),
        "collected": [describe(ev) for ev in outcome.collected],
        "counts": sorted((kind.__name__, n) for kind, n in outcome.event_types.items()),
        "result": outcome.result,
    }


async def main():
    record = {}
    runner = WorkflowTestRunner(Greet(timeout=10))
    first = await runner.run(start_event=StartEvent(who="Ada"))
    record["default"] = summary(first)
    record["store"] = [await first.ctx.store.get("who"), await first.ctx.store.get("done")]
    record["public_only"] = summary(await runner.run(start_event=StartEvent(who="Bob"), expose_internal=False))
    record["excluded"] = summary(await runner.run(exclude_events=[StepStateChanged, Progress]))
    record["again_with_ctx"] = summary(await runner.run(ctx=first.ctx, expose_internal=False))
    record["store_after"] = await first.ctx.store.get("who")
    record["returns_none"] = summary(await WorkflowTestRunner(Quiet(timeout=10)).run())
    record["retried"] = summary(await WorkflowTestRunner(Flaky(timeout=10)).run())
    try:
        await WorkflowTestRunner(Broken(timeout=10)).run()
        record["broken"] = "no error"
    except KeyError as exc:
        record["broken"] = repr(exc)
    record["states"] = [state.value for state in StepState]
    return record
