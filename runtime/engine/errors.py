"""Errors a workflow run can end with."""

from __future__ import annotations


class WorkflowValidationError(Exception):
    """The workflow's steps do not form a runnable graph (raised before a run starts)."""


class WorkflowRuntimeError(Exception):
    """A run broke the workflow's contract: a step returned a non-event, an event nobody accepts, ..."""


class WorkflowTimeoutError(Exception):
    """A run outlived its ``timeout``; the message names the steps that were still running."""

    def __init__(self, message: str, *, timeout: float | None = None, steps: tuple[str, ...] = ()):
        super().__init__(message)
        self.timeout = timeout
        self.steps = steps


class WorkflowCancelledByUser(Exception):
    """The run was cancelled through ``await handler.cancel_run()``."""
