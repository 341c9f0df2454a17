"""LlamaIndex calls as the detector sees them: llama-index-core's own frames, classified by the
shared catalog under the codes and advice the static side gives.

These run where llama-index-core is installed (it is no dependency of this project); every
call stays on this machine: a CustomLLM whose sync ``complete`` blocks, and the catalog's
runtime names checked against the functions they name.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from time import perf_counter
from typing import Any

import pytest

from runtime import StartEvent, StopEvent, Workflow, step
from runtime.detect.detector import BlockingDetector

pytest.importorskip("llama_index.core")

from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata  # noqa: E402
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402

from flake8_wfasync.knowledge import catalog  # noqa: E402

pytestmark = pytest.mark.wfasync_allow_blocking

BLOCK = 0.3
THRESHOLD = 0.1
HERE = os.path.abspath(__file__)


class SlowLocalLLM(CustomLLM):
    """A model that answers on the calling thread, as local-model integrations do."""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="slow-local")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        time.sleep(BLOCK)
        return CompletionResponse(text=prompt.upper())

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
        yield self.complete(prompt)


class AskFlow(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> StopEvent:
        started = perf_counter()
        # The awaited twin: CustomLLM.acomplete calls the sync complete on the loop thread.
        answer = await SlowLocalLLM().acomplete(ev.prompt)
        return StopEvent(result=(perf_counter() - started, answer.text))


class OffloadedAskFlow(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> StopEvent:
        answer = await asyncio.to_thread(SlowLocalLLM().complete, ev.prompt)
        return StopEvent(result=answer.text)


def watch(flow: Workflow, **kwargs: Any) -> tuple[list[Any], Any]:
    async def main() -> tuple[list[Any], Any]:
        with BlockingDetector(THRESHOLD, warn=False, log=False) as detector:
            result = await flow.run(**kwargs)
        return detector.reports, result

    return asyncio.run(main())


def test_a_custom_llm_awaited_through_its_sync_fallback_is_wfa110_in_the_step():
    reports, (actual, text) = watch(AskFlow(timeout=30), prompt="hi")
    assert text == "HI"
    mine = [r for r in reports if r.step == "ask"]
    assert len(mine) == 1, [r.format() for r in reports]
    report = mine[0]
    assert (report.code, report.workflow) == ("WFA110", "AskFlow"), report.format()
    assert report.call == "llama_index.core.llms.custom.CustomLLM.acomplete", report.format()
    # The advice is the one the catalog gives for the fallback, not "await acomplete".
    assert report.advice.startswith("override acomplete / achat of the CustomLLM subclass"), report.advice
    assert "asyncio.to_thread(llm.complete" in report.advice
    assert 0.9 * actual <= report.duration, (report.duration, actual)


def test_the_sync_call_offloaded_to_a_thread_blocks_nothing():
    reports, text = watch(OffloadedAskFlow(timeout=30), prompt="hi")
    assert text == "HI"
    assert [r for r in reports if r.step == "ask"] == [], [r.format() for r in reports]


def _code_named(runtime_name: str) -> Any:
    """The code object a runtime name (module + co_qualname) points at, found from the module:
    attributes down to a function, then nested functions among its code's constants."""
    parts = runtime_name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        break
    else:
        raise AssertionError(f"no module for {runtime_name}")
    rest = parts[cut:]
    while rest and not hasattr(obj, "__code__"):
        name = rest.pop(0)
        obj = getattr(obj, name)
        obj = getattr(obj, "__func__", obj)
        if hasattr(obj, "__code__") and obj.__code__.co_name != name:
            # Under a decorator (LlamaIndex's callback wrappers): the function it closes over.
            obj = next(c.cell_contents for c in obj.__closure__ or ()
                       if getattr(c.cell_contents, "__name__", None) == name)
    code = obj.__code__
    while rest:
        assert rest.pop(0) == "<locals>", runtime_name
        inner = rest.pop(0)
        code = next(c for c in code.co_consts if getattr(c, "co_name", None) == inner)
    return code


# Names of APIs llama-index-core 0.14 no longer has (QueryPipeline left in 0.13).
_REMOVED = ("llama_index.core.query_pipeline.",)


def test_the_catalog_llama_index_runtime_names_are_real_frames():
    """Every runtime name the catalog lists under llama_index.core is the module and
    co_qualname of a real function: a name that is no frame would never match."""
    checked = []
    for entry in catalog.ENTRIES:
        for name in entry.runtime_names:
            if not name.startswith("llama_index.core.") or name.startswith(_REMOVED):
                continue
            code = _code_named(name)
            module = importlib.import_module(name[: len(name) - len(code.co_qualname) - 1]).__name__
            assert f"{module}.{code.co_qualname}" == name
            checked.append(name)
    assert len(checked) >= 30
