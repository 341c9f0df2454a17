"""Workflow: a class whose ``@step`` methods pass events to each other on asyncio."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from .context import Context
from .run import Run
from .errors import WorkflowRuntimeError, WorkflowValidationError
from .events import Event, StartEvent, StopEvent
from .resource import ResourceManager, config_errors, resolution_errors
from .steps import WORKFLOW_GRAPH_CHECKS, StepSpec, executor_error, register_step_code, spec_of
from .validation import WorkflowPlan, build_plan, check_default_executor

if TYPE_CHECKING:
    from .handler import WorkflowHandler

__all__ = ["Workflow"]

_run_ids = itertools.count(1)


def detect_blocking_from_env() -> bool:
    """WFASYNC_DETECT_BLOCKING=1/true/yes/on turns the blocking detector on for every run."""
    return os.environ.get("WFASYNC_DETECT_BLOCKING", "").strip().lower() in ("1", "true", "yes", "on")


class Workflow:
    """Subclass it and decorate methods with ``@step``; ``await MyFlow().run(**kwargs)``.

    Args:
        timeout: seconds a run may take (None: no limit). A run that outlives it fails with
            WorkflowTimeoutError naming the steps still running, also when a step blocked
            the event loop past the deadline.
        disable_validation: skip the graph checks (steps are still resolved and routed).
        verbose: print each step as it runs.
        detect_blocking: report steps that block the event loop (runtime.detector).
            None reads the WFASYNC_DETECT_BLOCKING environment variable.
        workflow_name: the name used in messages and task names (default: the class name).
        skip_graph_checks: graph checks to skip for the whole workflow: "reachability"
            (steps no event from the start reaches), "dead_end" (steps whose events never
            lead to a StopEvent), "terminal_event" (events produced that no step accepts).
        executor: where plain ``def`` steps run unless their ``@step(executor=...)`` names
            one (default: the loop's thread pool). Any concurrent.futures Executor: a
            ThreadPoolExecutor, a ProcessPoolExecutor, Dask's ``client.get_executor()``.
        trace: record one span per step execution, for ``handler.timeline()`` and
            ``handler.save_timeline(path)``. Runs with ``detect_blocking`` on record too.
        resource_manager: makes and caches the resources steps ask for with
            ``Annotated[T, Resource(factory)]`` (default: one per workflow instance, so a
            cached resource is shared by the instance's steps and runs).
    """

    _wfasync_free_steps: ClassVar[dict[str, StepSpec]] = {}
    # (workflow name, graph checked, checks skipped) -> plan; per class, reset when steps are added.
    _wfasync_plans: ClassVar[dict[tuple[str, bool, frozenset[str]], WorkflowPlan]] = {}

    # Class-level defaults, so a subclass __init__ that forgets super().__init__() still runs.
    _timeout: float | None = 45.0
    _disable_validation = False
    _verbose = False
    _detect_blocking: bool | None = None  # None: read WFASYNC_DETECT_BLOCKING at run time
    _workflow_name: str | None = None
    _skip_graph_checks: frozenset[str] = frozenset()
    _default_executor: Executor | None = None
    _checked_plan: WorkflowPlan | None = None  # the plan last checked against the default executor
    _trace = False
    _resource_manager: ResourceManager | None = None
    _resources_checked: WorkflowPlan | None = None  # the plan whose resource configs loaded

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._wfasync_free_steps = {}
        cls._wfasync_plans = {}
        for value in vars(cls).values():
            spec = spec_of(value)
            if spec is not None:
                register_step_code(cls.__name__, spec)

    def __init__(
        self,
        timeout: float | None = 45.0,
        disable_validation: bool = False,
        verbose: bool = False,
        detect_blocking: bool | None = None,
        workflow_name: str | None = None,
        skip_graph_checks: set[str] | None = None,
        executor: Executor | None = None,
        trace: bool = False,
        resource_manager: ResourceManager | None = None,
    ) -> None:
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise WorkflowValidationError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
        self._timeout = timeout
        self._disable_validation = disable_validation
        self._verbose = verbose
        self._detect_blocking = detect_blocking_from_env() if detect_blocking is None else bool(detect_blocking)
        self._workflow_name = workflow_name
        self._skip_graph_checks = _graph_checks(skip_graph_checks)
        if executor is not None and not isinstance(executor, Executor):
            raise WorkflowValidationError(executor_error(executor))
        self._default_executor = executor
        self._trace = bool(trace)
        self._resource_manager = resource_manager

    # -- steps -----------------------------------------------------------------------------
    @classmethod
    def add_step(cls, func: Callable[..., Any]) -> None:
        """Attach a free-function step (what ``@step(workflow=cls)`` does)."""
        spec = spec_of(func)
        if spec is None:
            raise WorkflowValidationError(f"{getattr(func, '__name__', func)!r} is not decorated with @step")
        if spec.name in cls._steps():
            raise WorkflowValidationError(f"{cls.__name__} already has a step named {spec.name!r}")
        cls._wfasync_free_steps[spec.name] = spec
        register_step_code(cls.__name__, spec)
        _forget_plans(cls)

    @classmethod
    def _steps(cls) -> dict[str, StepSpec]:
        found: dict[str, StepSpec] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                spec = spec_of(value)
                if spec is not None:
                    found[name] = spec
                elif name in found and not name.startswith("_wfasync"):
                    del found[name]  # a subclass replaced the step with a plain attribute
            found.update(vars(klass).get("_wfasync_free_steps", {}))
        return found

    def _plan(self) -> WorkflowPlan:
        cls = type(self)
        key = (self.workflow_name, not self._disable_validation, self._skip_graph_checks)
        plan = cls._wfasync_plans.get(key)
        if plan is None:
            steps = self._steps()
            plan = build_plan(key[0], steps, check_graph=key[1], skip_checks=key[2])
            cls._wfasync_plans[key] = plan
        if self._default_executor is not None and self._checked_plan is not plan:
            check_default_executor(plan.workflow_name, plan.steps, self._default_executor)
            self._checked_plan = plan
        return plan

    def validate(self, *, validate_resource_configs: bool = True, validate_resources: bool = False) -> bool:
        """Check the workflow now; return whether it uses human-in-the-loop events.

        ``validate_resource_configs`` loads every ResourceConfig (file, path, model);
        ``validate_resources`` also runs the resource factories (cycles, factory errors) in
        a fresh event loop, so it cannot be called from async code (run it in a thread).
        """
        plan = build_plan(self.workflow_name, self._steps(), skip_checks=self._skip_graph_checks)
        if self._default_executor is not None:
            check_default_executor(plan.workflow_name, plan.steps, self._default_executor)
        if validate_resource_configs:
            self._check_resource_configs(plan)
        if validate_resources:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise RuntimeError(
                    "validate(validate_resources=True) runs the resource factories in an event loop "
                    "of its own, so it cannot be called from async code: use "
                    "await asyncio.to_thread(workflow.validate, validate_resources=True)"
                )
            errors = asyncio.run(resolution_errors(_resource_steps(plan), self.resource_manager))
            if errors:
                raise WorkflowValidationError(
                    "Resource validation failed:\n" + "\n".join(f"  - {e}" for e in errors)
                )
        return plan.uses_hitl

    def _check_resource_configs(self, plan: WorkflowPlan) -> None:
        errors = config_errors(_resource_steps(plan))
        if errors:
            raise WorkflowValidationError(
                "Resource config validation failed:\n" + "\n".join(f"  - {e}" for e in errors)
            )
        self._resources_checked = plan

    @property
    def resource_manager(self) -> ResourceManager:
        """Where this workflow's resources are made and cached."""
        manager = self._resource_manager
        if manager is None:
            manager = self._resource_manager = ResourceManager()
        return manager

    # -- introspection ---------------------------------------------------------------------
    @property
    def workflow_name(self) -> str:
        return self._workflow_name or type(self).__name__

    @property
    def start_event_class(self) -> type[StartEvent]:
        return self._plan().start_event

    @property
    def stop_event_class(self) -> type[StopEvent]:
        return self._plan().stop_event

    @property
    def events(self) -> list[type[Event]]:
        return self._plan().events

    @property
    def state_type(self) -> type | None:
        """The model of the typed state its steps declare with ``Context[MyState]``, if any."""
        return self._plan().state_type

    # -- running ---------------------------------------------------------------------------
    def run(self, ctx: Context | None = None, start_event: StartEvent | None = None, **kwargs: Any) -> WorkflowHandler:
        """Start a run on the running event loop; await the returned handler for the result.

        Pass the start event's fields as keyword arguments, or a ready ``start_event``.
        """
        plan = self._plan()
        if plan.uses_resources and self._resources_checked is not plan and not self._disable_validation:
            self._check_resource_configs(plan)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise WorkflowRuntimeError(
                "Workflow.run() needs a running event loop: call it from async code "
                "(result = await wf.run(...)), e.g. inside asyncio.run(main())"
            ) from None
        kwargs.pop("run_id", None)
        resume = ctx.saved_run() if ctx is not None else None
        # A restored context of a run that was going resumes it: no start event.
        first = None if resume is not None and resume.is_running else self._start_event(plan, start_event, kwargs)
        if ctx is None:
            ctx = Context(self)
        elif resume is None and ctx.is_running:
            raise WorkflowRuntimeError("this Context is in use by a run that has not finished")
        detect = self._detect_blocking
        run = Run(
            self, plan, ctx, loop,
            run_id=f"{self.workflow_name}-{next(_run_ids)}",
            timeout=self._timeout,
            verbose=self._verbose,
            detect_blocking=detect_blocking_from_env() if detect is None else detect,
            default_executor=self._default_executor,
            record_trace=self._trace,
        )
        ctx.bind_run(run)
        if first is None:
            assert resume is not None
            run.resume(resume)
        else:
            run.start(first)
        return run.handler

    def _start_event(self, plan: WorkflowPlan, start_event: StartEvent | None, kwargs: dict[str, Any]) -> Event:
        if start_event is not None:
            if not isinstance(start_event, StartEvent):
                raise WorkflowRuntimeError(
                    f"start_event must be a StartEvent instance, got {type(start_event).__name__}"
                )
            if kwargs:
                raise WorkflowRuntimeError(
                    f"pass either start_event or keyword arguments, not both (got {', '.join(kwargs)})"
                )
            if type(start_event) not in plan.routes:
                raise WorkflowRuntimeError(
                    f"no step of {plan.workflow_name} accepts {type(start_event).__name__}; "
                    f"its runs start with {plan.start_event.__name__}"
                )
            return start_event
        try:
            return plan.start_event(**kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
            )
            raise WorkflowRuntimeError(
                f"cannot build the start event {plan.start_event.__name__} from the keyword "
                f"arguments {sorted(kwargs)}: {problems}"
            ) from exc


def _graph_checks(names: Any) -> frozenset[str]:
    chosen = frozenset(names or ())
    unknown = sorted(chosen - set(WORKFLOW_GRAPH_CHECKS))
    if unknown or isinstance(names, str):
        raise WorkflowValidationError(
            f"unknown graph check name(s) in skip_graph_checks: {', '.join(unknown) or repr(names)}; "
            f"the checks are {', '.join(WORKFLOW_GRAPH_CHECKS)}"
        )
    return chosen


def _resource_steps(plan: WorkflowPlan) -> list[tuple[str, Any]]:
    """The steps' resource parameters, steps in the order the peer reports them: methods by
    name, then free-function steps."""
    steps = sorted(
        (not spec.has_self, name if spec.has_self else "", index, name, spec.resources)
        for index, (name, spec) in enumerate(plan.steps.items())
    )
    return [(name, resources) for *_, name, resources in steps if resources]


def _forget_plans(cls: type) -> None:
    pending = [cls]
    while pending:
        klass = pending.pop()
        vars(klass).get("_wfasync_plans", {}).clear()
        pending.extend(klass.__subclasses__())
