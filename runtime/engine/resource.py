"""Resources: values a step asks for by annotating a parameter ``Annotated[T, Resource(factory)]``
or ``Annotated[Model, ResourceConfig(config_file="conf.json")]``.

The semantics follow llama-index-workflows: a workflow instance owns a ResourceManager; a
cached resource (the default) is made once per workflow instance and shared by its steps
and runs, keyed by the factory's qualified name; ``cache=False`` makes a fresh value for
each step invocation (shared only by the parameters of that one invocation). A factory may
itself take resources, the same way; a cycle is reported as a ValueError naming the chain.
Concurrent invocations of a step resolve independently (the peer's manager shares its
resolution state between them, and reports a concurrent first use as a cycle).
A ResourceConfig reads a JSON file (once per process), optionally walks a dotted
``path_selector`` into it, and validates the result as the annotated pydantic model.

Resources are resolved on the event loop just before the step runs; an error there is the
step's error (its retry policy and @catch_error handlers see it).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import (
    Annotated,
    Any,
    Generic,
    Protocol,
    TypeVar,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    runtime_checkable,
)

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)

__all__ = [
    "ConfigResource",
    "FactoryResource",
    "Resource",
    "ResourceConfig",
    "ResourceDefinition",
    "ResourceDescriptor",
    "ResourceManager",
]


def factory_type_hints(factory: Callable[..., Any], localns: dict[str, Any] | None = None) -> dict[str, Any]:
    """A factory's annotations, with ``Annotated`` kept. Names of the factory's own module win
    over the step's locals, so a closure variable helps without shadowing a module name."""
    filtered = localns
    if filtered:
        module_names = getattr(factory, "__globals__", {})
        filtered = {k: v for k, v in filtered.items() if k not in module_names}
    try:
        return get_type_hints(factory, include_extras=True, localns=filtered)
    except NameError:
        return {}


@runtime_checkable
class ResourceDescriptor(Protocol):
    """What the ResourceManager needs of a resource: a name (the cache key and what cycle
    reports show), whether to cache, how to resolve, and what it depends on."""

    @property
    def name(self) -> str: ...

    @property
    def cache(self) -> bool: ...

    async def resolve(self, manager: ResourceManager) -> Any: ...

    def set_type_annotation(self, type_annotation: Any) -> None: ...

    def set_localns(self, localns: dict[str, Any] | None) -> None: ...

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, type | None]]: ...


class FactoryResource(Generic[T]):
    """A resource made by calling a factory (sync or async), itself possibly taking resources."""

    def __init__(self, factory: Callable[..., T | Awaitable[T]], cache: bool) -> None:
        self.factory = factory
        self.is_async = inspect.iscoroutinefunction(factory)
        self.name: str = getattr(factory, "__qualname__", type(factory).__name__)
        self.cache = cache
        self.localns: dict[str, Any] | None = None

    async def call(self, manager: ResourceManager) -> T:
        """Resolve the factory's own resources, then call it (awaiting an async factory)."""
        args: dict[str, Any] = {}
        for param_name, descriptor, type_annotation in self.get_dependencies():
            descriptor.set_type_annotation(type_annotation)
            descriptor.set_localns(self.localns)
            args[param_name] = await manager.get(descriptor)
        if self.is_async:
            return await cast(Callable[..., Awaitable[T]], self.factory)(**args)
        return cast(Callable[..., T], self.factory)(**args)

    async def resolve(self, manager: ResourceManager) -> T:
        return await self.call(manager)

    def set_type_annotation(self, type_annotation: Any) -> None:
        return None

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        self.localns = localns

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, type | None]]:
        """The factory's parameters annotated ``Annotated[T, <resource>]``."""
        deps: list[tuple[str, ResourceDescriptor, type | None]] = []
        hints = factory_type_hints(self.factory, self.localns)
        for param in inspect.signature(self.factory).parameters.values():
            annotation = hints.get(param.name, param.annotation)
            if get_origin(annotation) is Annotated:
                args = get_args(annotation)
                if len(args) >= 2 and isinstance(args[1], ResourceDescriptor):
                    deps.append((param.name, args[1], args[0]))
        return deps

    def __repr__(self) -> str:
        return f"Resource({self.name}, cache={self.cache})"


def config_data(config_file: str, path_selector: str | None) -> dict[str, Any]:
    """The JSON object at ``path_selector`` (dotted keys) in ``config_file``, read once per process."""
    return _config_data(str(Path(config_file).resolve()), path_selector)


@functools.lru_cache(maxsize=128)
def _config_data(config_file: str, path_selector: str | None) -> dict[str, Any]:
    with open(config_file) as f:
        data = json.load(f)
    if path_selector is None:
        return cast(dict[str, Any], data)
    value: dict[str, Any] = data
    walked = ""
    for key in path_selector.split("."):
        walked += key + "."
        got = value.get(key)
        if not isinstance(got, dict):
            raise ValueError(
                f"Expected dictionary for configuration from {config_file} at path {walked.strip('.')}, got: {type(got)}"
            )
        value = got
    return value


