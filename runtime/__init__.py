"""wfasync runtime: a workflow engine for asyncio and a detector for blocked event loops.

    from runtime import Workflow, step, Context, Event, StartEvent, StopEvent
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .detect.report import BlockingCallWarning, BlockingReport
from .engine.context import Context
from .engine.errors import (
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
    WorkflowValidationError,
)
from .engine.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)
from .engine.handler import WorkflowHandler
from .engine.steps import step
from .engine.workflow import Workflow

if TYPE_CHECKING:
    from .detect.detector import BlockingDetector

# A library's logger stays silent until the application configures logging: reports already
# reach the user as BlockingCallWarning, and Python's last-resort handler would print them twice.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BlockingCallWarning",
    "BlockingDetector",
    "BlockingReport",
    "Context",
    "Event",
    "HumanResponseEvent",
    "InputRequiredEvent",
    "StartEvent",
    "StepFailedEvent",
    "StopEvent",
    "Workflow",
    "WorkflowCancelledByUser",
    "WorkflowCancelledEvent",
    "WorkflowFailedEvent",
    "WorkflowHandler",
    "WorkflowRuntimeError",
    "WorkflowTimedOutEvent",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
    "step",
]


def __getattr__(name: str) -> Any:
    # The detector is imported on first use: the engine does not need it to run.
    if name == "BlockingDetector":
        from .detect.detector import BlockingDetector

        return BlockingDetector
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
