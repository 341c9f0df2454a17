"""Draw a :class:`~runtime.timeline.model.Timeline` as one self-contained HTML page.

The chart is SVG written here, so the page shows everything without scripts and without
the network; a few lines of inline JavaScript only add a tooltip that follows the pointer
(each shape also carries an SVG ``<title>``, the browser's own hover text). Layout:

- a time axis in milliseconds along the top;
- an "event loop" row where each blocked span is a solid red bar;
- one lane per step worker (``work #1`` .. ``work #8``), a bar per execution, coloured by
  where the step ran (on the loop, in a thread, in a process);
- each blocked span shaded red across every lane: while the loop was blocked, every step
  on it waited.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from html import escape

from .model import BlockedSpan, StepSpan, Timeline

WIDTH = 1200
LABEL_WIDTH = 210
RIGHT_PAD = 44
AXIS_HEIGHT = 30
LOOP_ROW = 26
LANE_HEIGHT = 26
BAR_HEIGHT = 18
# Bars narrower than this would vanish; a blocked span stays visible at any zoom.
MIN_BAR = 1.0
MIN_BLOCK = 3.0

BLOCK_RED = "#e03131"
MODE_COLOURS = {"async": "#4263eb", "thread": "#2f9e44", "process": "#9c36b5"}
OUTCOME_COLOURS = {"error": "#f59f00", "cancelled": "#868e96"}

_MODE_WORDS = {"async": "on the event loop", "thread": "in a thread", "process": "in a process"}

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px; color: #212529; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
.meta { color: #495057; margin: 0 0 12px; }
.legend { display: flex; gap: 16px; flex-wrap: wrap; margin: 0 0 8px; font-size: 13px; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; background: var(--c); border-radius: 2px; }
svg { display: block; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #343a40; }
svg .tick { fill: #868e96; }
svg .grid { stroke: #e9ecef; }
svg .lane-bg { fill: #f8f9fa; }
svg .span:hover, svg .block:hover { stroke: #212529; stroke-width: 1.5; }
#tip { position: fixed; display: none; max-width: 520px; padding: 8px 10px; background: #212529; color: #f8f9fa; border-radius: 4px; font: 12px/1.45 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; pointer-events: none; z-index: 1; }
table { border-collapse: collapse; margin-top: 16px; font-size: 13px; }
th, td { text-align: left; padding: 4px 10px 4px 0; vertical-align: top; border-bottom: 1px solid #e9ecef; }
td.num { white-space: nowrap; }
td.code { font-weight: 600; color: #c92a2a; white-space: nowrap; }
code, pre { font: 12px ui-monospace, Menlo, Consolas, monospace; }
pre { margin: 4px 0 0; white-space: pre-wrap; }
.none { color: #495057; margin-top: 16px; }
"""

# Shows the hovered shape's data-tip next to the pointer; the page needs nothing else.
_JS = """
(function () {
  "use strict";
  var tip = document.getElementById("tip");
  function show(event) {
    var target = event.target.closest("[data-tip]");
    if (!target) { tip.style.display = "none"; return; }
    tip.textContent = target.getAttribute("data-tip");
    tip.style.display = "block";
    var x = event.clientX + 14, y = event.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) { x = Math.max(0, event.clientX - tip.offsetWidth - 14); }
    if (y + tip.offsetHeight > window.innerHeight) { y = Math.max(0, event.clientY - tip.offsetHeight - 14); }
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  var chart = document.getElementById("chart");
  chart.addEventListener("mousemove", show);
  chart.addEventListener("mouseleave", function () { tip.style.display = "none"; });
})();
"""


