"""wfasync runtime: a workflow engine for asyncio and a detector for blocked event loops.

    from runtime import Workflow, step, Context, Event, StartEvent, StopEvent
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .detect.report import BlockingCallWarning, BlockingReport
from .engine.context import Context
from .engine.errors import (
    ContextSerdeError,
    ContextStateError,
    WorkflowCancelledByUser,
    WorkflowConfigurationError,
    WorkflowDone,
    WorkflowRuntimeError,
    WorkflowStepDoesNotExistError,
    WorkflowTimeoutError,
    WorkflowValidationError,
)
from .engine.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    StartEvent,
    StepFailedEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
)
from .engine.handler import WorkflowHandler
from .engine.drawing import draw_all_possible_flows, draw_workflow, workflow_to_html, workflow_to_mermaid
from .engine.representation import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGenericNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowNodeBase,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
    get_workflow_representation,
)
from .engine.resource import Resource, ResourceConfig, ResourceDefinition, ResourceDescriptor, ResourceManager
from .engine.serializers import BaseSerializer, JsonPickleSerializer, JsonSerializer, PickleSerializer
from .engine.store import DictState, InMemoryStateStore, StateStore
from .engine.retry import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryInfo,
    RetryPolicy,
    retry_all,
    retry_always,
    retry_any,
    retry_if_exception,
    retry_if_exception_cause_type,
    retry_if_exception_message,
    retry_if_exception_type,
    retry_if_not_exception_message,
    retry_if_not_exception_type,
    retry_never,
    retry_policy,
    retry_unless_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_exponential_jitter,
    wait_fixed,
    wait_full_jitter,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)
from .engine.steps import catch_error, step
from .engine.workflow import Workflow

if TYPE_CHECKING:
    from .detect.detector import BlockingDetector

# A library's logger stays silent until the application configures logging: reports already
# reach the user as BlockingCallWarning, and Python's last-resort handler would print them twice.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BaseSerializer",
    "BlockingCallWarning",
    "BlockingDetector",
    "BlockingReport",
    "catch_error",
    "ConstantDelayRetryPolicy",
    "Context",
    "ContextSerdeError",
    "ContextStateError",
    "DictState",
    "draw_all_possible_flows",
    "draw_workflow",
    "Event",
    "ExponentialBackoffRetryPolicy",
    "get_workflow_representation",
    "HumanResponseEvent",
    "InMemoryStateStore",
    "InputRequiredEvent",
    "InternalDispatchEvent",
    "JsonPickleSerializer",
    "JsonSerializer",
    "PickleSerializer",
    "Resource",
    "ResourceConfig",
    "ResourceDefinition",
    "ResourceDescriptor",
    "ResourceManager",
    "retry_all",
    "retry_always",
    "retry_any",
    "retry_if_exception",
    "retry_if_exception_cause_type",
    "retry_if_exception_message",
    "retry_if_exception_type",
    "retry_if_not_exception_message",
    "retry_if_not_exception_type",
    "retry_never",
    "retry_policy",
    "retry_unless_exception_type",
    "RetryInfo",
    "RetryPolicy",
    "StartEvent",
    "StateStore",
    "step",
    "StepFailedEvent",
    "StepState",
    "StepStateChanged",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
    "StopEvent",
    "wait_chain",
    "wait_combine",
    "wait_exponential",
    "wait_exponential_jitter",
    "wait_fixed",
    "wait_full_jitter",
    "wait_incrementing",
    "wait_none",
    "wait_random",
    "wait_random_exponential",
    "Workflow",
    "workflow_to_html",
    "workflow_to_mermaid",
    "WorkflowCancelledByUser",
    "WorkflowCancelledEvent",
    "WorkflowConfigurationError",
    "WorkflowDone",
    "WorkflowEventNode",
    "WorkflowExternalNode",
    "WorkflowFailedEvent",
    "WorkflowGenericNode",
    "WorkflowGraph",
    "WorkflowGraphEdge",
    "WorkflowGraphNode",
    "WorkflowHandler",
    "WorkflowNodeBase",
    "WorkflowResourceConfigNode",
    "WorkflowResourceNode",
    "WorkflowRuntimeError",
    "WorkflowStepDoesNotExistError",
    "WorkflowStepNode",
    "WorkflowTimedOutEvent",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
]


def __getattr__(name: str) -> Any:
    # The detector is imported on first use: the engine does not need it to run.
    if name == "BlockingDetector":
        from .detect.detector import BlockingDetector

        return BlockingDetector
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
