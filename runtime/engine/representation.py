"""The step graph of a workflow as data: ``get_workflow_representation(MyFlow)``.

The same nodes and edges as llama-index-workflows' ``workflows.representation``: a node per
step, per event type a step accepts or returns, and an ``external_step`` node when a step
asks for human input; an edge from each event to the steps that accept it, from each step
to the events it returns, and through ``external_step`` from an InputRequiredEvent to the
HumanResponseEvent that answers it; a node per resource a step takes (and per resource
config), with an edge from the step labelled with its parameter and from a resource to
those its factory takes. runtime.engine.drawing draws it.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from .events import Event, HumanResponseEvent, InputRequiredEvent, StopEvent
from .resource import ConfigResource, FactoryResource, ResourceDescriptor, config_data

if TYPE_CHECKING:
    from .steps import StepSpec
    from .workflow import Workflow


class WorkflowNodeBase(BaseModel):
    id: str = Field(description="Unique identifier for the node")
    label: str = Field(description="Display text for the node")

    def truncated_label(self, max_length: int) -> str:
        """The label cut to ``max_length`` characters, marked with ``*`` when cut."""
        return self.label if len(self.label) <= max_length else f"{self.label[: max_length - 1]}*"


class WorkflowStepNode(WorkflowNodeBase):
    node_type: Literal["step"] = "step"
    description: str | None = Field(default=None, description="The step function's docstring")


class WorkflowEventNode(WorkflowNodeBase):
    node_type: Literal["event"] = "event"
    event_type: str = Field(description="The event class name")
    event_types: list[str] = Field(description="The class, then its Event parents, by name")
    event_schema: dict[str, Any] | None = Field(default=None, description="The event's JSON schema")
    produced_by: list[str] = Field(default_factory=list, description="Steps declaring they return it")

    def is_subclass_of(self, *type_names: str) -> bool:
        return any(name in self.event_types for name in type_names)


class WorkflowExternalNode(WorkflowNodeBase):
    """Whoever answers an InputRequiredEvent (a human, another system)."""

    node_type: Literal["external"] = "external"


class WorkflowResourceNode(WorkflowNodeBase):
    node_type: Literal["resource"] = "resource"
    type_name: str | None = None
    getter_name: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    description: str | None = None


class WorkflowResourceConfigNode(WorkflowNodeBase):
    node_type: Literal["resource_config"] = "resource_config"
    type_name: str | None = None
    config_file: str | None = None
    path_selector: str | None = None
    config_schema: dict[str, Any] | None = None
    config_value: dict[str, Any] | None = None
    description: str | None = None


class WorkflowGenericNode(WorkflowNodeBase):
    """A node of a kind the other classes do not cover (agents, tools, ...)."""

    node_type: str
    event_type: str | None = None
    event_types: list[str] | None = None

    def is_subclass_of(self, *type_names: str) -> bool:
        return bool(self.event_types) and any(name in self.event_types for name in type_names)  # type: ignore[operator]


WorkflowGraphNode = (
    WorkflowStepNode
    | WorkflowEventNode
    | WorkflowExternalNode
    | WorkflowResourceNode
    | WorkflowResourceConfigNode
    | WorkflowGenericNode
)


class WorkflowGraphEdge(BaseModel):
    source: str
    target: str
    label: str | None = None


class WorkflowGraph(BaseModel):
    """A workflow's nodes and directed edges."""

    name: str
    nodes: list[WorkflowGraphNode]
    edges: list[WorkflowGraphEdge]
    description: str | None = None

    def filter_by_node_type(self, *node_types: str) -> WorkflowGraph:
        """The graph without nodes of these types; an edge through a removed node joins its
        neighbours (``step -> Event -> step`` becomes ``step -> step``, labelled ``Event``)."""
        dropped = {n.id for n in self.nodes if n.node_type in node_types}
        kept = [n for n in self.nodes if n.id not in dropped]
        outgoing: dict[str, list[WorkflowGraphEdge]] = {}
        for edge in self.edges:
            outgoing.setdefault(edge.source, []).append(edge)
        labels = {n.id: n.label for n in self.nodes}

        def reach(source: str, label: str | None, seen: set[str]) -> list[tuple[str, str | None]]:
            found: list[tuple[str, str | None]] = []
            for edge in outgoing.get(source, []):
                if edge.target in seen:
                    continue
                if edge.target not in dropped:
                    found.append((edge.target, label if label is not None else edge.label))
                else:
                    seen.add(edge.target)
                    found.extend(reach(edge.target, label if label is not None else labels[edge.target], seen))
            return found

        edges: list[WorkflowGraphEdge] = []
        pairs: set[tuple[str, str]] = set()
        for node in kept:
            for target, label in reach(node.id, None, set()):
                if (node.id, target) not in pairs:
                    pairs.add((node.id, target))
                    edges.append(WorkflowGraphEdge(source=node.id, target=target, label=label))
        return WorkflowGraph(name=self.name, nodes=kept, edges=edges, description=self.description)


