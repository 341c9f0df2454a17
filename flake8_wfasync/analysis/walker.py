"""Find blocking calls inside coroutine functions and workflow steps: the single pass.

One libcst parse, one pass of a small hand-written walker with our own scope tracking
(:mod:`flake8_wfasync.analysis.resolve`). Calls to the module's own sync functions go to the
call graph (:mod:`.callgraph`, WFA201), which walks those functions with this walker. Positions come from the ``ast`` tree of the same source,
which flake8 hands us for free and which is cheap to build otherwise: libcst's
PositionProvider would cost more than the parse itself.

Most files never reach libcst: :func:`precheck.might_block_tree` looks at the ``ast`` tree and lets
through only files with a coroutine holding a call worth a closer look.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import libcst as cst

from ..config import DEFAULT_CONFIG, Config
from ..knowledge import catalog
from ..knowledge.findings import Finding
from ..knowledge.rules import BLOCKING_CODES, RULES
from ..source import SourceParseError, ast_parse, cst_parse, decode_source
from .arguments import LITERAL_CONDITIONS, PREFIX_TESTS, STAR, argument, literal_blocks, tested_prefix
from .callgraph import ModuleGraph, Owner, lazy_kind
from .context import FunctionContext, RawFinding
from .nodes import NODE_TYPES
from .def_spans import DefSpan
from .positions import Positions
from .precheck import NESTED_LOOP_RUNNERS, OFFLOADS, might_block_tree, sync_twin
from .resolve import (
    INSTANCE,
    PACKAGE,
    PROJECT_VALUE,
    ClassInfo,
    LocalDef,
    Scope,
    StraightLine,
    bind_params,
    call_qualname,
    class_info,
    collect_bindings,
    comprehension_scope,
    dotted,
    is_step,
    iter_statements,
    resolve_expr,
    value_path,
)

if TYPE_CHECKING:
    from .project_view import ProjectView

__all__ = ["Walker", "analyze_module", "analyze_source", "analyze_text", "blocking_calls_on_line"]

_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})
_KEYWORD_OFFLOADS = frozenset({"asyncio.to_thread", "functools.partial"})
# Receivers of callables that run in another process (WFA302), as resolved instance paths.
_PICKLING = {typ + INSTANCE: name for typ, name in catalog.PICKLING_RECEIVERS.items()}
_BY_VALUE = frozenset(typ + INSTANCE for typ in catalog.BY_VALUE_RECEIVERS)
_EXECUTORS = frozenset({catalog.PROCESS_POOL + INSTANCE, catalog.DASK_EXECUTOR + INSTANCE})
_TOP_LEVEL_FIX = "pass a function defined at module level"
_MAKE_THERE_FIX = ("pass what it is made from (a path, a URL, settings) and create it inside the "
                   "function, in the process that runs it")


# --- public API -----------------------------------------------------------------------------------

def analyze_source(
    source: str | bytes, path: str = "<string>", config: Config = DEFAULT_CONFIG,
    index: ProjectView | None = None,
) -> list[Finding]:
    """Findings for one file's source, sorted by position.

    ``index`` is the project-wide index of the cross-module analysis (WFA201), when one was
    built for this run; the analysis is per-file without it."""
    try:
        text = decode_source(source)
    except SourceParseError as exc:
        raise SourceParseError(path, exc.line, exc.col, exc.msg) from None
    tree = ast_parse(text, path)
    return analyze_text(text, tree, path, config, index)


def analyze_text(
    text: str, tree: ast.Module, path: str = "<string>", config: Config = DEFAULT_CONFIG,
    index: ProjectView | None = None,
) -> list[Finding]:
    """Like :func:`analyze_source` for a decoded text and its ``ast`` tree (the flake8 path)."""
    if not might_block_tree(tree, text, config, index, path):
        return []
    module = cst_parse(text, path)
    return Walker(module, tree, path, config, index=index).run()


def analyze_module(
    module: cst.Module, path: str = "<string>", config: Config = DEFAULT_CONFIG,
    index: ProjectView | None = None, tree: ast.Module | None = None, text: str | None = None,
    spans: list[DefSpan] | None = None,
) -> list[Finding]:
    """Findings for a parsed module; ``Finding.node`` is a node of this very module object.

    ``tree``: the ``ast`` tree of the very source the module was parsed from, when the caller
    has it; else ``text``, that source, which is parsed only if a finding needs a position
    (with ``spans``, the :func:`~.positions.def_spans` of its tree, only the defs that hold
    findings are); else the module is printed and parsed."""
    return Walker(module, tree, path, config, index=index, text=text, spans=spans).run()


def blocking_calls_on_line(source: str, lineno: int, path: str = "<string>") -> list[Finding]:
    """Blocking calls (WFA1xx) on one line, wherever it is: coroutine, plain function,
    class body or module level. The runtime detector classifies a sampled line with it."""
    return [f for f in _all_blocking_calls(source, path)
            if f.line <= lineno <= (f.end_line or f.line)]


@functools.lru_cache(maxsize=64)
def _all_blocking_calls(source: str, path: str) -> tuple[Finding, ...]:
    try:
        text = decode_source(source)
        tree = ast_parse(text, path)
        module = cst_parse(text, path)
    except SourceParseError:
        return ()
    return tuple(Walker(module, tree, path, DEFAULT_CONFIG, line_mode=True).run())


# --- the analysis -------------------------------------------------------------------------------

# A short second way out, by category, for coroutines that are not steps.
_ALTERNATIVES = {
    "http": "an async client (httpx.AsyncClient, aiohttp)",
    "process": "asyncio.create_subprocess_exec",
    "database": "the async driver",
    "sdk": "the async client",
    "socket": "asyncio streams",
    "thread-wait": "an asyncio primitive",
}

_FIELDS: dict[type, tuple[str, ...]] = {}
_SKIP_FIELDS = frozenset({
    "lpar", "rpar", "comma", "header", "footer", "leading_lines", "lines_after_decorators",
    "newline", "semicolon", "trailing_whitespace", "dot", "colon", "equal", "star", "operator",
    "asynchronous", "indent", "lbrace", "rbrace", "lbracket", "rbracket", "default_indent",
    "default_newline", "has_trailing_newline", "encoding", "first_colon", "second_colon",
    "conversion", "attr", "name", "relative", "asname", "keyword",
})


def _fields(cls: type) -> tuple[str, ...]:
    f = _FIELDS.get(cls)
    if f is None:
        f = tuple(
            x.name for x in dataclasses.fields(cls)
            if x.name not in _SKIP_FIELDS and not x.name.startswith("whitespace")
        )
        _FIELDS[cls] = f
    return f


def _literal_data(call: cst.Call) -> bool:
    """The call's first argument is a string or bytes literal: small, known, cheap."""
    first = call.args[0] if call.args else None
    return (first is not None and not first.star and first.keyword is None
            and type(first.value) in (cst.SimpleString, cst.ConcatenatedString))


