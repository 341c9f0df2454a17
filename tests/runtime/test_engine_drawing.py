"""The step graph as data, as Mermaid text and as a file; a bad path is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowValidationError,
    draw_workflow,
    get_workflow_representation,
    step,
    workflow_to_mermaid,
)


class Query(Event):
    text: str


class Loop(Workflow):
    @step
    async def ask(self, ev: StartEvent | HumanResponseEvent) -> InputRequiredEvent | Query:
        return Query(text="q")

    @step
    async def finish(self, ev: Query) -> StopEvent:
        return StopEvent(result='say "hi"')


def test_mermaid_names_every_node_once_and_every_edge():
    text = workflow_to_mermaid(Loop)
    graph = get_workflow_representation(Loop)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    ids = {}
    for node in graph.nodes:
        (line,) = [ln for ln in lines if f'"{node.label}"' in ln and ":::" in ln]
        ids[node.id] = line.split()[0].split("[")[0].split("(")[0].split("{")[0]
        assert line.endswith(f":::{node.node_type}")
    arrows = [ln.split() for ln in lines if "-->" in ln]
    assert sorted((a, b) for a, _, b in arrows) == sorted((ids[e.source], ids[e.target]) for e in graph.edges)
    assert '{{"external_step"}}' in text and '(["Query"])' in text and '["finish"]' in text


def test_draw_writes_html_or_mermaid_and_refuses_other_suffixes(tmp_path: Path):
    assert draw_workflow(Loop, tmp_path / "loop.mmd").read_text(encoding="utf-8") == workflow_to_mermaid(Loop)
    page = draw_workflow(Loop(), tmp_path / "loop.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count('class="node"') == len(get_workflow_representation(Loop).nodes)
    with pytest.raises(ValueError, match=r"\.html \(a page\) or \.mmd \(Mermaid text\), not '\.png'"):
        draw_workflow(Loop, tmp_path / "loop.png")
    with pytest.raises(ValueError, match="cannot write"):
        draw_workflow(Loop, tmp_path / "missing-dir" / "loop.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.html", "loop.mmd"]


def test_a_workflow_with_a_broken_annotation_says_which_step():
    class Broken(Workflow):
        @step
        async def only(self, ev: StartEvent) -> int:  # type: ignore[empty-body]
            ...

    with pytest.raises(WorkflowValidationError, match="step 'only' of Broken"):
        get_workflow_representation(Broken)
