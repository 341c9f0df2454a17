"""``Workflow(verbose=True)``: one line per event added, step started and step finished.

The lines read as llama-index-workflows' verbose output does, so logs of a workflow look the
same on both engines::

    [tick] add: StartEvent(topic='tides')
    [draft:0] started from StartEvent
    [draft:0] complete with Draft
    [result] StopEvent(result='done')

They go to the ``runtime.verbose`` logger when it is enabled for DEBUG or INFO, else to stdout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .events import Event, StopEvent, extras_of

logger = logging.getLogger("runtime.verbose")

_LONGEST_TEXT = 50
_LONGEST_LINE = 200
_MOST_ITEMS = 3


def output() -> Callable[[str], None]:
    """Where verbose lines go, decided once per run."""
    if logger.isEnabledFor(logging.DEBUG):
        return logger.debug
    if logger.isEnabledFor(logging.INFO):
        return logger.info
    return print


def _short_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= _LONGEST_TEXT else value[:_LONGEST_TEXT] + "...")
    if isinstance(value, list) and len(value) > _MOST_ITEMS:
        return f"[{len(value)} items]"
    if isinstance(value, dict) and len(value) > _MOST_ITEMS:
        return f"{{{len(value)} keys}}"
    return repr(value)


def summary(ev: Event) -> str:
    """``Name(field=value, ...)`` with long values shortened: a StopEvent's result first, then
    the declared fields, then the extras."""
    parts = []
    if isinstance(ev, StopEvent):
        result = ev.__dict__.get("_result")
        if result is not None:
            parts.append(f"result={_short_value(result)}")
    for name in type(ev).__pydantic_fields__:
        parts.append(f"{name}={_short_value(getattr(ev, name, None))}")
    for name, value in extras_of(ev).items():
        parts.append(f"{name}={_short_value(value)}")
    line = f"{type(ev).__name__}({', '.join(parts)})"
    if len(line) > _LONGEST_LINE:
        line = line[: _LONGEST_LINE - 3] + "..."
    return line