def _is_self(node: cst.BaseExpression, fn: cst.FunctionDef | None) -> bool:
    if type(node) is not cst.Name or fn is None or not fn.params.params:
        return False
    return node.value == fn.params.params[0].name.value


def _method_lookup(cls: ClassInfo, name: str, depth: int = 0) -> tuple[cst.FunctionDef, ClassInfo] | None:
    """The def ``self.<name>`` reaches in ``cls`` (its own first, then its bases of the module)."""
    m = cls.methods.get(name)
    if m is not None:
        return m, cls
    if depth < 8:
        for base in cls.local_bases:
            found = _method_lookup(base, name, depth + 1)
            if found is not None:
                return found
    return None


def _inherits(cls: ClassInfo, base: ClassInfo, depth: int = 0) -> bool:
    if cls is base:
        return True
    return depth < 8 and any(_inherits(b, base, depth + 1) for b in cls.local_bases)


_EMPTY = (cst.List, cst.Tuple)


def _given_nodes(call: cst.Call) -> bool:
    """An index constructor is handed nodes or objects to build from: a first positional
    argument, ``nodes=`` or ``objects=`` that is not an empty literal (``[]``, ``()``, ``None``)."""
    for i, arg in enumerate(call.args):
        if arg.star:
            return True  # unknown arguments: assume they hold nodes
        if (arg.keyword is None and i == 0) or (arg.keyword is not None and arg.keyword.value in ("nodes", "objects")):
            v = arg.value
            empty = ((type(v) in _EMPTY and not v.elements)  # type: ignore[attr-defined]
                     or (type(v) is cst.Name and v.value == "None"))
            if not empty:
                return True
    return False


_MEMORY_FILES = frozenset({"io.BytesIO" + INSTANCE, "io.StringIO" + INSTANCE})


def _argument_blocks(call: cst.Call, condition: tuple[str, int, str], scope: Scope,
                     fn: cst.FunctionDef | None) -> bool:
    """Whether the argument a catalog condition names makes the call block: an open file for
    ``yaml.safe_load(fh)`` (not a string), anything but an in-memory buffer for ``img.save(x)``."""
    kind, position, keyword = condition
    arg = argument(call, position, keyword)
    if kind in LITERAL_CONDITIONS:
        prefix = PREFIX_TESTS.get(kind)
        if prefix is not None and type(arg) is cst.Name and fn is not None and tested_prefix(fn, call, arg.value, prefix):
            return False  # if url.startswith("data:"): urlopen(url)
        return literal_blocks(call, condition)
    if arg is STAR:
        return kind != "file"  # unknown arguments: keep what the call usually does
    while type(arg) is cst.Call and len(arg.args) == 2 and resolve_expr(arg.func, scope) in _CASTS:
        arg = arg.args[1].value  # cast(BinaryIO, buf) is buf
    value = value_path(arg, scope) if arg is not None else None
    if kind == "file":
        return value == catalog.FILE_TYPE + INSTANCE
    if value in _MEMORY_FILES:
        return False
    # buf = io.BytesIO(data) on one branch, a parameter on another: the name holds a buffer.
    return not (type(arg) is cst.Name and fn is not None and _ever_memory_buffer(arg.value, fn, scope))


