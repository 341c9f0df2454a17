"""Which sync functions of the project block, directly or further down (WFA201).

Per module: while the analyzer walks a coroutine, every call to a plain (sync) function or
method of the module (``load()``, ``self.helper()``, ``cls.helper()``, ``Class.static()``, a
module-level lambda) is recorded. Once the module's single pass is over, the helpers those
calls reach are walked on demand, each once, with the analyzer's own walker and scopes (no
second parse, no metadata providers): their blocking calls, the helpers they call and, in
project mode, the functions of other project modules they call. A reverse breadth-first search
from the helpers that block gives every helper its shortest chain to a blocking call; cycles
and recursion need nothing special. Nested functions and closures a helper calls are walked
as part of it, as the analyzer does for coroutines.

A helper that only hands work to a thread (``return asyncio.to_thread(fn, x)``) holds no
blocking call, so it does not block; one that evaluates the blocking call first
(``to_thread(fn(x))``) does.

Guards on parameters (:mod:`flake8_wfasync.analysis.guards`) tag each blocking call and each
call a helper makes, also inside ``try``, ``with`` and loops; a helper that calls itself gets
its ways to block in a few rounds (each round sees the ways of the one before through the
arguments of the recursive call). A summary keeps, with each call to another module's function,
the arguments it passes (an ``args`` atom), which the project index maps on that function's
own guards.

Across modules, :mod:`flake8_wfasync.analysis.project_index` summarises each project module with
:func:`flake8_wfasync.analysis.summaries.summarize` (the same walk over every sync function of
the module, :meth:`ModuleGraph.summarize`) and links the summaries once per run.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from ..knowledge import catalog
from ..knowledge.findings import Chain
from ..knowledge.rules import RULES, SITE_CODES
from . import guards, guard_logic
from .context import FunctionContext, RawFinding
from .resolve import INSTANCE, ClassInfo, LocalDef, Scope, StraightLine, bind_params, collect_bindings, resolve_expr

if TYPE_CHECKING:
    from .walker import Walker

__all__ = ["EXT", "ModuleGraph", "chain_text"]

EXT = "<ext>"  # the path of a summary's way to block through another module's function

Owner = cst.FunctionDef | None  # the def a call is in, for its position (None: module level)


def chain_text(chain: Chain, module: str) -> str:
    """``load() -> read_rows() -> open (pkg/db.py:12)``: function names relative to the module
    reading it; the sink's file as the run names files (the finding's own path form), whether
    it is this module or another one, so that every chain reads the same way."""
    parts = [f"{name}()" if mod == module or not mod else f"{mod}.{name}()" for mod, name in chain.steps]
    parts.append(f"{chain.call} ({chain.path}:{chain.line})")
    return " -> ".join(parts)


_PENDING = object()  # a function whose ways to block are being made (see ModuleGraph._paths)


@dataclass(eq=False)
class _Node:
    """One sync function of the module, walked at most once."""

    fn: cst.FunctionDef | cst.Lambda
    name: str
    ctx: FunctionContext | None = None
    callees: list[tuple[cst.Call, LocalDef]] = field(default_factory=list)
    externals: list[tuple[cst.Call, str, Owner]] = field(default_factory=list)
    # The blocking call that makes it block without help from other functions of the module:
    # the strongest one reached whatever the arguments, else the strongest guarded one.
    site: Chain | None = None
    via: _Node | None = None
    chain: Chain | None = None
    # The guards on its parameters that must hold to reach each call (parallel lists; an
    # empty guard: reached whatever the arguments), and its guarded blocking calls.
    callee_guards: list[guards.Guard] = field(default_factory=list)
    external_guards: list[guards.Guard] = field(default_factory=list)
    # The parameters assigned before each call (parallel lists too): no longer the arguments.
    callee_rebound: list[frozenset[str]] = field(default_factory=list)
    external_rebound: list[frozenset[str]] = field(default_factory=list)
    guarded_sites: list[tuple[guards.Guard, Chain]] = field(default_factory=list)
    bare_site: bool = False  # a blocking call of its own that no guard keeps from
    sig: dict[str, Any] | None = None
    scope: Scope | None = None
    reader: guards.GuardReader | None = None
    cls: ClassInfo | None = None


def _block_of(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    """The statements of an indented block, or the small statements of a one-line suite."""
    return suite.body  # type: ignore[return-value]


def _blocks_of(stmt: cst.CSTNode) -> tuple[list[cst.CSTNode], list[Sequence[cst.CSTNode]]] | None:
    """The parts of a sync ``try``, ``with``, ``for`` or ``while`` statement outside its blocks
    (handlers' types, context managers, targets and iterables, tests), and its blocks; None
    for any other statement (walked whole)."""
    t = type(stmt)
    heads: list[cst.CSTNode] = []
    suites: list[Sequence[cst.CSTNode]] = []
    if t is cst.Try:
        suites.append(_block_of(stmt.body))  # type: ignore[attr-defined]
        for h in stmt.handlers:  # type: ignore[attr-defined]
            if h.type is not None:
                heads.append(h.type)
            suites.append(_block_of(h.body))
        for extra in (stmt.orelse, stmt.finalbody):  # type: ignore[attr-defined]
            if extra is not None:
                suites.append(_block_of(extra.body))
    elif t is cst.With and stmt.asynchronous is None:  # type: ignore[attr-defined]
        heads.extend(stmt.items)  # type: ignore[attr-defined]
        suites.append(_block_of(stmt.body))  # type: ignore[attr-defined]
    elif (t is cst.For and stmt.asynchronous is None) or t is cst.While:  # type: ignore[attr-defined]
        heads.extend([stmt.target, stmt.iter] if t is cst.For else [stmt.test])  # type: ignore[attr-defined]
        suites.append(_block_of(stmt.body))  # type: ignore[attr-defined]
        if stmt.orelse is not None:  # type: ignore[attr-defined]
            suites.append(_block_of(stmt.orelse.body))  # type: ignore[attr-defined]
    else:
        return None
    return heads, suites


def _merge_ext(paths: list[tuple[guards.Guard, Chain]]) -> list[tuple[guards.Guard, Chain]]:
    """Too many ways to block: in a summary, the ways through one function of another module
    made one, open whenever one of them is (the atoms all of them hold, the arguments all of
    them pass alike)."""
    out: list[tuple[guards.Guard, Chain]] = []
    groups: dict[str, list[tuple[guards.Guard, Chain]]] = {}
    for g, c in paths:
        if c.path == EXT:
            if c.call not in groups:
                groups[c.call] = []
                out.append((g, c))  # (its place, taken by the merged one below)
            groups[c.call].append((g, c))
        else:
            out.append((g, c))
    merged = {}
    for call, group in groups.items():
        guards_ = [[a for a in g if a[1] != guard_logic.ARGS] for g, _ in group]
        common = [a for a in guards_[0] if all(a in other for other in guards_[1:])]
        described = [next((a[2] for a in g if a[1] == guard_logic.ARGS), None) for g, _ in group]
        joined = guard_logic.join_described(described)
        merged[call] = (common + ([["", guard_logic.ARGS, joined]] if joined is not None else []), group[0][1])
    return [merged[c.call] if c.path == EXT else (g, c) for g, c in out]


def _display(d: LocalDef) -> str:
    if d.cls is not None:
        return f"{d.cls.name}.{d.name}"
    return d.name


_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def lazy_kind(d: LocalDef) -> str | None:
    """"iterator" for a generator function, "context" for a ``@contextmanager`` one (calling
    either runs none of its body: iterating, or entering the with-block, does); else None."""
    fn = d.node
    if type(fn) is not cst.FunctionDef or fn.asynchronous is not None:
        return None
    todo: list[cst.CSTNode] = list(fn.body.children)
    while todo:
        n = todo.pop()
        if type(n) is cst.Yield:
            break
        if not isinstance(n, _SCOPES):
            todo.extend(n.children)
    else:
        return None
    for dec in fn.decorators:
        expr = dec.decorator
        name = expr.attr.value if type(expr) is cst.Attribute else expr.value if type(expr) is cst.Name else ""
        if name == "contextmanager":
            return "context"
    return "iterator"


class ModuleGraph:
    """The call graph of one module, built on demand during one analysis."""

    def __init__(self, analyzer: Walker) -> None:
        self.an = analyzer
        self.nodes: dict[int, _Node] = {}
        self.by_ctx: dict[int, _Node] = {}
        # (coroutine ctx, call, callee, owner of the call) waiting for the end of the pass.
        self.pending: list[tuple[FunctionContext, cst.Call, LocalDef, Owner]] = []
        self.pending_ext: list[tuple[FunctionContext, cst.Call, str, Owner]] = []
        # Calls of a coroutine to its own sync twin (``self.complete`` in ``acomplete``), by id:
        # each is reported once, through the first of its callees that blocks.
        self.fallbacks: set[int] = set()
        # The scope each coroutine call was made in: its arguments are read there.
        self.scopes: dict[int, Scope | None] = {}
        self._init_attrs: dict[int, dict[str, str]] = {}
        self._init_sigs: dict[int, dict[str, Any] | None] = {}
        # (node, with other modules' functions) -> its ways to block (see _paths).
        self._path_memo: dict[tuple[int, bool], Any] = {}
        self._computing: list[list[Any]] = []  # [key, calls itself] of the _paths being made
        self._ext_memo: dict[int, bool] = {}
        self.module_name = ""
        index = analyzer.index
        if index is not None:
            self.module_name = index.module_of(analyzer.path) or ""

    # -- recording, during the pass ------------------------------------------------------------

    def local_call(self, ctx: FunctionContext, call: cst.Call, target: LocalDef, owner: Owner,
                   scope: Scope | None = None) -> None:
        if type(target.node) is cst.Lambda and type(call.func) is cst.Name:
            target = dataclasses.replace(target, name=call.func.value)  # the name it is called by
        node = self.by_ctx.get(id(ctx))
        if node is not None:
            node.callees.append((call, target))
        else:
            self.pending.append((ctx, call, target, owner))
            self.scopes[id(call)] = scope

    def fallback_call(self, ctx: FunctionContext, call: cst.Call, target: LocalDef, owner: Owner,
                      scope: Scope | None) -> None:
        """``self.complete(...)`` in ``acomplete``, reaching ``target``: the class's own twin or
        a subclass's override, whose class is then the one to give the coroutine a real async
        implementation."""
        self.fallbacks.add(id(call))
        self.pending.append((ctx, call, target, owner))
        self.scopes[id(call)] = scope

    def external_call(self, ctx: FunctionContext, call: cst.Call, qualname: str, owner: Owner,
                      scope: Scope | None = None) -> None:
        node = self.by_ctx.get(id(ctx))
        if node is not None:
            node.externals.append((call, qualname, owner))
        else:
            self.pending_ext.append((ctx, call, qualname, owner))
            self.scopes[id(call)] = scope

    # -- after the pass ------------------------------------------------------------------------

    def resolve(self) -> None:
        """Walk the helpers the coroutines call, chain them, and report WFA201."""
        if not self.pending and not self.pending_ext:
            return
        self._explore([t for _, _, t, _ in self.pending])
        self._link()
        an = self.an
        touched: dict[int, FunctionContext] = {}
        reported: set[int] = set()
        for ctx, call, target, owner in self.pending:
            if id(call) in reported:
                continue  # a fallback already reported through the class's twin or a subclass's
            node = self.nodes.get(id(target.node))
            if node is None or node.chain is None:
                continue
            chain = self._chain_for(node, call, target)
            if chain is None:
                continue  # the call's arguments fail every guard on the way to a blocking call
            overrider = None
            if id(call) in self.fallbacks:
                reported.add(id(call))
                overrider = target.cls
            self._report(ctx, call, owner, _display(target), chain, overrider, lazy_kind(target))
            touched[id(ctx)] = ctx
        index = an.index
        for ctx, call, q, owner in self.pending_ext:
            chain = index.chain(q) if index is not None else None
            if chain is None:
                continue
            guarded = getattr(index, "guarded", None)
            alternatives = guarded(q) if guarded is not None else None
            if alternatives is not None and self._bound_as_summarised(call, alternatives):
                scope = self.scopes.get(id(call))
                built = self._built(call, scope, alternatives["paths"], alternatives.get("init_sig"),
                                    alternatives.get("cls"))
                chain = self._open_path(call, alternatives["sig"], alternatives["paths"], scope, chain, built)
                if chain is None:
                    continue
            mod, name = chain.steps[0]
            self._report(ctx, call, owner, f"{mod}.{name}" if mod else name, chain)
            touched[id(ctx)] = ctx
        # A step that never awaits and blocks only through helpers is a WFA401 too.
        for ctx in touched.values():
            if ctx.step and not ctx.has_await and not any(r.code == "WFA401" for r in ctx.raws):
                an.never_awaits(ctx)

    # -- guards on parameters -------------------------------------------------------------------

    def _chain_for(self, node: _Node, call: cst.Call, target: LocalDef) -> Chain | None:
        """The chain to report for a call of ``node``, or None when the call's arguments rule
        out every way it blocks."""
        assert node.chain is not None
        paths = self._paths(node, True)
        if paths is None or node.sig is None:
            return node.chain
        if not paths:
            return None  # every way it blocks is closed to it, whatever the arguments
        scope = self.scopes.get(id(call))
        if type(call.func) is cst.Attribute and target.cls is not None and target.name != "__init__":
            receiver = resolve_expr(call.func.value, scope or self.an.module_scope)
            if isinstance(receiver, ClassInfo) and node.sig["kind"] == "method":
                return node.chain  # Class.method(obj, ...): the arguments are shifted by one
        built: list[dict[str, guards.Facts]] = []
        if node.cls is not None and target.name != "__init__":
            built = self._built(call, scope, paths, self._init_sig(node.cls), node.cls)
        return self._open_path(call, node.sig, paths, scope, node.chain, built)

    def _built(self, call: cst.Call, scope: Scope | None, paths: list[tuple[guards.Guard, Chain]], init_sig: dict[str, Any] | None,
               cls: ClassInfo | str | None) -> list[dict[str, guards.Facts]]:
        """For a method called on an instance (``logger.info(...)``, ``self.log.info(...)``):
        the arguments of each constructor call that built the instance, for the guards on
        attributes its constructor set; empty when that is not known."""
        wanted = guards.self_params(g for g, _ in paths)
        if not wanted or init_sig is None or cls is None or type(call.func) is not cst.Attribute:
            return []
        scope = scope or self.an.module_scope
        if scope is None:
            return []
        made = guards.constructions(call.func.value, scope, self.an.module)
        if made is None:
            return self._built_elsewhere(call, scope, init_sig, cls, wanted)
        out: list[dict[str, guards.Facts]] = []
        for ctor, where in made:
            if resolve_expr(ctor.func, where) != cls:
                return []  # built by something else too (a subclass, a factory)
            facts = guards.call_facts(ctor, init_sig, where, self.an.module, wanted)
            if facts is None:
                return []
            out.append(facts)
        return out

    def _built_elsewhere(self, call: cst.Call, scope: Scope, init_sig: dict[str, Any], cls: ClassInfo | str,
                         wanted: set[str]) -> list[dict[str, guards.Facts]]:
        """An instance another module of the project builds at its top level without
        arguments (``secrets = Secrets()``): its constructor saw every parameter at its
        default."""
        index = self.an.index
        instance_class = getattr(index, "instance_class", None)
        recv = resolve_expr(call.func.value, scope)  # type: ignore[attr-defined]
        if instance_class is None or not isinstance(recv, str) or not isinstance(cls, str):
            return []
        if instance_class(recv) != cls:
            return []
        facts = guards.call_facts(cst.Call(func=cst.Name(cls.rpartition(".")[2])), init_sig, scope,
                                  self.an.module, wanted)
        return [facts] if facts is not None else []

    def _init_sig(self, cls: ClassInfo) -> dict[str, Any] | None:
        key = id(cls.node)
        if key not in self._init_sigs:
            init = cls.methods.get("__init__")
            sig = None
            if init is not None and cls.scope is not None:
                sig = guards.signature(init, cls.scope, self.an.module, in_class=True)
            self._init_sigs[key] = sig
        return self._init_sigs[key]

    def _attrs_of(self, cls: ClassInfo) -> dict[str, str]:
        key = id(cls.node)
        if key not in self._init_attrs:
            self._init_attrs[key] = guards.init_attrs(cls.node)
        return self._init_attrs[key]

    def _bound(self, call: cst.Call, scope: Scope) -> bool:
        """The callee of a call to another module's function is reached on an instance, so
        its arguments line up after ``self`` if it is a method (see _bound_as_summarised)."""
        target = resolve_expr(call.func, scope)
        return isinstance(target, str) and INSTANCE in target

    def _bound_as_summarised(self, call: cst.Call, alternatives: dict[str, Any], scope: Scope | None = None) -> bool:
        """A method of another module is called on an instance (or is a constructor), so the
        call's arguments line up with its parameters after ``self``."""
        if alternatives["sig"]["kind"] != "method" or alternatives["init"]:
            return True
        scope = scope or self.scopes.get(id(call)) or self.an.module_scope
        target = resolve_expr(call.func, scope) if scope is not None else None
        if not isinstance(target, str):
            return False
        if INSTANCE in target:
            return True
        instance_class = getattr(self.an.index, "instance_class", None)  # secrets.load(): an instance
        return instance_class is not None and instance_class(target.rpartition(".")[0]) is not None

    _MAX_PATHS = 32  # more ways to block than this: counted as blocking whatever the arguments

    def _paths(self, node: _Node, with_ext: bool) -> list[tuple[guards.Guard, Chain]] | None:
        """Every way ``node`` blocks, each with the guard on its parameters (and on ``self:``
        attributes) that must hold, through the helpers it calls, whose guards are seen through
        the arguments it passes them; None when one needs no guard. ``with_ext``: the chains of
        the functions of other modules it calls are known; else (in a summary) a call to one is
        a way to block that the project index keeps if that function blocks (its chain's path
        is :data:`EXT`, its call the function's qualified name)."""
        key = (id(node), with_ext)
        memo = self._path_memo
        if key in memo:
            got = memo[key]
            if got is _PENDING:
                if self._computing and self._computing[-1][0] == key:
                    self._computing[-1][1] = True  # it calls itself: settled below
                    return []
                return None  # a longer cycle back here: counted as blocking unguarded
            return got  # type: ignore[return-value]
        memo[key] = _PENDING
        frame: list[Any] = [key, False]
        self._computing.append(frame)
        try:
            out = self._unique(self._compose(node, with_ext))
            # A function that calls itself: its ways to block through that call are its own
            # ways seen through the arguments it passes itself. Start from none, add until
            # nothing changes (a few rounds; else counted as blocking whatever the arguments).
            rounds = 0
            while frame[1] and out is not None:
                if rounds == 6:
                    out = None
                    break
                rounds += 1
                memo[key] = out
                again = self._compose(node, with_ext)
                if again is None:
                    out = None
                    break
                # (A way through the call to itself names the function once more in its chain:
                # ways are new only in their guard or blocking call.)
                known = {self._path_key(p)[:3] for p in out}
                if all(self._path_key(p)[:3] in known for p in again):
                    break
                # The ways through other modules' functions, one per function from here on:
                # joined, they can only lose atoms and arguments, so the rounds come to an end.
                joined = self._unique(_merge_ext(out + again))
                if joined is not None and {self._path_key(p)[:3] for p in joined} == known:
                    break
                out = joined
        finally:
            self._computing.pop()
        memo[key] = out
        return out

    @staticmethod
    def _path_key(path: tuple[guards.Guard, Chain]) -> tuple[str, str, int, tuple[tuple[str, str], ...]]:
        g, c = path
        return repr(g), c.call, c.line, c.steps

    def _unique(self, out: list[tuple[guards.Guard, Chain]] | None) -> list[tuple[guards.Guard, Chain]] | None:
        if out is None:
            return None
        unique: dict[tuple[str, str, int, tuple[tuple[str, str], ...]], tuple[guards.Guard, Chain]] = {}
        for g, c in out:
            if len(g) > 1:  # (an atom twice: a guard met again through a call to itself)
                atoms = {repr(a): a for a in g}
                if len(atoms) < len(g):
                    g = list(atoms.values())
            unique.setdefault(self._path_key((g, c)), (g, c))
        if len(unique) > self._MAX_PATHS:
            unique = {self._path_key(p): p for p in _merge_ext(list(unique.values()))}
        return list(unique.values()) if len(unique) <= self._MAX_PATHS else None

    def _compose(self, node: _Node, with_ext: bool) -> list[tuple[guards.Guard, Chain]] | None:
        if node.bare_site:
            return None
        mod, name = self.module_name, node.name
        out = [(g, c.prepend(mod, name)) for g, c in node.guarded_sites]
        scope = node.scope or self.an.module_scope
        for (call, callee), guard, rebound in zip(node.callees, node.callee_guards, node.callee_rebound):
            target = self.nodes.get(id(callee.node))
            if target is None or (target.chain is None and (with_ext or not self._reaches_ext(target))):
                continue
            inner = self._paths(target, with_ext) if target.sig is not None else None
            if inner is None or scope is None:
                if not guard or target.chain is None:
                    return None
                out.append((guard, target.chain.prepend(mod, name)))
                continue
            same_self = (type(call.func) is cst.Attribute and type(call.func.value) is cst.Name
                         and call.func.value.value == "self" and callee.cls is not None)
            assert target.sig is not None
            for g, chain in inner:
                seen = guards.translate(g, call, target.sig, scope, self.an.module, node.reader, same_self, rebound)
                if seen is None:
                    continue  # the arguments it passes close this way
                if not guard and not seen and chain.path != EXT:
                    return None
                out.append((guard + seen, chain.prepend(mod, name)))
        index = self.an.index
        for (call, q, _owner), guard, rebound in zip(node.externals, node.external_guards, node.external_rebound):
            if not with_ext:
                desc = None
                if scope is not None:
                    desc = guards.describe_args(call, scope, self.an.module, node.reader,
                                                self._bound(call, scope), rebound)
                args = [["", guard_logic.ARGS, desc]] if desc is not None else []
                out.append((guard + args, Chain(((mod, name),), q, EXT, 0)))
                continue
            ext = index.chain(q) if index is not None else None
            if ext is None:
                continue
            inner = self._external_paths(call, q, scope, node.reader, rebound)
            if inner is None:
                if not guard:
                    return None
                out.append((guard, ext.prepend(mod, name)))
                continue
            for g, chain in inner:
                if not guard and not g:
                    return None
                out.append((guard + g, chain.prepend(mod, name)))
        return guard_logic.open_paths(out, getattr(self.an.index, "class_ancestors", None))

    def _external_paths(self, call: cst.Call, q: str, scope: Scope | None,
                        reader: guards.GuardReader | None = None,
                        rebound: frozenset[str] = frozenset()) -> list[tuple[guards.Guard, Chain]] | None:
        """The guarded ways a call to another module's function blocks that the call's
        arguments (and its receiver's constructor arguments) leave open, each with what is
        left of its guard on the calling function's parameters that the call passes on;
        None when one is not guarded."""
        guarded = getattr(self.an.index, "guarded", None)
        alternatives = guarded(q) if guarded is not None else None
        if alternatives is None or scope is None or not self._bound_as_summarised(call, alternatives, scope):
            return None
        built = self._built(call, scope, alternatives["paths"], alternatives.get("init_sig"), alternatives.get("cls"))
        facts = guards.call_facts(call, alternatives["sig"], scope, self.an.module,
                                  guards.guard_params(g for g, _ in alternatives["paths"]))
        if facts is None:
            return None
        out: list[tuple[guards.Guard, Chain]] = []
        for g, chain in alternatives["paths"]:
            if guard_logic.guard_fails(g, facts, built):
                continue
            # What is left open holds on the parameters this function passes on, and may
            # hold whatever the others are.
            seen = guards.translate(g, call, alternatives["sig"], scope, self.an.module, reader, False, rebound)
            if seen is not None:
                out.append((seen, chain))
        return out

    def _open_path(self, call: cst.Call, sig: dict[str, Any], paths: list[tuple[guards.Guard, Chain]],
                   scope: Scope | None, fallback: Chain,
                   built: list[dict[str, guards.Facts]] | None = None) -> Chain | None:
        """The first path whose guard the call's arguments (and the instance's constructor
        arguments, ``built``) may meet; None when none."""
        scope = scope or self.an.module_scope
        if scope is None:
            return fallback
        facts = guards.call_facts(call, sig, scope, self.an.module, guards.guard_params(g for g, _ in paths))
        if facts is None:
            return fallback
        for guard, chain in paths:
            if not guard_logic.guard_fails(guard, facts, built or ()):
                return chain
        return None

    def _report(self, ctx: FunctionContext, call: cst.Call, owner: Owner, display: str, chain: Chain,
                overrider: ClassInfo | None = None, lazy: str | None = None) -> None:
        an = self.an
        fix, _ = an.fix_for(call, display, "WFA201", None, ctx, lazy)
        if overrider is ctx.cls and overrider is not None:
            fix = f"give {ctx.name} a real async implementation, or {fix}"
        elif overrider is not None:
            fix = f"override {ctx.name} in {overrider.name} with a real async implementation, or {fix}"
        text = chain_text(chain, self.module_name)
        msg = RULES["WFA201"].message.format(call=an.call_text(call), where=ctx.where, chain=text, fix=fix)
        an.add(ctx, "WFA201", call, owner, msg, display, fix, None)
        ctx.raws[-1].lazy = lazy

    def _explore(self, roots: Sequence[LocalDef]) -> None:
        todo = list(roots)
        while todo:
            d = todo.pop()
            if id(d.node) in self.nodes:
                continue
            node = self._walk(d)
            for _, callee in node.callees:
                if id(callee.node) not in self.nodes:
                    todo.append(callee)

    def _walk(self, d: LocalDef) -> _Node:
        an = self.an
        node = _Node(d.node, _display(d))
        self.nodes[id(d.node)] = node
        fn = d.node
        where = an.defs.get(id(fn))
        if type(fn) is cst.FunctionDef:
            if where is None:
                return node  # defined somewhere the pass does not reach: unknown, not blocking
            _, outer, cls = where
            if guards.memoised(fn, outer):
                return node  # its body runs once per argument tuple, not once per call
            scope = Scope("function", outer, fn)
            bind_params(fn, scope, outer, cls)
            body = fn.body.body
            line = StraightLine.plan(fn, scope)
            collect_bindings(body, scope, line=line)
            if line is not None:
                line.rewind()
            ctx = FunctionContext(fn, d.name, cls, False)
            node.ctx = ctx
            node.scope = scope
            self.by_ctx[id(ctx)] = node
            module_names = an.module_scope.names if an.module_scope is not None else {}
            attrs = None
            if cls is not None and fn.name.value != "__init__":
                attrs = functools.partial(self._attrs_of, cls)
            reader = guards.GuardReader(fn, scope, an.module, module_names, attrs, self.module_name)
            node.reader = reader
            node.cls = cls
            node.sig = guards.signature(fn, scope, an.module, in_class=cls is not None)
            raw_guards: dict[int, guards.Guard] = {}
            self._walk_guarded(body, scope, ctx, fn, node, reader, [], raw_guards, line)
            self._sites(node, ctx.raws, raw_guards)
            return node
        else:  # a module-level lambda
            outer = where[1] if where is not None else an.module_scope
            if outer is None:
                return node
            scope = Scope("function", outer, None)
            bind_params(fn, scope, outer)
            ctx = FunctionContext(None, d.name, None, False)
            node.ctx = ctx
            self.by_ctx[id(ctx)] = node
            an.walk(fn.body, scope, ctx, None)
        self._sites(node, ctx.raws, {})
        return node

    def _walk_guarded(self, stmts: Sequence[cst.CSTNode], scope: Scope, ctx: FunctionContext,
                      fn: cst.FunctionDef, node: _Node, reader: guards.GuardReader,
                      guard: guards.Guard, raw_guards: dict[int, guards.Guard],
                      line: StraightLine | None = None) -> None:
        """Walk a block of a helper, tagging what it finds with the guards that lead there:
        the tests of the ``if`` statements around it, and of those before it that return.
        ``line``: the helper's straight-line names, for its body's top-level statements."""
        guard = list(guard)
        for stmt in stmts:
            if type(stmt) is cst.If:
                yes, no = reader.split(stmt.test)
                self._walk_tagged(stmt.test, scope, ctx, fn, node, guard, raw_guards)
                self._walk_guarded(_block_of(stmt.body), scope, ctx, fn, node, reader, guard + yes, raw_guards)
                orelse = stmt.orelse
                if type(orelse) is cst.Else:
                    self._walk_guarded(_block_of(orelse.body), scope, ctx, fn, node, reader, guard + no, raw_guards)
                elif type(orelse) is cst.If:
                    self._walk_guarded([orelse], scope, ctx, fn, node, reader, guard + no, raw_guards)
                if orelse is None and guards.returns(_block_of(stmt.body)):
                    guard = guard + no  # what follows runs only when the test failed
                reader.passed(stmt)
                continue
            blocks = _blocks_of(stmt)
            if blocks is not None:
                # A try, with or loop: its own parts run under the same guard, and the tests
                # inside its blocks guard what they hold as they do anywhere else.
                heads, suites = blocks
                if type(stmt) is not cst.Try and type(stmt) is not cst.With:
                    reader.passed(stmt)  # a loop: its next round sees what it assigns
                for head in heads:
                    self._walk_tagged(head, scope, ctx, fn, node, guard, raw_guards)
                for suite in suites:
                    self._walk_guarded(suite, scope, ctx, fn, node, reader, guard, raw_guards)
                reader.passed(stmt)
                if line is not None:
                    line.after(stmt)
                continue
            self._walk_tagged(stmt, scope, ctx, fn, node, guard, raw_guards)
            reader.passed(stmt)
            if line is not None:
                line.after(stmt)

    def _walk_tagged(self, root: cst.CSTNode, scope: Scope, ctx: FunctionContext, fn: cst.FunctionDef,
                     node: _Node, guard: guards.Guard, raw_guards: dict[int, guards.Guard]) -> None:
        raws, callees, externals = len(ctx.raws), len(node.callees), len(node.externals)
        self.an.walk(root, scope, ctx, fn)
        for r in ctx.raws[raws:]:
            raw_guards[id(r)] = guard
        node.callee_guards.extend([guard] * (len(node.callees) - callees))
        node.external_guards.extend([guard] * (len(node.externals) - externals))
        rebound = node.reader.rebound if node.reader is not None else frozenset()
        node.callee_rebound.extend([rebound] * (len(node.callees) - callees))
        node.external_rebound.extend([rebound] * (len(node.externals) - externals))

    def _sites(self, node: _Node, raws: list[RawFinding], raw_guards: dict[int, guards.Guard]) -> None:
        """The node's strongest blocking call, and the guarded ones with their guards."""
        found: list[tuple[tuple[int, int, int], Chain, guards.Guard]] = []
        for r in raws:
            if r.code not in SITE_CODES or r.qualname is None:
                continue
            line, col, _, _ = self._pos(r.pos_node, r.owner)
            weak = 1 if r.qualname in catalog.METADATA_ONLY else 0
            found.append(((weak, line, col), Chain((), r.qualname or r.code, self.an.path, line),
                          raw_guards.get(id(r), [])))
        found.sort(key=lambda item: item[0])
        bare = [chain for _, chain, guard in found if not guard]
        node.bare_site = bool(bare)
        node.guarded_sites = [(guard, chain) for _, chain, guard in found if guard]
        if bare:
            node.site = bare[0]
        elif found:
            node.site = found[0][1]  # callers further up count it: it may block
        # Parallel lists for a node walked without guards (a lambda).
        node.callee_guards += [[]] * (len(node.callees) - len(node.callee_guards))
        node.external_guards += [[]] * (len(node.externals) - len(node.external_guards))
        node.callee_rebound += [frozenset()] * (len(node.callees) - len(node.callee_rebound))
        node.external_rebound += [frozenset()] * (len(node.externals) - len(node.external_rebound))

    def _pos(self, node: cst.CSTNode, owner: Owner) -> tuple[int, int, int, int]:
        return self.an.positions().of(node, owner)

    def _link(self, with_ext: bool = True) -> None:
        """Shortest chains: a reverse breadth-first search from the helpers that block
        (through the functions of other modules they call too, ``with_ext``)."""
        index = self.an.index if with_ext else None
        callers: dict[int, list[_Node]] = {}
        queue: deque[_Node] = deque()
        for node in self.nodes.values():
            for _, callee in node.callees:
                callers.setdefault(id(callee.node), []).append(node)
            if node.site is None and index is not None:
                for _call, q, _owner in node.externals:
                    ext = index.chain(q)
                    if ext is not None:
                        node.site = ext
                        break
            if node.site is not None:
                node.chain = node.site.prepend(self.module_name, node.name)
                queue.append(node)
        while queue:
            node = queue.popleft()
            assert node.chain is not None
            for caller in callers.get(id(node.fn), ()):
                if caller.chain is None:
                    caller.via = node
                    caller.chain = node.chain.prepend(self.module_name, caller.name)
                    queue.append(caller)

    # -- the summary of a module for the project index -----------------------------------------

    def summarize(self) -> dict[str, Any]:
        """Every sync function and method of the module: its first blocking call, the functions
        of the module it calls and the project names it calls elsewhere."""
        an = self.an
        roots: list[LocalDef] = []
        for fn, outer, cls in an.defs.values():
            if fn.asynchronous is not None or outer.kind == "function":
                continue
            roots.append(LocalDef(fn, fn.name.value, False, cls))
        self._explore(roots)
        self._link(with_ext=False)  # chains within the module: what the guards compose over
        funcs: dict[str, Any] = {}
        for node in self.nodes.values():
            if type(node.fn) is not cst.FunctionDef:
                continue
            entry: dict[str, Any] = {}
            if node.site is not None:
                entry["site"] = [node.site.call, node.site.line]
            calls = sorted({_display(c) for _, c in node.callees if id(c.node) in self.nodes})
            if calls:
                entry["calls"] = calls
            ext = sorted({q for _, q, _ in node.externals})
            if ext:
                entry["ext"] = ext
            guarded = self._guard_summary(node)
            if guarded is not None:
                entry["guard"] = guarded
            funcs[node.name] = entry
        return funcs

    def _guard_summary(self, node: _Node) -> dict[str, Any] | None:
        """For a function whose ways to block are all guarded by its parameters (or by
        attributes its class's constructor set, ``self:``), seen through the helpers of the
        module it calls: its signature and each way with its guard, the blocking call and the
        functions it goes through, or the function of another module it calls (``ext``: the
        project index keeps that way when that function blocks)."""
        if node.sig is None or (node.chain is None and not self._reaches_ext(node)):
            return None
        paths = self._paths(node, False)
        if paths is None:
            return None
        if paths and all(not g for g, c in paths):
            return None  # only calls to other modules, unguarded: the index's links say it all
        out: dict[str, Any] = {
            "sig": node.sig,
            "paths": [[guard, chain.call, chain.line, [n for _, n in chain.steps], chain.path == EXT]
                      for guard, chain in paths],
        }
        if node.cls is not None and guards.self_params(g for g, _ in paths):
            out["init_sig"] = self._init_sig(node.cls)
        return out

    def _reaches_ext(self, node: _Node) -> bool:
        """Whether a function of another module is called from ``node`` or what it calls."""
        memo = self._ext_memo
        if id(node) in memo:
            return memo[id(node)]
        memo[id(node)] = True  # a cycle back here: say yes, the index then links it
        out = bool(node.externals) or any(self._reaches_ext(t) for _, c in node.callees
                                          if (t := self.nodes.get(id(c.node))) is not None)
        memo[id(node)] = out
        return out