class ConfigResource(Generic[B]):
    """A pydantic model read from a JSON file; always cached."""

    def __init__(
        self,
        config_file: str,
        path_selector: str | None,
        cls_factory: type[B] | None = None,
        label: str | None = None,
        description: str | None = None,
    ) -> None:
        if Path(config_file).suffix != ".json":
            raise ValueError("Only JSON files can be used to load Pydantic-based resources.")
        self.original_config_file = config_file
        self.resolved_config_file: str | None = None
        self.path_selector = path_selector
        self.cls_factory = cls_factory
        self.label = label
        self.description = description

    @property
    def config_file(self) -> str:
        """The file's absolute path; FileNotFoundError if it does not exist (checked on first use)."""
        if self.resolved_config_file is None:
            path = Path(self.original_config_file)
            if not path.is_file():
                raise FileNotFoundError(f"No such file: {self.original_config_file}")
            self.resolved_config_file = str(path.resolve())
        return self.resolved_config_file

    @property
    def name(self) -> str:
        if self.path_selector is not None:
            return self.original_config_file + "." + self.path_selector
        return self.original_config_file

    @property
    def cache(self) -> bool:
        return True

    def call(self) -> B:
        data = config_data(self.config_file, self.path_selector)
        if self.cls_factory is None:
            raise ValueError("Class factory should be set to a BaseModel subclass before calling")
        return self.cls_factory.model_validate(data)  # a ValidationError says what is wrong

    async def resolve(self, manager: ResourceManager) -> B:
        return self.call()

    def set_type_annotation(self, type_annotation: Any) -> None:
        if self.cls_factory is None:
            self.cls_factory = cast(type[B], type_annotation)

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        return None

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, type | None]]:
        return []

    def __repr__(self) -> str:
        return f"ResourceConfig({self.name})"


def ResourceConfig(  # noqa: N802 - the peer's spelling: a factory function named like a class
    config_file: str,
    path_selector: str | None = None,
    label: str | None = None,
    description: str | None = None,
) -> ConfigResource[Any]:
    """A resource read from a JSON file and validated as the annotated pydantic model:
    ``cfg: Annotated[Cfg, ResourceConfig("cfg.json", path_selector="llm")]``. ``label`` and
    ``description`` are for drawings of the workflow."""
    return ConfigResource(config_file=config_file, path_selector=path_selector, label=label, description=description)


def Resource(factory: Callable[..., T], cache: bool = True) -> FactoryResource[T]:  # noqa: N802
    """A resource made by ``factory`` (sync or async): ``db: Annotated[Db, Resource(get_db)]``.
    Cached (made once per workflow instance) unless ``cache=False``."""
    return FactoryResource(factory, cache)


class ResourceDefinition(BaseModel):
    """A step parameter that receives a resource: its name, descriptor and annotated type."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str
    resource: ResourceDescriptor
    type_annotation: Any = None


class ResourceManager:
    """Makes and caches a workflow instance's resources (``Workflow(resource_manager=...)``
    shares one between workflows, ``await manager.set(name, value)`` provides a value).

    Unlike llama-index-workflows' manager, whose resolution state is shared by every caller,
    each step invocation resolves on its own: a cached resource that another invocation is
    making is awaited (its factory runs once), uncached values are not shared between
    invocations, and only a real cycle is reported.
    """

    def __init__(self) -> None:
        self.resources: dict[str, Any] = {}
        # Cached resources being made, by name: the first caller makes it, the others await it.
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.scope: dict[str, Any] | None = None

    @contextmanager
    def resolution_scope(self) -> Iterator[None]:
        """``get`` calls inside share the uncached values they make (as one step invocation does)."""
        if self.scope is not None:
            yield
            return
        self.scope = {}
        try:
            yield
        finally:
            self.scope = None

    async def set(self, name: str, val: Any) -> None:
        self.resources[name] = val

    async def get(self, resource: ResourceDescriptor) -> Any:
        scope = self.scope
        return await Resolution(self, (), {} if scope is None else scope).get(resource)

    def get_all(self) -> dict[str, Any]:
        return self.resources


class Resolution(ResourceManager):
    """One chain of requests of one step invocation: what a factory's dependencies are
    resolved through. It answers as the manager does (``get``, ``set``, ``resources``), and
    keeps no state of its own beyond the chain and the invocation's uncached values."""

    def __init__(self, manager: ResourceManager, chain: tuple[str, ...], scope: dict[str, Any]) -> None:  # noqa: D107
        # No super().__init__(): the cache, the pending makes and the resources are the manager's.
        self.manager = manager
        self.chain = chain
        self.scope = scope

    @property  # type: ignore[override]
    def resources(self) -> dict[str, Any]:
        return self.manager.resources

    @property  # type: ignore[override]
    def pending(self) -> dict[str, asyncio.Future[Any]]:
        return self.manager.pending

    async def set(self, name: str, val: Any) -> None:
        await self.manager.set(name, val)

    def get_all(self) -> dict[str, Any]:
        return self.manager.resources

    async def get(self, resource: ResourceDescriptor) -> Any:
        manager, chain, name = self.manager, self.chain, resource.name
        if name in chain:
            raise ValueError(f"Circular resource dependency detected: {' -> '.join((*chain, name))}")
        if resource.cache and name in manager.resources:
            return manager.resources[name]
        if name in self.scope:
            return self.scope[name]
        future: asyncio.Future[Any] | None = None
        if resource.cache:
            loop = asyncio.get_running_loop()
            pending = manager.pending.get(name)
            # Only a request that holds no other resource half-made waits: two invocations
            # entering a cycle at different points then each find it, instead of waiting on each other.
            while pending is not None and not chain and pending.get_loop() is loop:
                try:
                    return await asyncio.shield(pending)
                except asyncio.CancelledError:
                    if not pending.cancelled():
                        raise  # this request was cancelled, not the one making the resource
                if name in manager.resources:
                    return manager.resources[name]
                pending = manager.pending.get(name)  # its maker was cancelled: make it here
            if pending is None:
                future = manager.pending[name] = loop.create_future()
                future.add_done_callback(_retrieved)
        try:
            value = await resource.resolve(Resolution(manager, (*chain, name), self.scope))
        except asyncio.CancelledError:
            if future is not None:
                future.cancel()
            raise
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
            raise
        finally:
            if future is not None and manager.pending.get(name) is future:
                del manager.pending[name]
        if resource.cache:
            await manager.set(name, value)
        if future is not None:
            future.set_result(value)
        self.scope[name] = value
        return value


