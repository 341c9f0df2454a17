"""Validation: a workflow that cannot run is refused before it starts, with a message that says why."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from runtime import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowValidationError,
    step,
)


class A(Event):
    pass


class B(Event):
    pass


def refuse(flow: type[Workflow], match: str) -> None:
    with pytest.raises(WorkflowValidationError, match=match):
        flow().validate()


def test_no_steps():
    class Empty(Workflow):
        pass

    refuse(Empty, "Empty has no steps")


def test_no_start_event_consumer():
    class NoStart(Workflow):
        @step
        async def s(self, ev: A) -> StopEvent:
            return StopEvent()

    refuse(NoStart, "NoStart has no step that accepts StartEvent")


def test_no_stop_event_producer():
    class NoStop(Workflow):
        @step
        async def s(self, ev: StartEvent) -> A:
            return A()

        @step
        async def t(self, ev: A) -> None:
            return None

    refuse(NoStop, "NoStop has no step that returns StopEvent; .*could never finish")


def test_event_produced_that_nothing_consumes():
    class Orphan(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent | A:
            return StopEvent()

    refuse(Orphan, r"events produced that no step accepts: A \(returned by 's'\)")


def test_event_consumed_that_nothing_produces():
    class Starved(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @step
        async def t(self, ev: B) -> StopEvent:
            return StopEvent()

    refuse(Starved, r"events accepted but never produced: B \(accepted by 't'\)")


def test_step_accepting_stop_event():
    class Loop(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @step
        async def t(self, ev: StopEvent) -> None:
            return None

    refuse(Loop, "step\\(s\\) 't' accept StopEvent")


def test_two_start_event_types():
    class S1(StartEvent):
        pass

    class S2(StartEvent):
        pass

    class Two(Workflow):
        @step
        async def a(self, ev: S1) -> StopEvent:
            return StopEvent()

        @step
        async def b(self, ev: S2) -> StopEvent:
            return StopEvent()

    refuse(Two, "only one StartEvent type is allowed per workflow, found S1, S2")


def test_missing_event_annotation_is_refused_at_decoration():
    with pytest.raises(WorkflowValidationError, match="parameter 'ev' has no annotation.*'ev: MyEvent'"):

        class Bare(Workflow):
            @step
            async def s(self, ev) -> StopEvent:  # type: ignore[no-untyped-def]
                return StopEvent()


def test_missing_context_annotation_suggests_context():
    with pytest.raises(WorkflowValidationError, match="'ctx: Context'"):

        class Bare(Workflow):
            @step
            async def s(self, ctx, ev: StartEvent) -> StopEvent:  # type: ignore[no-untyped-def]
                return StopEvent()


def test_missing_return_annotation():
    with pytest.raises(WorkflowValidationError, match="step 's': no return annotation"):

        class Bare(Workflow):
            @step
            async def s(self, ev: StartEvent):  # type: ignore[no-untyped-def]
                return StopEvent()


def test_no_event_parameter():
    with pytest.raises(WorkflowValidationError, match="no event parameter"):

        class Bare(Workflow):
            @step
            async def s(self, ctx: Context) -> StopEvent:
                return StopEvent()


def test_two_event_parameters():
    with pytest.raises(WorkflowValidationError, match=r"takes 2 event parameters \(a, b\)"):

        class Bare(Workflow):
            @step
            async def s(self, a: A, b: B) -> StopEvent:
                return StopEvent()


def test_non_event_annotation():
    class NotEvent(Workflow):
        @step
        async def s(self, ev: int) -> StopEvent:
            return StopEvent()

    refuse(NotEvent, "step 's' of NotEvent: parameter 'ev' names int, which is not an Event subclass")


def test_unresolvable_annotation_names_the_step():
    class Forward(Workflow):
        @step
        async def s(self, ev: "Nowhere") -> StopEvent:  # type: ignore[name-defined]  # noqa: F821, UP037
            return StopEvent()

    refuse(Forward, "step 's' of Forward: cannot resolve an annotation .*Nowhere")


def test_bad_num_workers_and_executor():
    with pytest.raises(WorkflowValidationError, match="num_workers must be an integer >= 1, got 0"):
        step(num_workers=0)(lambda self, ev: None)
    with pytest.raises(WorkflowValidationError, match="executor must be a concurrent.futures Executor"):

        class X(Workflow):
            @step(executor="pool")  # type: ignore[arg-type]
            def s(self, ev: StartEvent) -> StopEvent:
                return StopEvent()


def test_executor_on_async_step_is_refused():
    pool = ThreadPoolExecutor(1)
    try:
        with pytest.raises(WorkflowValidationError, match="executor= runs plain def steps; this step is async def"):

            class X(Workflow):
                @step(executor=pool)
                async def s(self, ev: StartEvent) -> StopEvent:
                    return StopEvent()
    finally:
        pool.shutdown()


def test_process_step_cannot_take_a_context():
    pool = ProcessPoolExecutor(1)
    try:

        class X(Workflow):
            @step(executor=pool)
            def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
                return StopEvent()

        refuse(X, "runs on a ProcessPoolExecutor and cannot take a Context")
    finally:
        pool.shutdown()


def test_process_step_that_cannot_be_pickled():
    pool = ProcessPoolExecutor(1)
    try:

        class Local(Workflow):
            @step(executor=pool)
            def s(self, ev: StartEvent) -> StopEvent:
                return StopEvent()

        refuse(Local, "its function cannot be pickled .*define the workflow class .* at module top level")
    finally:
        pool.shutdown()


def test_free_function_needs_a_workflow():
    with pytest.raises(WorkflowValidationError, match=r"free function: attach it with @step\(workflow=MyWorkflow\)"):

        @step
        async def loose(ev: StartEvent) -> StopEvent:
            return StopEvent()


def test_disable_validation_skips_graph_checks_but_still_runs():
    import asyncio

    class Orphan(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent | A:
            return StopEvent(result="ran")

    with pytest.raises(WorkflowValidationError):
        Orphan().validate()

    async def main() -> object:
        return await Orphan(disable_validation=True).run()

    assert asyncio.run(main()) == "ran"


def test_validate_reports_human_in_the_loop():
    from runtime import HumanResponseEvent, InputRequiredEvent

    class Ask(Workflow):
        @step
        async def ask(self, ev: StartEvent) -> InputRequiredEvent:
            return InputRequiredEvent()

        @step
        async def answer(self, ev: HumanResponseEvent) -> StopEvent:
            return StopEvent()

    class Plain(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    assert Ask().validate() is True
    assert Plain().validate() is False


def test_timeout_must_be_positive():
    with pytest.raises(WorkflowValidationError, match="timeout must be a positive number"):
        Workflow(timeout=0)


class Shadowed(Event):
    pass


def _define_flow() -> type[Workflow]:
    class Flow(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Shadowed:
            return Shadowed()

        @step
        async def t(self, ev: Shadowed) -> StopEvent:
            return StopEvent(result="module-level Shadowed")

    return Flow


def test_locals_of_callers_further_up_do_not_shadow_annotation_names():
    import asyncio

    Shadowed = int  # noqa: F841 - an unrelated local up the call chain
    flow = _define_flow()

    async def main() -> object:
        return await flow().run()

    assert asyncio.run(main()) == "module-level Shadowed"
