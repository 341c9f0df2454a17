"""ResourceConfig: a pydantic model read from a JSON file (path_selector walks into it), chained
into Resource factories; what validation and a run say when a config or a factory is wrong."""

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel

from workflows import Workflow, catch_error, step
from workflows.errors import WorkflowValidationError
from workflows.events import StartEvent, StepFailedEvent, StopEvent, WorkflowFailedEvent
from workflows.resource import Resource, ResourceConfig
from workflows.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class LLMConfig(BaseModel):
    model: str
    temperature: float


class Limits(BaseModel):
    max_tokens: int


class Raw(BaseModel):
    llm: dict
    other: int


# A cycle: each factory asks for the other (the string annotations are read when resolved).
def ping(other: "Annotated[str, Resource(pong)]") -> str:
    return "ping"


def pong(other: "Annotated[str, Resource(ping)]") -> str:
    return "pong"


class Cyclic(Workflow):
    @step
    async def answer(self, ev: StartEvent, value: Annotated[str, Resource(ping)]) -> StopEvent:
        return StopEvent(result=value)


def describe_error(exc, folder):
    return f"{type(exc).__name__}: {str(exc).replace(folder, '<dir>')}"


async def outcome(flow, folder, **kwargs):
    try:
        handler = flow.run(**kwargs)
    except Exception as exc:
        return {"run() raised": describe_error(exc, folder)}
    streamed = [
        [ev.step_name, ev.attempts, describe_error(ev.exception, folder)]
        async for ev in handler.stream_events()
        if isinstance(ev, WorkflowFailedEvent)
    ]
    try:
        return {"result": await handler, "streamed": streamed}
    except Exception as exc:
        return {"raised": describe_error(exc, folder), "streamed": streamed}


def build(folder):
    good = str(Path(folder) / "settings.json")
    missing = str(Path(folder) / "missing.json")
    made = []

    def get_llm(
        config: Annotated[LLMConfig, ResourceConfig(config_file=good, path_selector="llm")],
        limits: Annotated[Limits, ResourceConfig(config_file=good, path_selector="llm.limits")],
    ) -> dict:
        made.append("llm")
        return {"model": config.model, "temperature": config.temperature, "max_tokens": limits.max_tokens}

    async def get_agent(llm: Annotated[dict, Resource(get_llm)]) -> str:
        made.append("agent")
        return f"agent on {llm['model']}"

    class Chained(Workflow):
        @step
        async def answer(
            self,
            ev: StartEvent,
            agent: Annotated[str, Resource(get_agent)],
            llm: Annotated[dict, Resource(get_llm)],
            root: Annotated[Raw, ResourceConfig(config_file=good, label="Settings", description="All of it")],
        ) -> StopEvent:
            return StopEvent(result={"agent": agent, "llm": llm, "root": root.model_dump()})

    class WholeFile(Workflow):
        @step
        async def answer(self, ev: StartEvent, cfg: Annotated[Raw, ResourceConfig(config_file=good)]) -> StopEvent:
            return StopEvent(result=cfg.other)

    class Missing(Workflow):
        @step
        async def answer(self, ev: StartEvent, cfg: Annotated[LLMConfig, ResourceConfig(config_file=missing)]) -> StopEvent:
            return StopEvent(result=cfg.model)

    class NotADict(Workflow):
        @step
        async def answer(
            self, ev: StartEvent, cfg: Annotated[LLMConfig, ResourceConfig(config_file=good, path_selector="other")]
        ) -> StopEvent:
            return StopEvent(result=cfg.model)

    class WrongModel(Workflow):
        @step
        async def answer(
            self, ev: StartEvent, cfg: Annotated[Limits, ResourceConfig(config_file=good, path_selector="llm")]
        ) -> StopEvent:
            return StopEvent(result=cfg.max_tokens)

    def uses_missing(cfg: Annotated[LLMConfig, ResourceConfig(config_file=missing)]) -> str:
        return cfg.model

    class MissingDeep(Workflow):
        @step
        async def b_step(self, ev: StartEvent, thing: Annotated[str, Resource(uses_missing)]) -> StopEvent:
            return StopEvent(result=thing)

    def broken() -> str:
        made.append("broken")
        raise ConnectionError("database is down")

    class Failing(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
        async def answer(self, ev: StartEvent, db: Annotated[str, Resource(broken, cache=False)]) -> StopEvent:
            return StopEvent(result=db)

    class Caught(Workflow):
        @step
        async def answer(self, ev: StartEvent, db: Annotated[str, Resource(broken)]) -> StopEvent:
            return StopEvent(result=db)

        @catch_error
        async def recover(self, ev: StepFailedEvent) -> StopEvent:
            return StopEvent(result=["recovered", ev.step_name, repr(ev.exception)])

    return locals()


async def main():
    record = {}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "settings.json").write_text(json.dumps({
            "llm": {"model": "small", "temperature": 0.5, "limits": {"max_tokens": 256}},
            "other": 3,
        }))
        flows = build(folder)
        record["chained"] = await outcome(flows["Chained"](timeout=10), folder)
        record["made"] = list(flows["made"])
        record["whole_file"] = await outcome(flows["WholeFile"](timeout=10), folder)
        def validate_all(flow):
            try:
                return flow.validate(validate_resources=True)
            except WorkflowValidationError as exc:
                return describe_error(exc, folder)

        for name in ("Missing", "NotADict", "WrongModel", "MissingDeep"):
            record[name] = await outcome(flows[name](timeout=10), folder)
            record[name + "_unvalidated"] = await outcome(flows[name](timeout=10, disable_validation=True), folder)
            try:
                flows[name](timeout=10).validate(validate_resource_configs=False)
                record[name + "_validate_without_configs"] = "ok"
            except WorkflowValidationError as exc:
                record[name + "_validate_without_configs"] = describe_error(exc, folder)
        record["cyclic"] = await outcome(Cyclic(timeout=10), folder)
        record["validate_cyclic"] = await asyncio.to_thread(validate_all, Cyclic(timeout=10))
        record["failing"] = await outcome(flows["Failing"](timeout=10), folder)
        record["caught"] = await outcome(flows["Caught"](timeout=10), folder)

        record["validate_resources_ok"] = await asyncio.to_thread(validate_all, flows["Chained"](timeout=10))
        record["validate_resources_broken"] = await asyncio.to_thread(validate_all, flows["Caught"](timeout=10))
        record["made_after"] = list(flows["made"])

        try:
            ResourceConfig(config_file=str(Path(folder, "settings.yaml")))
            record["yaml"] = "accepted"
        except ValueError as exc:
            record["yaml"] = describe_error(exc, folder)
        config = ResourceConfig(config_file="conf.json", path_selector="a.b", label="L", description="D")
        record["config_attrs"] = [config.name, config.cache, config.label, config.description, config.path_selector]
        resource = Resource(flows["get_llm"], cache=False)
        record["resource_attrs"] = [resource.name, resource.cache]
    return record
