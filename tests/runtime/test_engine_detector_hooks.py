"""The engine's side of the blocking detector: acquire/release per run, the env switch,
step names for code objects."""

from __future__ import annotations

import asyncio
import re
import sys
import time
import types

import pytest

from runtime import BlockingCallWarning, StartEvent, StopEvent, Workflow, step
from runtime.detect.step_codes import step_for_code


class Flow(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="done")


class Failing(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        raise RuntimeError("x")


@pytest.fixture
def fake_detector(monkeypatch):
    calls: list[tuple[str, object]] = []
    module = types.ModuleType("runtime.detect.detector")
    module.acquire = lambda loop: calls.append(("acquire", loop))  # type: ignore[attr-defined]
    module.release = lambda loop: calls.append(("release", loop))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "runtime.detect.detector", module)
    return calls


def run_flow(wf: Workflow) -> object:
    async def main():
        loop = asyncio.get_running_loop()
        try:
            return await wf.run(), loop
        except RuntimeError as exc:
            return exc, loop

    return asyncio.run(main())


@pytest.mark.parametrize("flow", [Flow, Failing])
def test_a_run_acquires_and_releases_the_detector_on_its_loop(fake_detector, flow):
    _, loop = run_flow(flow(detect_blocking=True))
    assert fake_detector == [("acquire", loop), ("release", loop)]


def test_the_environment_variable_turns_detection_on(fake_detector, monkeypatch):
    monkeypatch.setenv("WFASYNC_DETECT_BLOCKING", "true")
    run_flow(Flow())
    monkeypatch.setenv("WFASYNC_DETECT_BLOCKING", "0")
    run_flow(Flow())
    assert [name for name, _ in fake_detector] == ["acquire", "release"]


def test_detection_is_off_by_default(fake_detector, monkeypatch):
    monkeypatch.delenv("WFASYNC_DETECT_BLOCKING", raising=False)
    run_flow(Flow())
    run_flow(Flow(detect_blocking=False))
    assert fake_detector == []


def test_a_missing_detector_warns_and_the_run_still_completes(monkeypatch):
    monkeypatch.setitem(sys.modules, "runtime.detect.detector", None)  # makes the import fail
    with pytest.warns(RuntimeWarning, match="blocking detector is unavailable"):
        result, _ = run_flow(Flow(detect_blocking=True))
    assert result == "done"


def test_an_inherited_step_keeps_its_defining_class_and_the_task_names_the_running_one():
    class Child(Flow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=asyncio.current_task().get_name())  # type: ignore[union-attr]

    class Grandchild(Flow):
        pass

    assert step_for_code(Flow.only.__code__) == ("Flow", "only")
    assert step_for_code(Child.only.__code__) == ("Child", "only")
    assert step_for_code(Grandchild.only.__code__) == ("Flow", "only")
    assert run_flow(Child())[0] == "wfasync:Child.only"


class BlocksTheLoop(Workflow):
    @step
    async def stall(self, ev: StartEvent) -> StopEvent:
        time.sleep(0.3)  # noqa: ASYNC251 - blocks the loop on purpose: the detector must name this step
        return StopEvent(result="stalled")


@pytest.mark.wfasync_allow_blocking
def test_the_real_detector_names_the_engine_step():
    with pytest.warns(BlockingCallWarning) as caught:
        result, _ = run_flow(BlocksTheLoop(detect_blocking=True))
    assert result == "stalled"
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    found = re.match(r"WFA103 step 'stall' of BlocksTheLoop blocked the event loop for (\d+\.\d+) s", messages[0])
    assert found, messages[0]
    assert float(found.group(1)) >= 0.27  # the whole sleep, not a slice of it