def render(timeline: Timeline) -> str:
    """The whole page, as text."""
    lanes = _lanes(timeline.steps)
    duration = _extent(timeline)
    height = AXIS_HEIGHT + LOOP_ROW + LANE_HEIGHT * max(1, len(lanes)) + 8
    scale = _Scale(duration)
    backgrounds, bars = _lane_rows(lanes, scale)
    svg = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="timeline of {escape(timeline.title)}">',
        *backgrounds,
        *_axis(scale, height),
        *_loop_row(timeline.blocks, scale),
        *_block_shades(timeline.blocks, scale, height, hover=True),
        *bars,
        *_block_shades(timeline.blocks, scale, height, hover=False),
        "</svg>",
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(timeline.title)}: timeline</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(timeline.title)}</h1>",
        f'<p class="meta">{escape(_summary(timeline))}</p>',
        _legend(),
        *svg,
        '<div id="tip"></div>',
        _blocks_table(timeline),
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


class _Scale:
    """Seconds from the origin to x in the chart."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.left = LABEL_WIDTH
        self.width = WIDTH - LABEL_WIDTH - RIGHT_PAD

    def x(self, t: float) -> float:
        return self.left + max(0.0, min(t, self.duration)) / self.duration * self.width

    def span(self, start: float, end: float, minimum: float) -> tuple[float, float]:
        x0, x1 = self.x(start), self.x(end)
        width = max(minimum, x1 - x0)
        return round(min(x0, self.left + self.width - width), 2), round(width, 2)


def _extent(timeline: Timeline) -> float:
    ends = [timeline.duration, *(s.end for s in timeline.steps), *(b.end for b in timeline.blocks)]
    return max(max(ends), 1e-3)


def _tick_step(duration_ms: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about eight ticks."""
    raw = duration_ms / 8
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 or value == 0 else f"{value:.3g} ms"


def _axis(scale: _Scale, height: int) -> list[str]:
    out = []
    step_ms = _tick_step(scale.duration * 1000)
    count = int(scale.duration * 1000 / step_ms + 1e-9)
    for i in range(count + 1):
        t_ms = i * step_ms
        x = round(scale.x(t_ms / 1000), 2)
        out.append(f'<line class="grid" x1="{x}" y1="{AXIS_HEIGHT - 6}" x2="{x}" y2="{height}"/>')
        out.append(f'<text class="tick" x="{x}" y="{AXIS_HEIGHT - 12}" text-anchor="middle">{_ms(t_ms)}</text>')
    return out


def _loop_row(blocks: list[BlockedSpan], scale: _Scale) -> list[str]:
    y = AXIS_HEIGHT
    out = [
        f'<rect class="lane-bg" x="{LABEL_WIDTH}" y="{y}" width="{scale.width}" height="{LOOP_ROW - 4}"/>',
        f'<text x="{LABEL_WIDTH - 10}" y="{y + 15}" text-anchor="end" font-weight="600">event loop</text>',
    ]
    for index, block in enumerate(blocks):
        x, width = scale.span(block.start, block.end, MIN_BLOCK)
        out.append(_block_rect(block, f'class="block" id="block-{index}"', x, y, width, LOOP_ROW - 4, ""))
        label = block.code or "blocked"
        if width > 8 * len(label):
            out.append(
                f'<text x="{round(x + width / 2, 2)}" y="{y + 15}" text-anchor="middle" fill="#fff" '
                f'style="fill:#fff;pointer-events:none" font-weight="600">{escape(label)}</text>'
            )
    return out


def _block_shades(blocks: list[BlockedSpan], scale: _Scale, height: int, *, hover: bool) -> list[str]:
    """Red across every lane: everything on the loop waited. Drawn twice: an invisible hover
    target under the bars (so each bar keeps its own hover text), and the visible tint over
    them, which the pointer passes through."""
    top = AXIS_HEIGHT + LOOP_ROW
    out = []
    for index, block in enumerate(blocks):
        x, width = scale.span(block.start, block.end, MIN_BLOCK)
        if hover:
            ident, paint = f'class="block-target" data-block="{index}"', 'fill-opacity="0"'
        else:
            ident = f'class="block-shade" data-block="{index}"'
            paint = f'fill-opacity="0.2" stroke="{BLOCK_RED}" stroke-opacity="0.55"'
        out.append(_block_rect(block, ident, x, top, width, height - top - 4, paint, hover=hover))
    return out


