"""Planning ``wfasync fix``: which findings one pass rewrites and how, and why the rest stay.

A plan is made on a libcst module and the findings the analysis made on that very module
(``Finding.node`` is found by identity); :mod:`flake8_wfasync.fix.rewrite` carries it out.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

from ..analysis.nodes import NODE_TYPES, child_nodes
from ..analysis.resolve import dotted
from ..knowledge.catalog import CPU_CODES, LAZY_SCANS
from ..knowledge.findings import Finding
from ..knowledge.rules import BLOCKING_CODES

__all__ = ["DROP_IN_TWINS", "ModuleFacts", "OFFLOADABLE", "Plan", "fixable_in", "make_plan", "offloader"]

# Findings of a call that blocks where it stands: offloading it is always correct.
OFFLOADABLE = BLOCKING_CODES
# Function twins that take exactly the same arguments.
DROP_IN_TWINS = {"time.sleep": "asyncio.sleep"}
FILE_OPENERS = frozenset({"builtins.open", "open", "io.open", "os.fdopen", "codecs.open", "gzip.open",
                          "bz2.open", "lzma.open", "tarfile.open", "zipfile.ZipFile", "pathlib.Path.open",
                          "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile"})
THREAD_BOUND_PREFIXES = ("sqlite3.",)
# Calls that return a lazy iterator: the scan runs where the result is consumed, on the loop.
LAZY_ITERATORS = LAZY_SCANS | {"os.scandir"}
# Builtins that consume an iterator whole: ``list(rows(p))`` is rewritten as a whole.
COLLECTORS = frozenset({"list", "tuple", "set", "frozenset", "sorted"})
# The module-level executor CPU-heavy calls are rewritten to run on.
CPU_POOL = "CPU_POOL"
OFFLOADERS_WITH_KWARGS = frozenset({"to_thread"})
OFFLOADERS_POSITIONAL = {"run_in_executor": 1, "run_sync": 0}  # index of the callable argument

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _CHILD_FIELDS[cls] = names
    return names


class _ParentMap:
    """Node -> parent, keyed by identity: libcst nodes hash with a Python-level ``__hash__``,
    which made building the map cost more than walking the tree."""

    __slots__ = ("by_id",)

    def __init__(self) -> None:
        self.by_id: dict[int, cst.CSTNode] = {}

    def get(self, node: cst.CSTNode | None) -> cst.CSTNode | None:
        return self.by_id.get(id(node))

    def __contains__(self, node: object) -> bool:
        return id(node) in self.by_id

    def __getitem__(self, node: cst.CSTNode) -> cst.CSTNode:
        return self.by_id[id(node)]


class ParentsAndAwaits:
    """Every node's parent and the names of awaited calls, in one walk over the dataclass
    fields (libcst's visitors rebuild each node they pass, several times slower)."""

    def __init__(self, module: cst.Module) -> None:
        self.parent = _ParentMap()
        self.awaited: set[str] = set()
        parent = self.parent.by_id
        node_types = NODE_TYPES
        stack: list[cst.CSTNode] = [module]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            t = type(node)
            if t is cst.Await and type(node.expression) is cst.Call:
                func = node.expression.func
                if type(func) is cst.Name:
                    self.awaited.add(func.value)
                elif type(func) is cst.Attribute:
                    self.awaited.add(func.attr.value)
            # (child_nodes() inlined: this walk covers whole modules, and the helper's list per
            # node made it half as slow again)
            for name in _child_fields(t):
                value = getattr(node, name)
                tv = type(value)
                if tv in node_types:
                    parent[id(value)] = node
                    push(value)
                elif tv is tuple or tv is list:
                    for item in value:
                        if type(item) in node_types:
                            parent[id(item)] = node
                            push(item)


def _nodes_in(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``root`` and ``root`` itself, in no particular order (what a libcst
    visitor visits, without the cost of its dispatch)."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child_nodes(node, _child_fields(type(node))))


_BINDS_TARGET = frozenset({cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr, cst.AssignTarget})


def _bound_names(node: cst.CSTNode) -> set[str]:
    """Names bound by assignment, import, def, class, for, with, except, params in ``node``."""
    names: set[str] = set()
    for n in _nodes_in(node):
        t = type(n)
        if t in _BINDS_TARGET:
            names.update(_target_names(n.target))  # type: ignore[attr-defined]
        elif t is cst.AsName:
            names.update(_target_names(n.name))  # type: ignore[attr-defined]
        elif t is cst.Param or t is cst.FunctionDef or t is cst.ClassDef:
            names.add(n.name.value)  # type: ignore[attr-defined]
        elif t is cst.ImportAlias and n.asname is None:  # type: ignore[attr-defined]
            name = dotted(n.name)  # type: ignore[attr-defined]
            if name:
                names.add(name.split(".")[0])
    return names


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for el in target.elements:
            out |= _target_names(el.value)
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


@dataclass
class Plan:
    """What one pass will do to one module."""

    calls: dict[cst.Call, tuple[str, Finding]] = field(default_factory=dict)  # node -> (kind, finding)
    defs: dict[cst.FunctionDef, Finding] = field(default_factory=dict)
    refusals: list[tuple[Finding, str]] = field(default_factory=list)
    needs_asyncio: bool = False
    needs_functools: bool = False
    needs_cpu_pool: bool = False  # CPU_POOL is to be defined at module level

    @property
    def empty(self) -> bool:
        return not self.calls and not self.defs


class ModuleFacts:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        collector = ParentsAndAwaits(module)
        self.parent = collector.parent
        self.awaited_attrs = collector.awaited
        self.asyncio_name = self._find_asyncio_import()
        self._fn_bound: dict[cst.FunctionDef, set[str]] = {}
        self._fn_files: dict[cst.FunctionDef, set[str]] = {}

    def imports_module(self, name: str) -> bool:
        """``import <name>`` at module level, without an alias."""
        for stmt in self.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import) and any(
                            dotted(a.name) == name and a.asname is None for a in small.names):
                        return True
        return False

    def module_pool(self) -> bool | None:
        """Whether the module binds CPU_POOL to an executor: True, False (to something else),
        None (not at all)."""
        for stmt in self.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name) and t.target.value == CPU_POOL for t in small.targets):
                    value = small.value
                    name = dotted(value.func) if isinstance(value, cst.Call) else None
                    return bool(name) and name.rpartition(".")[2] in ("ThreadPoolExecutor", "ProcessPoolExecutor")
        return False if CPU_POOL in self.module_bound else None

    def _find_asyncio_import(self) -> str | None:
        for stmt in self.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        for alias in small.names:
                            if dotted(alias.name) == "asyncio":
                                if alias.asname is None:
                                    return "asyncio"
                                if isinstance(alias.asname.name, cst.Name):
                                    return alias.asname.name.value
        return None

    @functools.cached_property
    def module_bound(self) -> set[str]:
        # Only asked when asyncio is not imported and a rewrite needs it: a whole extra pass.
        return _bound_names(self.module)

    def enclosing(self, node: cst.CSTNode) -> tuple[cst.FunctionDef | None, str | None]:
        """(the coroutine the node runs in, None) or (None, reason it cannot be awaited there)."""
        current = node
        while current in self.parent:
            current = self.parent[current]
            if isinstance(current, cst.Lambda):
                return None, "inside a lambda, where it cannot be awaited"
            if isinstance(current, _COMPREHENSIONS):
                return None, "inside a comprehension: move it into a loop, then offload it"
            if isinstance(current, cst.FunctionDef):
                if current.asynchronous is None:
                    return None, "inside a plain def: offload the call to that function instead"
                return current, None
            if isinstance(current, (cst.ClassDef, cst.Module)):
                break
        return None, "not inside a coroutine"

    def fn_bound(self, fn: cst.FunctionDef) -> set[str]:
        if fn not in self._fn_bound:
            self._fn_bound[fn] = _bound_names(fn)
        return self._fn_bound[fn]

    def file_objects(self, fn: cst.FunctionDef) -> set[str]:
        """Names bound to a file object opened in ``fn`` (``with open(p) as fh``, ``fh = open(p)``)."""
        if fn in self._fn_files:
            return self._fn_files[fn]
        found: set[str] = set()
        for n in _nodes_in(fn.body):
            if type(n) is cst.WithItem:
                if n.asname is not None and _opens_file(n.item):
                    found.update(_target_names(n.asname.name))
            elif type(n) is cst.Assign and _opens_file(n.value):
                for t in n.targets:
                    found.update(_target_names(t.target))
        self._fn_files[fn] = found
        return found