def _retrieved(future: asyncio.Future[Any]) -> None:
    # A failure nobody else waited for is the caller's error already: not "never retrieved".
    if not future.cancelled():
        future.exception()


async def resolve_step_resources(manager: ResourceManager, definitions: Iterable[ResourceDefinition]) -> dict[str, Any]:
    """The values of one step invocation's resource parameters, by parameter name."""
    values: dict[str, Any] = {}
    resolution = Resolution(manager, (), {})
    for definition in definitions:
        descriptor = definition.resource
        descriptor.set_type_annotation(definition.type_annotation)
        values[definition.name] = await resolution.get(descriptor)
    return values


def resource_definition(name: str, annotation: Any, localns: dict[str, Any] | None) -> ResourceDefinition | None:
    """The resource a step parameter asks for, if its annotation is ``Annotated[T, <resource>, ...]``."""
    if get_origin(annotation) is not Annotated:
        return None
    args = get_args(annotation)
    descriptor = next((a for a in args[1:] if isinstance(a, ResourceDescriptor)), None)
    if descriptor is None:
        return None
    descriptor.set_localns(localns)
    return ResourceDefinition(name=name, resource=descriptor, type_annotation=args[0] if args else None)


def config_errors(steps: Iterable[tuple[str, Iterable[ResourceDefinition]]]) -> list[str]:
    """Load every ResourceConfig the steps use, also through factories' dependencies; one
    message per config that fails, naming the step, the parameter and the chain."""
    errors: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[ResourceDescriptor, str, str, list[str]]] = []
    for step_name, definitions in steps:
        for definition in definitions:
            definition.resource.set_type_annotation(definition.type_annotation)
            stack.append((definition.resource, step_name, definition.name, [definition.resource.name]))
    while stack:
        resource, step_name, param_name, chain = stack.pop()
        if resource.name in seen:
            continue
        seen.add(resource.name)
        for _param, dep, type_annotation in resource.get_dependencies():
            dep.set_type_annotation(type_annotation)
            stack.append((dep, step_name, param_name, [*chain, dep.name]))
        if isinstance(resource, ConfigResource):
            try:
                resource.call()
            except Exception as exc:  # noqa: BLE001 - each broken config becomes one line of the report
                where = f"step '{step_name}', parameter '{param_name}'"
                if len(chain) > 1:
                    where += f" ({' -> '.join(chain)})"
                errors.append(f"In {where}: {exc}")
    return errors


async def resolution_errors(
    steps: Iterable[tuple[str, Iterable[ResourceDefinition]]], manager: ResourceManager
) -> list[str]:
    """Resolve every resource the steps use (factories run): cycles and factory errors, one line each."""
    errors: list[str] = []
    for step_name, definitions in steps:
        for definition in definitions:
            definition.resource.set_type_annotation(definition.type_annotation)
            try:
                await manager.get(definition.resource)
            except Exception as exc:  # noqa: BLE001 - see config_errors
                errors.append(f"In step '{step_name}', parameter '{definition.name}': {exc}")
    return errors
