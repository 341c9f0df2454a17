"""get_workflow_representation: the same nodes (ids, kinds, labels, event chains, producers,
step docstrings, user event schemas, resources and resource configs) and the same edges for
the same workflow."""

import json
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel

from workflows import Context, Workflow, catch_error, step
from workflows.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from workflows.representation import get_workflow_representation
from workflows.resource import Resource, ResourceConfig


class Query(Event):
    """A question to look up."""

    text: str
    top_k: int = 3


class Retrieved(Event):
    docs: list[str]


class Reranked(Retrieved):
    pass


class Confirm(InputRequiredEvent):
    question: str


class Confirmed(HumanResponseEvent):
    pass


class Research(Workflow):
    """Look a question up, ask a human to confirm, answer."""

    @step
    async def plan(self, ev: StartEvent) -> Query:
        """Turn the topic into a query."""
        return Query(text=ev.topic)

    @step
    async def retrieve(self, ev: Query) -> Retrieved | Reranked:
        return Retrieved(docs=[])

    @step(accept_event_subclasses=True)
    async def review(self, ev: Retrieved) -> Confirm:
        return Confirm(question="ok?")

    @step
    async def answer(self, ctx: Context, ev: Confirmed | HumanResponseEvent) -> StopEvent | Query | None:
        return StopEvent(result="done")


class Begin(StartEvent):
    url: str


class Finished(StopEvent):
    pages: int = 0


class Crawl(Workflow):
    """Fetch pages; recover from a failed fetch."""

    @step
    async def fetch(self, ev: Begin) -> Finished | None:
        if not ev.url:
            raise ValueError("no url")
        return Finished(pages=1)

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> Finished:
        """Give up politely."""
        return Finished(pages=0)


class Extended(Workflow):
    """A step added from outside the class."""

    @step
    async def first(self, ev: StartEvent) -> Query:
        return Query(text="q")


@step(workflow=Extended)
async def added(ev: Query) -> StopEvent:
    return StopEvent(result=ev.text)


# One fixed path, so that both engines hash the same config file name into the node id.
SETTINGS = Path(tempfile.gettempdir()) / "wfasync-parity-step-graph" / "settings.json"


class LLMConfig(BaseModel):
    model: str
    temperature: float = 0.0


class Llm:
    pass


class Memory:
    pass


def get_llm(config: Annotated[LLMConfig, ResourceConfig(config_file=str(SETTINGS), path_selector="llm")]) -> Llm:
    """Build the model client from its settings."""
    return Llm()


async def get_memory(llm: Annotated[Llm, Resource(get_llm)]) -> Memory:
    return Memory()


class Chat(Workflow):
    """Answer with a model and a memory."""

    @step
    async def answer(
        self,
        ev: StartEvent,
        llm: Annotated[Llm, Resource(get_llm)],
        memory: Annotated[Memory, Resource(get_memory, cache=False)],
    ) -> StopEvent:
        return StopEvent(result="hi")

    @step
    async def audit(
        self,
        ev: StopEvent,
        settings: Annotated[LLMConfig, ResourceConfig(config_file=str(SETTINGS), path_selector="llm",
                                                      label="LLM settings", description="model and temperature")],
    ) -> None:
        return None


def describe(workflow):
    graph = get_workflow_representation(workflow)
    nodes = []
    for node in graph.nodes:
        row = [node.id, node.node_type, node.label]
        if node.node_type == "event":
            row += [node.event_type, node.event_types, node.produced_by, node.is_subclass_of("Retrieved")]
            if node.id in ("Query", "Retrieved", "Reranked", "Confirm", "Begin", "Finished"):
                row.append(node.event_schema)
        if node.node_type == "step":
            row.append(node.description)
        if node.node_type == "resource":
            row += [node.type_name, node.getter_name, Path(node.source_file).name, node.source_line, node.description]
        if node.node_type == "resource_config":
            row += [node.type_name, Path(node.config_file).name, node.path_selector, node.config_schema,
                    node.config_value, node.description]
        nodes.append(row)
    edges = sorted((e.source, e.target, e.label) for e in graph.edges)
    steps_only = graph.filter_by_node_type("event", "external")
    return {
        "name": graph.name,
        "description": graph.description,
        "nodes": nodes,
        "edges": edges,
        "steps_only": sorted((e.source, e.target, e.label) for e in steps_only.edges),
        "truncated": [node.truncated_label(5) for node in graph.nodes],
        "json_keys": sorted(graph.model_dump(mode="json")),
    }


async def main():
    SETTINGS.parent.mkdir(exist_ok=True)
    SETTINGS.write_text(json.dumps({"llm": {"model": "m1", "temperature": 0.5}}), encoding="utf-8")
    return {
        "chat": describe(Chat),
        "research_class": describe(Research),
        "research_instance": describe(Research(timeout=5)),
        "crawl": describe(Crawl),
        "extended": describe(Extended),
    }
