"""Errors a workflow run can end with, under the names llama-index-workflows gives them.

Where this engine is more specific than the peer, the specific error subclasses the one the
peer raises in that place, so ``except`` clauses written for either engine keep working.
"""

from __future__ import annotations


class WorkflowValidationError(Exception):
    """The workflow's steps do not form a runnable graph (raised before a run starts)."""


class WorkflowConfigurationError(WorkflowValidationError):
    """The workflow cannot run at all: no steps, no step taking a StartEvent, none returning
    a StopEvent, or more than one start or stop event type."""


class WorkflowRuntimeError(Exception):
    """A run broke the workflow's contract: a step returned a non-event, an event nobody accepts, ..."""


class WorkflowStepDoesNotExistError(WorkflowRuntimeError):
    """An event was sent to a step name the workflow does not have."""


class ContextStateError(WorkflowRuntimeError):
    """A Context method was called when the context cannot serve it (e.g. before the run)."""


class ContextSerdeError(Exception):
    """A context could not be turned into data, or rebuilt from it."""


class WorkflowTimeoutError(Exception):
    """A run outlived its ``timeout``; the message names the steps that were still running."""

    def __init__(self, message: str, *, timeout: float | None = None, steps: tuple[str, ...] = ()):
        super().__init__(message)
        self.timeout = timeout
        self.steps = steps


class WorkflowCancelledByUser(Exception):
    """The run was cancelled through ``await handler.cancel_run()``."""


class WorkflowDone(Exception):
    """Kept for code written against llama-index-workflows, which uses it internally to stop
    its workers; this engine never raises it."""