def _block_rect(
    block: BlockedSpan, ident: str, x: float, y: float, width: float, height: float, paint: str, *, hover: bool = True
) -> str:
    if not hover:
        return f'<rect {ident} pointer-events="none" x="{x}" y="{y}" width="{width}" height="{height}" fill="{BLOCK_RED}" {paint}/>'
    tip = escape(_block_tip(block))
    return (
        f'<rect {ident} data-tip="{tip}" x="{x}" y="{y}" width="{width}" height="{height}" '
        f'fill="{BLOCK_RED}" {paint}><title>{tip}</title></rect>'
    )


def _lanes(steps: list[StepSpan]) -> list[tuple[str, list[StepSpan]]]:
    """(label, spans) per step worker, in the order the workers first ran.

    Lanes are per workflow and step worker; runs that overlap in time get lanes of their own,
    else sequential runs of the same workflow share them."""
    runs: dict[str, tuple[float, float]] = {}
    for span in steps:
        lo, hi = runs.get(span.run_id, (span.start, span.end))
        runs[span.run_id] = (min(lo, span.start), max(hi, span.end))
    windows = sorted(runs.values())
    overlapping = any(b[0] < a[1] for a, b in zip(windows, windows[1:]))
    workflows = {span.workflow for span in steps}
    counts: dict[tuple[str, ...], set[int]] = {}
    grouped: dict[tuple[str, ...], list[StepSpan]] = {}
    for span in sorted(steps, key=lambda s: (s.start, s.end)):
        owner = (span.run_id,) if overlapping else (span.workflow,)
        counts.setdefault((*owner, span.step), set()).add(span.worker)
        grouped.setdefault((*owner, span.step, str(span.worker)), []).append(span)
    lanes = []
    for key, spans in grouped.items():
        *owner, name, worker = key
        label = name
        if len(counts[(*owner, name)]) > 1:
            label += f" #{int(worker) + 1}"
        if overlapping:
            label = f"{owner[0]} {label}"
        elif len(workflows) > 1:
            label = f"{owner[0]}.{label}"
        lanes.append((label, spans))
    return lanes


def _lane_rows(lanes: list[tuple[str, list[StepSpan]]], scale: _Scale) -> tuple[list[str], list[str]]:
    """The lanes' backgrounds and labels, and their bars."""
    out: list[str] = []
    bars: list[str] = []
    for row, (label, spans) in enumerate(lanes):
        y = AXIS_HEIGHT + LOOP_ROW + row * LANE_HEIGHT
        shown = label if len(label) <= 28 else label[:27] + "\u2026"
        out.append(f'<rect class="lane-bg" x="{LABEL_WIDTH}" y="{y}" width="{scale.width}" height="{LANE_HEIGHT - 4}"/>')
        out.append(
            f'<text class="lane" x="{LABEL_WIDTH - 10}" y="{y + 15}" text-anchor="end">{escape(shown)}'
            f"<title>{escape(label)}</title></text>"
        )
        bar_y = y + (LANE_HEIGHT - 4 - BAR_HEIGHT) / 2
        for span in spans:
            x, width = scale.span(span.start, span.end, MIN_BAR)
            colour = OUTCOME_COLOURS.get(span.outcome, MODE_COLOURS.get(span.mode, "#4263eb"))
            tip = escape(_span_tip(span))
            bars.append(
                f'<rect class="span" data-step="{escape(span.step)}" data-worker="{span.worker}" '
                f'data-tip="{tip}" x="{x}" y="{bar_y}" width="{width}" height="{BAR_HEIGHT}" rx="2" '
                f'fill="{colour}" stroke="#fff" stroke-width="1"><title>{tip}</title></rect>'
            )
    return out, bars


def _span_tip(span: StepSpan) -> str:
    took = (span.end - span.start) * 1000
    lines = [
        f"step '{span.step}' of {span.workflow} (worker {span.worker + 1}, run {span.run_id})",
        f"{span.start * 1000:.1f} ms -> {span.end * 1000:.1f} ms ({_ms(took)}), ran {_MODE_WORDS.get(span.mode, span.mode)}"
        + (f" ({span.where})" if span.where else ""),
        f"in: {span.event_in}   out: {span.event_out or 'nothing'}",
    ]
    if span.outcome != "ok":
        lines.append(f"{span.outcome}" + (f": {span.error}" if span.error else ""))
    return "\n".join(lines)