def _opens_file(expr: cst.BaseExpression) -> bool:
    if not isinstance(expr, cst.Call):
        return False
    name = dotted(expr.func) or ""
    if name in FILE_OPENERS or name.split(".")[-1] == "open":
        return True
    return isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "open"


def _usage_refusal(node: cst.Call, facts: ModuleFacts) -> str | None:
    parent = facts.parent.get(node)
    if isinstance(parent, cst.WithItem) and parent.item is node:
        return ("used as a context manager: move the whole with-block into a sync helper and "
                "await asyncio.to_thread(helper, ...)")
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
        return ("used as an iterator: every step of the loop would still block; collect the items in a sync "
                "helper run with asyncio.to_thread")
    return None


def make_plan(module: cst.Module, findings: Sequence[Finding], facts: ModuleFacts) -> Plan:
    plan = Plan()
    seen: set[int] = set()
    # A step turned into a def takes every finding inside it along: handle those first. When
    # every blocking call in the step has an async twin, awaiting the twins is the better fix
    # (the step stays on the loop, without a thread), and then the step awaits.
    for f in findings:
        if f.code == "WFA401":
            inner = [g for g in findings if g is not f and g.node is not None and _inside(g.node, f.node, facts)]
            if inner and all(_has_twin(g, facts) for g in inner):
                continue
            reason = _plan_def(f, facts)
            if reason:
                plan.refusals.append((f, reason))
            else:
                plan.defs[f.node] = f
    # Unwrapping ``to_thread(f(x))`` fixes the inner call too: plan those before the rest.
    ordered = sorted((f for f in findings if f.code != "WFA401"), key=lambda f: f.code != "WFA301")
    for f in ordered:
        if f.node is None:
            plan.refusals.append((f, "the analyzer gave no location to rewrite"))
            continue
        if id(f.node) in seen:
            continue
        seen.add(id(f.node))
        if any(_inside(f.node, d, facts) for d in plan.defs):
            continue
        if f.code == "WFA301":
            reason = _plan_unwrap(f, facts, plan)
            if reason is None:
                seen.update(id(n) for n in _unwrapped_inner(f.node, facts))
        elif f.code in OFFLOADABLE:
            reason = _plan_offload(f, facts, plan)
        else:
            reason = f"no automatic rewrite for {f.code}: {f.advice or 'see wfasync explain ' + f.code}"
        if reason:
            plan.refusals.append((f, reason))
    return plan