def _name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind)


def _is_sub(kind: Any, parent: type) -> bool:
    return isinstance(kind, type) and issubclass(kind, parent)


def _chain(kind: Any) -> list[str]:
    if not _is_sub(kind, Event):
        return [_name(kind)]
    names = [kind.__name__]
    for parent in kind.__mro__[1:]:
        if parent is Event:
            break
        if _is_sub(parent, Event):
            names.append(parent.__name__)
    return names


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _identity(descriptor: ResourceDescriptor) -> Any:
    if isinstance(descriptor, FactoryResource):
        return ("factory", id(descriptor.factory))
    if isinstance(descriptor, ConfigResource):
        return ("config", descriptor.config_file, descriptor.path_selector or "")
    return ("other", id(descriptor))


def _resource_node(descriptor: ResourceDescriptor, annotation: Any) -> WorkflowNodeBase:
    type_name = None if annotation is None else _name(annotation)
    if isinstance(descriptor, ConfigResource):
        selector = descriptor.path_selector
        schema = annotation.model_json_schema() if _is_sub(annotation, BaseModel) else None
        return WorkflowResourceConfigNode(
            id="resource_config_" + _hash(f"{descriptor.config_file}:{selector or ''}"),
            label=descriptor.label or type_name or descriptor.config_file,
            type_name=type_name, config_file=descriptor.config_file, path_selector=selector,
            config_schema=schema, config_value=config_data(descriptor.config_file, selector),
            description=descriptor.description,
        )
    source_file = source_line = description = None
    if isinstance(descriptor, FactoryResource):
        factory = descriptor.factory
        source_file = inspect.getfile(factory)
        source_line = inspect.getsourcelines(factory)[1]
        description = inspect.getdoc(factory)
    node_id = "resource_" + _hash(f"{descriptor.name}:{source_file or 'unknown'}")
    return WorkflowResourceNode(
        id=node_id, label=type_name or descriptor.name or node_id, type_name=type_name,
        getter_name=descriptor.name, source_file=source_file, source_line=source_line, description=description,
    )


def _steps_in_peer_order(cls: type[Workflow]) -> dict[str, StepSpec]:
    # The peer lists method steps by name (inspect.getmembers), then steps added with add_step.
    steps = cls._steps()
    free: dict[str, StepSpec] = {}
    for klass in cls.__mro__:
        for name, spec in vars(klass).get("_wfasync_free_steps", {}).items():
            free.setdefault(name, spec)
    ordered = {name: steps[name] for name in sorted(steps) if name not in free}
    ordered.update((name, spec) for name, spec in free.items() if name in steps)
    return ordered


