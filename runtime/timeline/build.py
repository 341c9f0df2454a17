"""Assemble a timeline from recorded step spans and the blocking detector's reports."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .model import BlockedSpan, Frame, StepSpan, Timeline

if TYPE_CHECKING:
    from runtime.detect.report import BlockingReport


def blocked_spans(reports: Iterable[BlockingReport], origin: float, end: float) -> list[BlockedSpan]:
    """The reports of blocks that overlap [origin, end] (perf_counter seconds), once each,
    as spans relative to ``origin``, in time order."""
    spans: dict[tuple[float, str | None], BlockedSpan] = {}
    for report in reports:
        if report.started is None:
            continue
        start, stop = report.started, report.started + report.duration
        if stop < origin or start > end:
            continue
        # Two detectors on one loop report the same block: keep one.
        key = (round(start, 3), report.code)
        if key in spans:
            continue
        spans[key] = BlockedSpan(
            start=start - origin,
            end=stop - origin,
            code=report.code,
            title=report.rule_title,
            call=report.call,
            filename=report.filename,
            lineno=report.lineno,
            source_line=report.source_line,
            advice=report.advice,
            workflow=report.workflow,
            step=report.step,
            task=report.task,
            message=report.format(),
            stack=[Frame(f.filename, f.lineno, f.name, f.line) for f in report.stack],
        )
    return sorted(spans.values(), key=lambda span: span.start)


def wall_clock(timestamp: float) -> str:
    """ISO 8601 in UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def assemble(
    title: str,
    origin: float,
    started_at: float,
    end: float,
    steps: Iterable[StepSpan],
    reports: Iterable[BlockingReport],
    threshold: float | None,
) -> Timeline:
    """A timeline from ``origin`` to ``end`` (perf_counter seconds; ``started_at`` is the
    wall-clock time of the origin). ``threshold`` is None when no detector was watching."""
    return Timeline(
        title=title,
        started_at=wall_clock(started_at),
        duration=max(0.0, end - origin),
        steps=sorted(steps, key=lambda span: (span.start, span.end)),
        blocks=blocked_spans(reports, origin, end),
        detector=threshold is not None,
        threshold=threshold,
    )