def _unwrapped_inner(node: cst.CSTNode, facts: ModuleFacts) -> list[cst.CSTNode]:
    """The node and the inner call of a planned unwrap (both are settled by it)."""
    out = [node]
    if isinstance(node, cst.Call):
        kind = offloader(node)
        if kind is not None and len(node.args) > kind[1]:
            out.append(node.args[kind[1]].value)
        else:
            arg = facts.parent.get(node)
            outer = facts.parent.get(arg) if isinstance(arg, cst.Arg) else None
            if outer is not None:
                out.append(outer)
    return out


def _has_twin(f: Finding, facts: ModuleFacts) -> bool:
    if f.code not in OFFLOADABLE or not isinstance(f.node, cst.Call):
        return False
    scratch = Plan()
    return _plan_offload(f, facts, scratch) is None and scratch.calls[f.node][0].startswith("twin")


def _inside(node: cst.CSTNode, ancestor: cst.CSTNode, facts: ModuleFacts) -> bool:
    current = node
    while current in facts.parent:
        current = facts.parent[current]
        if current is ancestor:
            return True
    return False


def _plan_def(f: Finding, facts: ModuleFacts) -> str | None:
    fn = f.node
    if not isinstance(fn, cst.FunctionDef) or fn.asynchronous is None:
        return "the analyzer gave no async def to rewrite"

    awaits: list[str] = []

    class Find(cst.CSTVisitor):
        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return n is fn  # nested functions are their own business

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

        def visit_Await(self, n: cst.Await) -> None:
            awaits.append("await")

        def visit_Yield(self, n: cst.Yield) -> None:
            awaits.append("yield")

        def visit_For(self, n: cst.For) -> None:
            if n.asynchronous is not None:
                awaits.append("async for")

        def visit_With(self, n: cst.With) -> None:
            if n.asynchronous is not None:
                awaits.append("async with")

        def visit_CompFor(self, n: cst.CompFor) -> None:
            if n.asynchronous is not None:
                awaits.append("async for")

    fn.visit(Find())
    if awaits:
        return f"it uses {awaits[0]}, so it must stay a coroutine: offload its blocking calls instead"
    if fn.name.value in facts.awaited_attrs:
        return f"{fn.name.value}() is awaited elsewhere in this module; a plain def would break that await"
    return None