def _block_tip(block: BlockedSpan) -> str:
    who = f"step '{block.step}' of {block.workflow}" if block.step else (f"task '{block.task}'" if block.task else "a loop callback")
    head = f"{block.code or 'unknown call'}: {who} blocked the event loop for {_ms(block.duration * 1000)}"
    lines = [head, f"from {block.start * 1000:.1f} ms to {block.end * 1000:.1f} ms"]
    if block.filename:
        lines.append(f"at {_short_path(block.filename)}:{block.lineno}" + (f": {block.source_line.strip()}" if block.source_line else ""))
    if block.advice:
        lines.append(f"fix: {block.advice}")
    return "\n".join(lines)


def _short_path(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith(os.pardir) else rel


def _summary(timeline: Timeline) -> str:
    count = len(timeline.steps)
    parts = [f"{_ms(timeline.duration * 1000)}", f"{count} step execution{'s' if count != 1 else ''}"]
    if timeline.dropped:
        parts.append(f"{timeline.dropped:,} more not recorded (a run keeps its first spans)")
    blocked = sum(b.duration for b in timeline.blocks)
    if timeline.blocks:
        parts.append(f"event loop blocked {len(timeline.blocks)} time{'s' if len(timeline.blocks) != 1 else ''}, {_ms(blocked * 1000)} in all")
    elif timeline.detector:
        parts.append("the event loop was never blocked longer than the threshold")
    if timeline.detector:
        threshold = f", threshold {_ms(timeline.threshold * 1000)}" if timeline.threshold else ""
        parts.append(f"blocking detector on{threshold}")
    else:
        parts.append("blocking detector off (no blocked spans recorded: run with detect_blocking=True)")
    if timeline.started_at:
        parts.append(f"started {timeline.started_at}")
    return " \u00b7 ".join(parts)


def _legend() -> str:
    items = [
        ("step on the event loop", MODE_COLOURS["async"]),
        ("step in a thread", MODE_COLOURS["thread"]),
        ("step in a process", MODE_COLOURS["process"]),
        ("step raised", OUTCOME_COLOURS["error"]),
        ("event loop blocked", BLOCK_RED),
    ]
    spans = "".join(f'<span style="--c:{colour}">{escape(text)}</span>' for text, colour in items)
    return f'<div class="legend">{spans}</div>'


def _blocks_table(timeline: Timeline) -> str:
    if not timeline.blocks:
        return ""
    rows = []
    for block in timeline.blocks:
        where = f"{_short_path(block.filename)}:{block.lineno}" if block.filename else "unknown"
        who = f"{block.step} ({block.workflow})" if block.step else (block.task or "")
        stack = "".join(_frame_lines(block))
        rows.append(
            "<tr>"
            f'<td class="code">{escape(block.code or "?")}</td>'
            f'<td class="num">{escape(_ms(block.start * 1000))}</td>'
            f'<td class="num">{escape(_ms(block.duration * 1000))}</td>'
            f"<td>{escape(who)}</td>"
            f"<td><code>{escape(where)}</code>"
            + (f"<br><code>{escape(block.source_line.strip())}</code>" if block.source_line else "")
            + (f"<details><summary>stack</summary><pre>{escape(stack)}</pre></details>" if stack else "")
            + "</td>"
            f"<td>{escape(block.advice)}</td>"
            "</tr>"
        )
    head = "<tr><th>code</th><th>at</th><th>blocked for</th><th>step</th><th>line</th><th>fix</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _frame_lines(block: BlockedSpan) -> Iterable[str]:
    for frame in block.stack:
        yield f'  File "{_short_path(frame.filename)}", line {frame.lineno}, in {frame.name}\n'
        if frame.line:
            yield f"    {frame.line.strip()}\n"
