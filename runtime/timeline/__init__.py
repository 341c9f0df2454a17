"""Timelines: what a run did, drawn as one self-contained HTML page.

The engine records a span per step execution (:mod:`runtime.engine.trace`), the blocking
detector reports each blocked stretch of the loop, and :func:`assemble` puts both on one
clock. :func:`render` draws the page, :func:`save_timeline` writes a page or JSON, and the
``wfasync timeline`` command (:mod:`runtime.timeline.command`) draws saved JSON.

Nothing here imports the engine or the detector: both hand their data in.
"""

from __future__ import annotations

from .build import assemble, blocked_spans
from .model import BlockedSpan, Frame, StepSpan, Timeline, TimelineError
from .page import render
from .save import save_timeline

__all__ = [
    "BlockedSpan",
    "Frame",
    "StepSpan",
    "Timeline",
    "TimelineError",
    "assemble",
    "blocked_spans",
    "render",
    "save_timeline",
]