def _plan_offload(f: Finding, facts: ModuleFacts, plan: Plan) -> str | None:
    node = f.node
    if not isinstance(node, cst.Call):
        return "the analyzer gave no call to rewrite"
    fn, reason = facts.enclosing(node)
    if fn is None:
        return reason
    reason = _usage_refusal(node, facts)
    if reason:
        return reason
    qualname = f.qualname or ""
    if qualname in FILE_OPENERS or _opens_file(node):
        return ("returns a file object whose reads and writes would still block: put the file work in a "
                "sync helper and await asyncio.to_thread(helper, ...), or use aiofiles")
    if f.lazy is not None or qualname in LAZY_ITERATORS:
        return _plan_collect(f, node, fn, facts, plan)
    if f.feeds:
        return (f"its result feeds another blocking call ({f.feeds}): offloading this call alone would "
                "leave that one on the loop; move the whole expression into a sync helper and await "
                "asyncio.to_thread(helper, ...)")
    if qualname.startswith(THREAD_BOUND_PREFIXES):
        return ("sqlite3 objects may only be used in the thread that made them: put the database work in "
                "one sync helper and await asyncio.to_thread(helper, ...), or use aiosqlite")
    func = node.func
    receiver = func.value if isinstance(func, cst.Attribute) else None
    if isinstance(receiver, cst.Name) and receiver.value in facts.file_objects(fn):
        return (f"a method of the file object {func.value.value!r} opened in this coroutine: move the open and "
                "every read/write into a sync helper and await asyncio.to_thread(helper, ...)")
    twin = f.twin or ""
    drop_in = DROP_IN_TWINS.get(qualname) or (twin if twin.startswith("asyncio.") and qualname in DROP_IN_TWINS else "")
    if drop_in:
        if not _asyncio_usable(fn, facts):
            return "the name 'asyncio' means something else here"
        plan.calls[node] = ("twin-function", f)
        plan.needs_asyncio = True
        return None
    method_twin = twin.isidentifier()  # a method of the same object ("acomplete"), not a function
    if method_twin and isinstance(func, cst.Attribute) and func.attr.value != twin:
        plan.calls[node] = ("twin-method", f)
        return None
    if not _asyncio_usable(fn, facts):
        return "the name 'asyncio' means something else here"
    if f.code in CPU_CODES:
        return _plan_cpu_pool(f, node, fn, facts, plan)
    plan.calls[node] = ("to_thread", f)
    plan.needs_asyncio = True
    return None


def _plan_collect(f: Finding, node: cst.Call, fn: cst.FunctionDef, facts: ModuleFacts, plan: Plan) -> str | None:
    """A call that runs none of the blocking work itself: a generator function, a lazy scan.
    Offloading the call alone would leave the work where the result is consumed; when the
    result is collected right there (``list(rows(p))``, ``sorted(d.glob("*"))``), the whole
    collecting call goes to a thread instead."""
    if f.lazy == "context":
        return ("entering it is what blocks: move the with-block into a sync helper and await "
                "asyncio.to_thread(helper, ...)")
    lazily = ("returns a lazy iterator: the work runs where it is consumed, on the loop; collect the "
              "items in a thread: await asyncio.to_thread(list, ...)")
    if f.lazy is None and (f.qualname or "") not in LAZY_SCANS:
        return ("opens the directory at the call and scans it where it is consumed: put the scan in a "
                "sync helper and await asyncio.to_thread(helper, ...)")
    arg = facts.parent.get(node)
    consumer = facts.parent.get(arg) if isinstance(arg, cst.Arg) else None
    if (not isinstance(consumer, cst.Call) or not isinstance(consumer.func, cst.Name)
            or consumer.func.value not in COLLECTORS or not consumer.args or consumer.args[0] is not arg
            or arg.keyword is not None or arg.star):  # type: ignore[union-attr]
        return lazily
    name = consumer.func.value
    if name != "sorted" and len(consumer.args) != 1:
        return lazily
    if name in facts.fn_bound(fn) or name in facts.module_bound:
        return f"the name {name!r} means something else here"
    if not _asyncio_usable(fn, facts):
        return "the name 'asyncio' means something else here"
    if consumer not in plan.calls:
        plan.calls[consumer] = ("to_thread", f)
        plan.needs_asyncio = True
    return None