_CASTS = frozenset({"typing.cast", "typing_extensions.cast"})


def _awaits(block: cst.BaseSuite) -> bool:
    """Whether a block awaits (``await``, ``async for``, ``async with``), nested defs aside."""
    todo: list[cst.CSTNode] = [block]
    while todo:
        n = todo.pop()
        t = type(n)
        if t is cst.Await or ((t is cst.For or t is cst.With) and n.asynchronous is not None):  # type: ignore[attr-defined]
            return True
        if t is not cst.FunctionDef and t is not cst.Lambda and t is not cst.ClassDef:
            todo.extend(n.children)
    return False


def _ever_memory_buffer(name: str, fn: cst.FunctionDef, scope: Scope) -> bool:
    """Some assignment in ``fn`` binds ``name`` to an in-memory buffer."""
    for stmt in iter_statements(fn.body.body):
        if type(stmt) is cst.Assign and any(type(t.target) is cst.Name and t.target.value == name
                                            for t in stmt.targets):
            if value_path(stmt.value, scope) in _MEMORY_FILES:
                return True
    return False


def _short(text: str, limit: int = 72) -> str:
    text = re.sub(r"\s*\n\s*", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _has_nested_defs(body) -> bool:
    for stmt in iter_statements(body):
        t = type(stmt)
        if t is cst.FunctionDef or t is cst.ClassDef:
            return True
    return False


class Walker:
    """One analysis of one module: the pass over it, the call graph it makes on the way and
    the findings. The call graph drives the walk of the helpers it reaches through
    :meth:`walk`, and reports through :meth:`fix_for`, :meth:`call_text`, :meth:`add` and
    :meth:`never_awaits`."""

    def __init__(self, module: cst.Module, tree: ast.Module | None, path: str, config: Config,
                 line_mode: bool = False, index: ProjectView | None = None, text: str | None = None,
                 spans: list[DefSpan] | None = None) -> None:
        self.module = module
        self.index = index
        self._tree = tree
        self._source = text
        self._spans = spans
        self._positions: Positions | None = None
        self.path = path
        self.config = config
        self.line_mode = line_mode
        self.ctxs: list[FunctionContext] = []
        # The call graph (WFA201), made by the first call to a sync function of the module.
        self.graph: ModuleGraph | None = None
        # Every def the pass meets: id -> (def, scope it is defined in, its class).
        self.defs: dict[int, tuple[cst.FunctionDef, Scope, ClassInfo | None]] = {}
        # Blocking calls whose result a blocking method is called on: id -> that method.
        self.feeding: dict[int, str] = {}
        self.module_scope: Scope | None = None

    @property
    def tree(self) -> ast.Module:
        """The ``ast`` tree of the module's source, where positions come from: parsed when
        first needed, which for most analysed files is never (they have no findings)."""
        if self._tree is None:
            text = self._source
            if text is None:
                try:
                    text = self.module.code
                except RecursionError:
                    # libcst's code generation recurses once per operand of a long expression.
                    raise SourceParseError(self.path, 1, 0, "too deeply nested for libcst to print") from None
            self._tree = ast_parse(text, self.path)
        return self._tree

    def positions(self) -> Positions:
        """Where the module's nodes are: from its ``ast`` tree, or, when the scan noted where
        its defs lie, from the defs that hold findings alone."""
        if self._positions is None:
            if self._tree is None and self._source is not None and self._spans is not None:
                self._positions = Positions(self.module, None, self._source, self._spans)
            else:
                self._positions = Positions(self.module, self.tree)
        return self._positions

    # -- structure -----------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        self.walk_module()
        if self.graph is not None:
            self.graph.resolve()
        raws = [r for c in self._in_scope() for r in c.raws]
        if not raws:
            return []
        return self._finish(raws)

    def walk_module(self) -> Scope:
        """The one pass: the module's bindings, then every function and class in it. Returns
        the module's scope."""
        index = self.index
        PACKAGE.set(index.package_of(self.path) if index is not None else None)
        PROJECT_VALUE.set(getattr(index, "value", None))
        mscope = self.module_scope = Scope("module")
        collect_bindings(self.module.body, mscope)
        if self.line_mode:
            self._walk_toplevel(self.module.body, mscope, None)
        self.block(self.module.body, mscope, None)
        return mscope

    def call_graph(self) -> ModuleGraph:
        """The module's call graph (WFA201), made at the first call to a sync function of it."""
        if self.graph is None:
            self.graph = ModuleGraph(self)
        return self.graph

    def block(self, stmts, scope: Scope, cls: ClassInfo | None) -> None:
        for stmt in iter_statements(stmts):
            if type(stmt) is cst.FunctionDef:
                self._function(stmt, scope, cls)
            elif type(stmt) is cst.ClassDef:
                info = scope.names.get(stmt.name.value)
                if type(info) is not ClassInfo or info.node is not stmt:
                    info = class_info(stmt, scope)
                scope.names[stmt.name.value] = info
                cscope = Scope("class", scope, scope.owner)
                collect_bindings(stmt.body.body, cscope)
                if self.line_mode:
                    self._walk_toplevel(stmt.body.body, cscope, info)
                self.block(stmt.body.body, cscope, info)

    def _walk_toplevel(self, stmts, scope: Scope, cls: ClassInfo | None) -> None:
        ctx = FunctionContext(None, "<module>", cls, False)
        self.ctxs.append(ctx)
        for stmt in stmts:
            if type(stmt) not in (cst.FunctionDef, cst.ClassDef):
                self.walk(stmt, scope, ctx, None)

    def _function(self, fn: cst.FunctionDef, outer: Scope, cls: ClassInfo | None) -> None:
        self.defs[id(fn)] = (fn, outer, cls)
        body = fn.body.body
        if fn.asynchronous is None and not self.line_mode and not _has_nested_defs(body):
            return  # a plain function holding no def or class: nothing to analyse inside
        fscope = Scope("function", outer, fn)
        bind_params(fn, fscope, outer, cls)
        walked = fn.asynchronous is not None or self.line_mode
        line = StraightLine.plan(fn, fscope) if walked else None
        collect_bindings(body, fscope, line=line)
        if walked:
            step = fn.asynchronous is not None and is_step(fn, outer, cls)
            ctx = FunctionContext(fn, fn.name.value, cls, step)
            self.ctxs.append(ctx)
            if line is not None:
                line.rewind()
            for stmt in body:
                self.walk(stmt, fscope, ctx, fn)
                if line is not None:
                    line.after(stmt)
            if step and not ctx.has_await:
                self.never_awaits(ctx)
        self.block(body, fscope, None)

    def _in_scope(self) -> list[FunctionContext]:
        if self.line_mode or self.config.scope != "steps":
            return self.ctxs
        by_fn = {id(c.fn): c for c in self.ctxs if c.fn is not None}
        todo = [c for c in self.ctxs if c.step]
        seen = {id(c) for c in todo}
        while todo:
            c = todo.pop()
            for d in c.local_calls:
                nxt = by_fn.get(id(d.node))
                if nxt is not None and id(nxt) not in seen:
                    seen.add(id(nxt))
                    todo.append(nxt)
        return [c for c in self.ctxs if id(c) in seen]

    # -- the walk ------------------------------------------------------------------------------

    def walk(self, root: cst.CSTNode, scope: Scope, ctx: FunctionContext, owner: Owner) -> None:
        """Walk one statement (or expression) of a function's body, recording its calls."""
        stack = [root]
        pop = stack.pop
        push = stack.append
        nodes = NODE_TYPES
        while stack:
            node = pop()
            t = type(node)
            if t is cst.Call:
                self._call(node, scope, ctx, owner)
            elif t is cst.Await:
                ctx.has_await = True
                if type(node.expression) is cst.Call:
                    ctx.awaited.add(id(node.expression))
            elif t is cst.FunctionDef or t is cst.ClassDef or t is cst.Lambda:
                continue
            elif t in _COMPREHENSIONS:
                self._comprehension(node, scope, ctx, owner)
                continue
            elif t is cst.For or t is cst.With or t is cst.CompFor:
                if node.asynchronous is not None:
                    ctx.has_await = True
                elif t is cst.With:
                    items = [item.item for item in node.items if type(item.item) is cst.Call]
                    if items:
                        awaits = _awaits(node.body)
                        ctx.entered.update((id(item), awaits) for item in items)
            for name in _fields(t):
                v = getattr(node, name)
                tv = type(v)
                if tv in nodes:
                    push(v)
                elif tv is tuple or tv is list:
                    for x in v:
                        if type(x) in nodes:
                            push(x)

    def _comprehension(self, node: cst.BaseComp, scope: Scope, ctx: FunctionContext, owner: Owner) -> None:
        """A comprehension's first iterable runs in the enclosing scope; the rest in its own,
        where the loop targets hold the items of what they loop over."""
        inner = comprehension_scope(node, scope)
        for_in: cst.CompFor | None = node.for_in
        first = True
        while for_in is not None:
            if for_in.asynchronous is not None:
                ctx.has_await = True
            self.walk(for_in.iter, scope if first else inner, ctx, owner)
            for cond in for_in.ifs:
                self.walk(cond.test, inner, ctx, owner)
            first = False
            for_in = for_in.inner_for_in
        if type(node) is cst.DictComp:
            self.walk(node.key, inner, ctx, owner)
            self.walk(node.value, inner, ctx, owner)
        else:
            self.walk(node.elt, inner, ctx, owner)

    def _call(self, call: cst.Call, scope: Scope, ctx: FunctionContext, owner: Owner) -> None:
        func = call.func
        attr = func.attr.value if type(func) is cst.Attribute else None
        target = resolve_expr(func, scope)
        line_mode = self.line_mode
        if not line_mode:
            idx = OFFLOADS.get(target) if isinstance(target, str) else None
            if attr == "run_in_executor":
                idx = 1
            if idx is not None:
                self._offload(call, idx, scope, ctx, owner)
            elif attr in ("submit", "map") and call.args:
                recv = resolve_expr(func.value, scope)
                if recv in _PICKLING:
                    self._pickled(call, call.args[0].value, call.args[1:], recv, scope, ctx, owner)
            if attr == "run_until_complete" or (
                    isinstance(target, str) and target in NESTED_LOOP_RUNNERS):
                self._nested_loop(call, ctx, owner)
            elif target == "asyncio.get_event_loop":
                self.add(ctx, "WFA304", call, owner, RULES["WFA304"].message.format(
                    call=self.call_text(call), where=ctx.where,
                    fix="use asyncio.get_running_loop()"),
                    "asyncio.get_event_loop", "use asyncio.get_running_loop()",
                    "asyncio.get_running_loop")
        if type(target) is ClassInfo:
            # Building an instance of a class of the module runs its __init__ right here.
            init = target.methods.get("__init__")
            if init is not None and init.asynchronous is None and not line_mode and id(call) not in ctx.awaited:
                self.call_graph().local_call(ctx, call, LocalDef(init, "__init__", False, target), owner, scope)
            return
        if (type(func) is cst.Attribute and ctx.cls is not None and not line_mode
                and (target is None or isinstance(target, LocalDef)) and id(call) not in ctx.awaited
                and attr == sync_twin(ctx.name) and _is_self(func.value, ctx.fn)):
            self._fallback(call, target, scope, ctx, owner)
            return
        if isinstance(target, LocalDef):
            ctx.local_calls.append(target)
            if target.is_async or id(call) in ctx.awaited or id(call) in ctx.suppressed:
                return
            # A nested def called by the coroutine itself is a helper like any other: the call
            # site is reported (WFA201), not the lines of its body, which are not the
            # coroutine's (handed to to_thread, they block nothing).
            own = (type(target.node) is cst.FunctionDef and not line_mode and ctx.fn is not None
                   and ctx.fn.asynchronous is not None)
            if target.nested and not own:
                if id(target.node) not in ctx.inlined:
                    self._inline(target, scope, ctx)
            elif not line_mode:
                self.call_graph().local_call(ctx, call, target, owner, scope)
            return
        if id(call) in ctx.suppressed:
            return
        if id(call) in ctx.awaited:
            # await os.unlink(p): the sync call blocks before the await (which then fails).
            # Only module-level callables: an awaited method may well be an async twin.
            if isinstance(target, str) and INSTANCE not in target:
                q = call_qualname(target)
                if q is not None and not (self.index is not None and self.index.is_project(q)):  # type: ignore[attr-defined]
                    self._blocking(call, q, scope, ctx, owner)
            return
        if isinstance(target, str):
            q = call_qualname(target)
            if q is not None:
                index = self.index
                if index is not None and not line_mode and index.is_project(q):
                    self.call_graph().external_call(ctx, call, q, owner, scope)
                else:
                    self._blocking(call, q, scope, ctx, owner)

    def _fallback(self, call: cst.Call, target: object, scope: Scope, ctx: FunctionContext, owner: Owner) -> None:
        """``async def acomplete(self, ...): return self.complete(...)``: the coroutine runs its
        sync twin on the loop, so it blocks whenever that twin does: the class's own, or the
        override of a subclass of this module that keeps the fallback. Reported on evidence
        only: a twin that is abstract, or inherited from a library, blocks nothing in sight."""
        cls = ctx.cls
        assert cls is not None and type(call.func) is cst.Attribute
        sync = call.func.attr.value
        graph = self.call_graph()
        if isinstance(target, LocalDef):
            ctx.local_calls.append(target)
            if not target.is_async:
                graph.fallback_call(ctx, call, target, owner, scope)
        module_scope = self.module_scope
        for sub in module_scope.names.values() if module_scope is not None else ():
            if type(sub) is not ClassInfo or sub is cls:
                continue
            twin = _method_lookup(sub, sync)
            coroutine = _method_lookup(sub, ctx.name)
            # The subclass overrides the sync twin and inherits this very coroutine.
            if (twin is not None and coroutine is not None and coroutine[1] is cls and twin[1] is not cls
                    and twin[0].asynchronous is None and _inherits(twin[1], cls)):
                graph.fallback_call(ctx, call, LocalDef(twin[0], sync, False, twin[1]), owner, scope)

    def _inline(self, d: LocalDef, scope: Scope, ctx: FunctionContext) -> None:
        """A nested def or lambda the coroutine calls runs on the loop too."""
        ctx.inlined.add(id(d.node))
        inner = Scope("function", scope, d.node if type(d.node) is cst.FunctionDef else scope.owner)
        bind_params(d.node, inner, scope)
        if type(d.node) is cst.FunctionDef:
            collect_bindings(d.node.body.body, inner)
            for stmt in d.node.body.body:
                self.walk(stmt, inner, ctx, d.node)
        else:
            self.walk(d.node.body, inner, ctx, d.owner)

    # -- findings ------------------------------------------------------------------------------

    def _match(self, q: str) -> tuple[str, str, catalog.Entry | None] | None:
        """(code, generic advice, entry) for a called qualified name, honouring config."""
        config = self.config
        display = q[9:] if q.startswith("builtins.") else q
        if config.allow and (config.is_allowed(q) or config.is_allowed(display)):
            return None
        extra = config.extra_blocking
        if extra:
            adv = extra.get(q)
            if adv is None:
                adv = extra.get(display)
            if adv is not None:
                return "WFA199", adv, None
        entry = catalog.match_qualname(q)
        if entry is None:
            return None
        return entry.code, entry.advice, entry

    def _blocking(self, call: cst.Call, q: str, scope: Scope, ctx: FunctionContext, owner: Owner) -> None:
        m = self._match(q)
        if m is None:
            return
        code, generic, entry = m
        if q in catalog.SIZED_BY_DATA and _literal_data(call):
            return
        if q in catalog.NODE_BUILDERS and not _given_nodes(call):
            return
        condition = catalog.ARGUMENT_CONDITIONS.get(q)
        if condition is not None and not _argument_blocks(call, condition, scope, ctx.fn):
            return
        func = call.func
        if type(func) is cst.Attribute and type(func.value) is cst.Call:
            # open(p).read(): the inner call is reported; one finding is enough.
            inner = resolve_expr(func.value.func, scope)
            if isinstance(inner, str):
                iq = call_qualname(inner)
                if iq is not None and self._match(iq) is not None:
                    self.feeding[id(func.value)] = self._code(call)
                    return
        display = q[9:] if q.startswith("builtins.") else q
        fix, twin = self.fix_for(call, display, code, entry, ctx)
        if code == "WFA199":
            fix = f"{generic} (configured as blocking)" if generic else fix
        outer = self.feeding.get(id(call))
        if outer is not None:
            # Offloading this call alone would leave the method called on its result blocking.
            fix, twin = (f"move {_short(outer, 60)} into a sync function and await "
                         f"asyncio.to_thread(that function)"), None
        msg = RULES[code].message.format(call=self.call_text(call), where=ctx.where, fix=fix)
        before = len(ctx.raws)
        self.add(ctx, code, call, owner, msg, display, fix, twin)
        if outer is not None and len(ctx.raws) > before:
            ctx.raws[-1].feeds = outer

    def fix_for(self, call: cst.Call, display: str, code: str, entry: catalog.Entry | None,
                 ctx: FunctionContext, lazy: str | None = None) -> tuple[str, str | None]:
        if lazy == "context" or id(call) in ctx.entered:
            # Offloading the call alone would leave __enter__/__exit__ (a close, an rmtree) and
            # every use of what it gives on the loop.
            what = "entering it is what blocks" if lazy == "context" else "used as a context manager"
            alternative = _ALTERNATIVES.get(entry.category) if entry is not None else None
            if ctx.entered.get(id(call)):
                # The block awaits: a sync helper cannot hold it.
                if entry is not None and entry.category == "file":
                    alternative = "aiofiles (aiofiles.open, aiofiles.tempfile)"
                fix = (f"{what} around awaits: use {alternative or 'an async equivalent'} with async with, "
                       "or make and close it with await asyncio.to_thread(...) and offload each use")
            else:
                fix = f"{what}: move the with-block into a sync helper and await asyncio.to_thread(helper, ...)"
                if alternative is not None:
                    fix += f", or use {alternative}"
            return fix, None
        if lazy is not None or display in catalog.LAZY_SCANS:
            # Offloading the call would only make the generator in a thread.
            return (f"iterating it is what blocks: collect the items in a thread with "
                    f"await asyncio.to_thread(list, {self.call_text(call)})"), None
        func_text = _short(self._code(call.func), 40)
        args = self._args_text(call)
        twin = entry.twin if entry is not None else None
        if twin is not None and "." in twin:
            return f"use await {twin}({args})", twin
        if twin is not None and type(call.func) is cst.Attribute:
            recv = _short(self._code(call.func.value), 40)
            return f"use await {recv}.{twin}({args})", twin
        if display.endswith("Future.result") and type(call.func) is cst.Attribute:
            recv = _short(self._code(call.func.value), 40)
            return f"use await asyncio.wrap_future({recv})", None
        offload = f"{func_text}, {args}" if args else func_text
        if entry is not None and entry.category == "cpu":
            fix = (f"use await asyncio.get_running_loop().run_in_executor(cpu_pool, {offload}) "
                   "with a small dedicated pool")
        else:
            fix = f"use await asyncio.to_thread({offload})"
        if entry is not None and entry.category == "sdk":
            fix = f"{entry.advice}, or {fix}"  # the async client first: it names the way out
        elif ctx.step:
            fix += ", or make the step a plain def"
        elif entry is not None and entry.category in _ALTERNATIVES:
            fix += f", or {_ALTERNATIVES[entry.category]}"
        return fix, None

    def _offload(self, call: cst.Call, idx: int, scope: Scope, ctx: FunctionContext, owner: Owner) -> None:
        pos = [a for a in call.args if a.keyword is None and not a.star]
        if len(pos) <= idx:
            return
        fn = pos[idx].value
        offload_text = _short(self._code(call.func), 40)
        if type(fn) is cst.Call:
            t = resolve_expr(fn.func, scope)
            q = call_qualname(t) if isinstance(t, str) else None
            if q is not None and self._match(q) is not None:
                ctx.suppressed.add(id(fn))
                inner_func = _short(self._code(fn.func), 40)
                inner_args = self._args_text(fn)
                off = resolve_expr(call.func, scope)
                if (not (isinstance(off, str) and off in _KEYWORD_OFFLOADS)
                        and any(a.keyword is not None or a.star == "**" for a in fn.args)):
                    # run_in_executor and run_sync pass no keyword arguments on: bind them.
                    bound = f"functools.partial({inner_func}, {inner_args})"
                    fixed = f"{offload_text}({', '.join(self._args_text_list(pos[:idx]) + [bound])})"
                else:
                    before = ", ".join(self._args_text_list(pos[:idx]) + [inner_func])
                    fixed = f"{offload_text}({before}{', ' + inner_args if inner_args else ''})"
                fix = f"pass the callable and its arguments: {fixed}"
                display = q[9:] if q.startswith("builtins.") else q
                msg = RULES["WFA301"].message.format(
                    call=self.call_text(fn), offload=offload_text, where=ctx.where, fix=fix)
                self.add(ctx, "WFA301", call, owner, msg, display, fix, None, pos_node=fn)
        for arg in pos[idx + 1:]:
            # to_thread(list, root.glob("*")): the generator is made here, iterated there.
            if type(arg.value) is cst.Call and self._lazy_call(arg.value, scope):
                ctx.suppressed.add(id(arg.value))
        if idx == 1:
            recv = resolve_expr(pos[0].value, scope)
            if recv in _EXECUTORS:
                self._pickled(call, fn, call.args[2:], recv, scope, ctx, owner)

    def _lazy_call(self, call: cst.Call, scope: Scope) -> bool:
        """A call that only makes a generator: a lazy scan of the catalog, a generator function."""
        t = resolve_expr(call.func, scope)
        if isinstance(t, LocalDef):
            return lazy_kind(t) == "iterator"
        q = call_qualname(t) if isinstance(t, str) else None
        return q is not None and q in catalog.LAZY_SCANS

    def _pickled(self, call: cst.Call, fn: cst.BaseExpression, args: Iterable[cst.Arg], recv: str,
                 scope: Scope, ctx: FunctionContext, owner) -> None:
        """WFA302: a callable, or an argument, that the receiver's pickler cannot carry."""
        by_value = recv in _BY_VALUE
        found = self._unpicklable(fn, scope, by_value) or self._unpicklable_argument(args, scope, by_value)
        if found is None:
            return
        what, fix = found
        msg = RULES["WFA302"].message.format(call=self.call_text(call), callable=what,
                                             receiver=_PICKLING[recv], where=ctx.where, fix=fix)
        self.add(ctx, "WFA302", call, owner, msg, None, fix, None)

    def _unpicklable(self, fn: cst.BaseExpression, scope: Scope, by_value: bool) -> tuple[str, str] | None:
        if type(fn) is cst.Lambda:
            if not by_value:
                return "a lambda", _TOP_LEVEL_FIX
            captured = self._captured(fn, fn.params, scope, by_value)
            return (f"a lambda that captures {captured}", _MAKE_THERE_FIX) if captured else None
        if type(fn) is cst.Name:
            d = scope.lookup(fn.value)
            if isinstance(d, LocalDef) and d.nested:
                name = "a lambda" if d.name == "<lambda>" else f"nested function '{d.name}'"
                if not by_value:
                    return name, _TOP_LEVEL_FIX
                captured = self._captured(d.node, d.node.params, scope, by_value)
                return (f"{name} that captures {captured}", _MAKE_THERE_FIX) if captured else None
            return None
        if type(fn) is cst.Attribute:
            typ = _unpicklable_type(resolve_expr(fn.value, scope), by_value)
            if typ is not None:
                return f"a method of '{_short(self._code(fn.value), 30)}' ({typ})", _MAKE_THERE_FIX
            return None
        if type(fn) is cst.Call and fn.args:
            t = resolve_expr(fn.func, scope)
            if t == "functools.partial":
                return (self._unpicklable(fn.args[0].value, scope, by_value)
                        or self._unpicklable_argument(fn.args[1:], scope, by_value))
        return None

    def _unpicklable_argument(self, args: Iterable[cst.Arg], scope: Scope,
                              by_value: bool) -> tuple[str, str] | None:
        for arg in args:
            if arg.star:
                continue
            typ = _unpicklable_type(resolve_expr(arg.value, scope), by_value)
            if typ is not None:
                return f"'{_short(self._code(arg.value), 30)}' ({typ})", _MAKE_THERE_FIX
        return None

    def _captured(self, fn: cst.FunctionDef | cst.Lambda, params: cst.Parameters, scope: Scope,
                  by_value: bool) -> str | None:
        """The first free name of ``fn`` whose value, in the enclosing scope, cannot be pickled."""
        own = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                own.add(star.name.value)
        body = fn.body
        own.update(_assigned_names(body))
        for name in _free_names(body):
            if name in own:
                continue
            typ = _unpicklable_type(scope.lookup(name), by_value)
            if typ is not None:
                return f"'{name}' ({typ})"
        return None

    def _nested_loop(self, call: cst.Call, ctx: FunctionContext, owner: Owner) -> None:
        arg = call.args[0].value if call.args else None
        if arg is not None and type(arg) is cst.Call:
            fix = f"await {_short(self._code(arg), 50)} instead"
        else:
            fix = "await the coroutine instead"
        msg = RULES["WFA303"].message.format(call=self.call_text(call), where=ctx.where, fix=fix)
        self.add(ctx, "WFA303", call, owner, msg, dotted(call.func), fix, None)

    def never_awaits(self, ctx: FunctionContext) -> None:
        blocking = [r for r in ctx.raws if r.code in BLOCKING_CODES]
        # When every blocking call has an async twin, awaiting the twins is the better fix
        # (and the step then awaits): no WFA401.
        if not blocking or all(r.twin is not None for r in blocking):
            return
        names: list[str] = []
        for r in blocking:
            n = r.qualname or r.code
            if n not in names:
                names.append(n)
        calls = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        fix = "make it a plain def: the runtime runs it in a thread"
        msg = RULES["WFA401"].message.format(step=ctx.name, calls=calls, fix=fix)
        assert ctx.fn is not None
        self.add(ctx, "WFA401", ctx.fn, ctx.fn, msg, None, fix, None)

    def add(self, ctx: FunctionContext, code: str, node: cst.CSTNode, owner: Owner, message: str,
             qualname: str | None, advice: str, twin: str | None,
             pos_node: cst.CSTNode | None = None) -> None:
        if self.line_mode and code not in BLOCKING_CODES:
            return
        ctx.raws.append(RawFinding(code, node, pos_node or node, owner, message, qualname, advice,
                             twin, ctx))

    # -- text ----------------------------------------------------------------------------------

    def _code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def call_text(self, call: cst.Call) -> str:
        func = _short(self._code(call.func), 50)
        return f"{func}({_short(self._args_text(call), 40)})"

    def _args_text_list(self, args: Iterable[cst.Arg]) -> list[str]:
        out = []
        for a in args:
            kw = f"{a.keyword.value}=" if a.keyword is not None else ""
            out.append(f"{a.star}{kw}{_short(self._code(a.value), 60)}")
        return out

    def _args_text(self, call: cst.Call) -> str:
        return ", ".join(self._args_text_list(call.args))

    # -- positions -----------------------------------------------------------------------------

    def _finish(self, raws: list[RawFinding]) -> list[Finding]:
        pos = self.positions()
        config = self.config
        out: list[Finding] = []
        for r in raws:
            if not config.code_enabled(r.code):
                continue
            line, col, end_line, end_col = pos.of(r.pos_node, r.owner)
            ctx = r.ctx
            out.append(Finding(
                code=r.code, line=line, col=col, message=r.message, path=self.path,
                qualname=r.qualname, function=ctx.name if ctx.fn is not None else None,
                step=ctx.name if ctx.step else None,
                workflow=ctx.cls.name if ctx.cls is not None and ctx.cls.is_workflow else None,
                advice=r.advice, twin=r.twin, end_line=end_line, end_col=end_col, feeds=r.feeds, lazy=r.lazy,
                node=r.node,
            ))
        out.sort(key=lambda f: (f.line, f.col, f.code))
        return out




def _unpicklable_type(binding: object, by_value: bool) -> str | None:
    """The type of a resolved value that the receiver's pickler refuses, else None."""
    if not isinstance(binding, str) or not binding.endswith(INSTANCE):
        return None
    typ = binding[: -len(INSTANCE)]
    refused = catalog.UNPICKLABLE_TYPES if by_value else catalog.UNPICKLABLE_BY_REFERENCE
    return typ if typ in refused else None


def _free_names(node: cst.CSTNode) -> Iterable[str]:
    """Names read in ``node``, not the attribute names after a dot."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        n = stack.pop()
        if type(n) is cst.Name:
            yield n.value
        elif type(n) is cst.Attribute:
            stack.append(n.value)
        else:
            stack.extend(n.children)


def _assigned_names(node: cst.CSTNode) -> set[str]:
    """Names bound inside a nested function's body, which shadow the enclosing ones."""
    names: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        n = stack.pop()
        target = None
        if type(n) is cst.AssignTarget or type(n) is cst.AsName:
            target = n.target if type(n) is cst.AssignTarget else n.name
        elif type(n) in (cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor):
            target = n.target
        elif type(n) is cst.Param:
            names.add(n.name.value)
        if target is not None:
            names.update(x.value for x in _target_names(target))
        stack.extend(n.children)
    return names


def _target_names(target: cst.CSTNode) -> Iterable[cst.Name]:
    if type(target) is cst.Name:
        yield target
    elif type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            yield from _target_names(element.value)
    elif type(target) is cst.StarredElement:
        yield from _target_names(target.value)