def get_workflow_representation(workflow: Workflow | type[Workflow]) -> WorkflowGraph:
    """The nodes and edges of ``workflow`` (an instance or the class); see the module doc."""
    cls = workflow if isinstance(workflow, type) else type(workflow)
    steps = _steps_in_peer_order(cls)
    for spec in steps.values():
        spec.resolve(cls.__name__)  # the annotations as event types, or which one is wrong
    none = type(None)

    produced_by: dict[str, list[str]] = {}
    for name, spec in steps.items():
        for kind in spec.returns:
            if kind is not none and name not in produced_by.setdefault(_name(kind), []):
                produced_by[_name(kind)].append(name)
    stop_event = next((k for spec in steps.values() for k in spec.returns if _is_sub(k, StopEvent)), None)

    nodes: list[WorkflowGraphNode] = []
    edges: list[WorkflowGraphEdge] = []
    added: set[str] = set()
    graph_events: list[type] = []
    resource_nodes: dict[Any, WorkflowNodeBase] = {}
    expanded: set[Any] = set()
    resource_edges: set[tuple[str, str, str | None]] = set()

    def add_resource(descriptor: ResourceDescriptor, annotation: Any) -> WorkflowNodeBase:
        """The descriptor's node (made once), and its dependencies' nodes and edges."""
        key = _identity(descriptor)
        node = resource_nodes.get(key)
        if node is None:
            node = resource_nodes[key] = _resource_node(descriptor, annotation)
            nodes.append(node)  # type: ignore[arg-type]
        if key in expanded:
            return node
        expanded.add(key)
        for dep_name, dep, dep_type in descriptor.get_dependencies():
            dep_node = add_resource(dep, dep_type)
            if (node.id, dep_node.id, dep_name) not in resource_edges:
                resource_edges.add((node.id, dep_node.id, dep_name))
                edges.append(WorkflowGraphEdge(source=node.id, target=dep_node.id, label=dep_name))
        return node

    def add_event(kind: Any) -> None:
        if kind not in graph_events:
            graph_events.append(kind)
        name = _name(kind)
        if name not in added:
            schema = kind.model_json_schema() if _is_sub(kind, BaseModel) else None
            nodes.append(WorkflowEventNode(
                id=name, label=name, event_type=name, event_types=_chain(kind), event_schema=schema,
                produced_by=list(produced_by.get(name, [])),
            ))
            added.add(name)

    for name, spec in steps.items():
        if name not in added:
            nodes.append(WorkflowStepNode(id=name, label=name, description=inspect.getdoc(spec.func)))
            added.add(name)
        for kind in spec.accepted:
            if kind is StopEvent and kind is not stop_event:
                continue
            add_event(kind)
        for kind in spec.returns:
            if kind is none:
                continue
            add_event(kind)
            if _is_sub(kind, InputRequiredEvent) and "external_step" not in added:
                nodes.append(WorkflowExternalNode(id="external_step", label="external_step"))
                added.add("external_step")
        for definition in spec.resources:
            add_resource(definition.resource, definition.type_annotation)

    for name, spec in steps.items():
        for kind in spec.returns:
            if kind is not none:
                edges.append(WorkflowGraphEdge(source=name, target=_name(kind)))
            if _is_sub(kind, InputRequiredEvent):
                edges.append(WorkflowGraphEdge(source=_name(kind), target="external_step"))
        sources: list[Any] = []
        for kind in spec.accepted:
            if spec.accept_event_subclasses and isinstance(kind, type):
                candidates = [
                    ev for ev in graph_events if _is_sub(ev, kind) and (ev is kind or not _is_sub(ev, StopEvent))
                ]
            else:
                candidates = [kind]
            sources.extend(ev for ev in candidates if ev not in sources)
        for kind in sources:
            edges.append(WorkflowGraphEdge(source=_name(kind), target=name))
            if _is_sub(kind, HumanResponseEvent) and "external_step" in added:
                edges.append(WorkflowGraphEdge(source="external_step", target=_name(kind)))
        for definition in spec.resources:
            target = resource_nodes[_identity(definition.resource)].id
            edges.append(WorkflowGraphEdge(source=name, target=target, label=definition.name))

    return WorkflowGraph(name=cls.__name__, nodes=nodes, edges=edges, description=inspect.getdoc(cls))