def _plan_cpu_pool(f: Finding, node: cst.Call, fn: cst.FunctionDef, facts: ModuleFacts, plan: Plan) -> str | None:
    """CPU-heavy work goes to a small dedicated pool (WFA109's advice), not to asyncio's default
    one, which every to_thread call shares."""
    if CPU_POOL in facts.fn_bound(fn):
        return f"the name {CPU_POOL!r} means something else in this function"
    pool = facts.module_pool()
    if pool is False:
        return f"the module-level name {CPU_POOL!r} is not an executor; run the call on a dedicated pool by hand"
    keywords = any(a.keyword is not None or a.star == "**" for a in node.args)
    if keywords and not facts.imports_module("functools") and "functools" in facts.module_bound:
        return "the name 'functools' means something else here"
    plan.calls[node] = ("cpu-pool", f)
    plan.needs_asyncio = True
    plan.needs_functools |= keywords
    plan.needs_cpu_pool |= pool is None
    return None


def _asyncio_usable(fn: cst.FunctionDef, facts: ModuleFacts) -> bool:
    name = facts.asyncio_name or "asyncio"
    if name in facts.fn_bound(fn):
        return False
    if facts.asyncio_name is None and "asyncio" in facts.module_bound:
        return False  # bound to something other than the module (``from x import asyncio``)
    return True


def offloader(call: cst.Call) -> tuple[str, int] | None:
    """(kind, index of the callable argument) for to_thread / run_in_executor / run_sync."""
    name = dotted(call.func) or (call.func.attr.value if isinstance(call.func, cst.Attribute) else "")
    last = name.split(".")[-1] if name else ""
    if last in OFFLOADERS_WITH_KWARGS:
        return last, 0
    if last in OFFLOADERS_POSITIONAL:
        return last, OFFLOADERS_POSITIONAL[last]
    return None


def _plan_unwrap(f: Finding, facts: ModuleFacts, plan: Plan) -> str | None:
    node = f.node
    if not isinstance(node, cst.Call):
        return "the analyzer gave no call to rewrite"
    outer: cst.Call | None = None
    if offloader(node) is not None:
        outer = node
    else:
        arg = facts.parent.get(node)
        maybe = facts.parent.get(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(maybe, cst.Call) and offloader(maybe) is not None:
            outer = maybe
    if outer is None:
        return "could not find the offloading call around it"
    kind, index = offloader(outer)  # type: ignore[misc]
    positional = [a for a in outer.args if a.keyword is None and not a.star]
    if len(outer.args) != index + 1 or len(positional) != index + 1:
        return "the offloading call has other arguments: pass the callable and its arguments by hand"
    inner = outer.args[index].value
    if not isinstance(inner, cst.Call):
        return "the offloaded argument is not a call"
    if kind not in OFFLOADERS_WITH_KWARGS and any(a.keyword is not None or a.star == "**" for a in inner.args):
        return (f"{kind} passes no keyword arguments: wrap the call in functools.partial(f, ...) and pass that")
    if outer in plan.calls:
        return None
    plan.calls[outer] = ("unwrap", f)
    return None


def fixable_in(module: cst.Module, findings: list[Finding]) -> set[tuple[str, int, int]]:
    """(code, line, col) of ``findings``, made on ``module``, that one fix pass rewrites: the
    plan of a pass, without parsing or analysing again (what ``wfasync check`` marks [*])."""
    facts = ModuleFacts(module)
    plan = make_plan(module, findings, facts)
    planned = [f for _, f in plan.calls.values()] + list(plan.defs.values())
    settled = {id(f.node) for f in planned}
    for f in findings:
        if f.node is not None and any(_inside(f.node, d, facts) for d in plan.defs):
            planned.append(f)
        elif f.code != "WFA301" and id(f.node) in settled:
            planned.append(f)
    return {(f.code, f.line, f.col) for f in planned}
