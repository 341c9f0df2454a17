"""The workflow drawing in a real headless Chromium: the page loads from the file alone, no
request leaves it, and every node and edge of the graph is drawn where it can be seen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    draw_workflow,
    get_workflow_representation,
    step,
)


class Query(Event):
    text: str


class Retrieved(Event):
    docs: list[str]


class Research(Workflow):
    """Look a question up; ask when unsure."""

    @step
    async def plan(self, ev: StartEvent) -> Query:
        """Turn the topic into a query."""
        return Query(text=ev.topic)

    @step
    async def retrieve(self, ev: Query) -> Retrieved | InputRequiredEvent:
        return Retrieved(docs=[])

    @step
    async def answer(self, ctx: Context, ev: Retrieved | HumanResponseEvent) -> StopEvent | Query:
        return StopEvent(result="done")


def _boxes(browser: Any, css: str) -> list[dict[str, Any]]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(function (e) {"
        " var r = e.getBoundingClientRect();"
        " return {id: e.getAttribute('data-id'), type: e.getAttribute('data-type'),"
        " source: e.getAttribute('data-source'), target: e.getAttribute('data-target'),"
        " text: e.textContent, left: r.left, top: r.top, width: r.width, height: r.height}; });",
        css,
    )


def test_the_page_shows_every_node_and_edge_of_the_graph(browser: Any, tmp_path: Path) -> None:
    page = draw_workflow(Research, tmp_path / "research.html")
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html

    browser.get(page.as_uri())
    assert browser.title == "Research: workflow steps"
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
    # Nothing was fetched: the page is the file alone.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0

    graph = get_workflow_representation(Research)
    nodes = _boxes(browser, "g.node")
    assert sorted((n["id"], n["type"]) for n in nodes) == sorted((n.id, n.node_type) for n in graph.nodes)
    svg = _boxes(browser, "svg#graph")[0]
    for node in nodes:
        # Drawn, inside the picture, labelled with its name, and no two boxes overlap.
        assert node["width"] > 40 and node["height"] > 20, node
        assert svg["left"] <= node["left"] and node["left"] + node["width"] <= svg["left"] + svg["width"], node
        assert svg["top"] <= node["top"] and node["top"] + node["height"] <= svg["top"] + svg["height"], node
        assert node["id"] in node["text"]
    for a in nodes:
        for b in nodes:
            if a["id"] < b["id"]:
                apart = (a["left"] + a["width"] <= b["left"] or b["left"] + b["width"] <= a["left"]
                         or a["top"] + a["height"] <= b["top"] or b["top"] + b["height"] <= a["top"])
                assert apart, (a["id"], b["id"])
    edges = _boxes(browser, "path.edge")
    assert sorted((e["source"], e["target"]) for e in edges) == sorted((e.source, e.target) for e in graph.edges)
    assert all(e["width"] > 0 or e["height"] > 0 for e in edges)

    # The start is drawn above the step it feeds, and the answer above the stop event.
    where = {n["id"]: n for n in nodes}
    assert where["StartEvent"]["top"] < where["plan"]["top"] < where["Query"]["top"] < where["retrieve"]["top"]
    assert where["answer"]["top"] < where["StopEvent"]["top"]

    # The Mermaid text and the data are on the page, folded.
    mermaid = browser.execute_script("return document.getElementById('mermaid').textContent")
    assert mermaid.startswith("flowchart TD") and '["plan"]' in mermaid
