"""Find blocking calls inside coroutine functions and workflow steps.

One libcst parse, one pass of a small hand-written walker with our own scope tracking
(:mod:`flake8_wfasync.resolve`). Positions come from the ``ast`` tree of the same source,
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
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from . import callgraph, catalog
from .config import DEFAULT_CONFIG, Config
from .findings import Finding
from .precheck import (  # noqa: F401  (re-exported: part of the analyzer API)
    NESTED_LOOP_RUNNERS,
    OFFLOADS,
    SourceParseError,
    _ast_coroutines,
    _ast_imports,
    decode_source,
    might_block,
    might_block_tree,
)
from .precheck import ast_parse as _ast_parse
from .resolve import (
    INSTANCE,
    PACKAGE,
    ClassInfo,
    LocalDef,
    Scope,
    bind_params,
    call_qualname,
    class_info,
    collect_bindings,
    dotted,
    is_step,
    iter_statements,
    resolve_expr,
)
from .rules import RULES

__all__ = [
    "SourceParseError",
    "analyze_source",
    "analyze_module",
    "might_block",
    "might_block_tree",
    "blocking_calls_on_line",
]

_KEYWORD_OFFLOADS = frozenset({"asyncio.to_thread", "functools.partial"})
PROCESS_POOL = "concurrent.futures.ProcessPoolExecutor" + INSTANCE
# Codes that say "this call blocks" (the ones that make a never-awaiting step a WFA401).
_BLOCKING_CODES = frozenset(
    {"WFA101", "WFA102", "WFA103", "WFA104", "WFA105", "WFA106", "WFA107", "WFA108", "WFA109",
     "WFA110", "WFA199", "WFA201"}
)


def _no_check(self: object) -> None:
    return None


_CHECK_NODE = cst.CSTNode.__post_init__


def _parse_unchecked(text: str) -> cst.Module:
    """``cst.parse_module`` without libcst checking each node as it is built. The checks guard
    hand-built trees; a parsed tree meets them by construction, yet they cost a quarter of the
    parse. Skipped only while this is the process's one thread, so that nodes built anywhere
    else (the fixer's rewrites among them) are always checked."""
    if threading.active_count() != 1:
        return cst.parse_module(text)
    cst.CSTNode.__post_init__ = _no_check  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        cst.CSTNode.__post_init__ = _CHECK_NODE  # type: ignore[method-assign]


def _cst_parse(text: str, path: str) -> cst.Module:
    try:
        return _parse_unchecked(text)
    except cst.ParserSyntaxError as exc:
        msg = " ".join(exc.message.split()) or "invalid syntax"
        if len(msg) > 120:
            msg = msg[:117] + "..."
        raise SourceParseError(path, exc.raw_line, exc.raw_column, msg) from None
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        raise SourceParseError(path, 1, 0, f"{type(exc).__name__}: {exc}") from None


# --- public API -----------------------------------------------------------------------------------

def analyze_source(
    source: str | bytes, path: str = "<string>", config: Config = DEFAULT_CONFIG,
    index: object | None = None,
) -> list[Finding]:
    """Findings for one file's source, sorted by position.

    ``index`` is the project-wide index of the cross-module analysis (WFA201), when one was
    built for this run; the analysis is per-file without it."""
    try:
        text = decode_source(source)
    except SourceParseError as exc:
        raise SourceParseError(path, exc.line, exc.col, exc.msg) from None
    tree = _ast_parse(text, path)
    return analyze_text(text, tree, path, config, index)


def analyze_text(
    text: str, tree: ast.Module, path: str = "<string>", config: Config = DEFAULT_CONFIG,
    index: object | None = None,
) -> list[Finding]:
    """Like :func:`analyze_source` for a decoded text and its ``ast`` tree (the flake8 path)."""
    if not might_block_tree(tree, text, config, index, path):
        return []
    module = _cst_parse(text, path)
    return _Analyzer(module, tree, path, config, index=index).run()


def analyze_module(
    module: cst.Module, path: str = "<string>", config: Config = DEFAULT_CONFIG,
    index: object | None = None, tree: ast.Module | None = None, text: str | None = None,
) -> list[Finding]:
    """Findings for a parsed module; ``Finding.node`` is a node of this very module object.

    ``tree``: the ``ast`` tree of the very source the module was parsed from, when the caller
    has it; else ``text``, that source, which is parsed only if a finding needs a position;
    else the module is printed and parsed."""
    return _Analyzer(module, tree, path, config, index=index, text=text).run()


def blocking_calls_on_line(source: str, lineno: int, path: str = "<string>") -> list[Finding]:
    """Blocking calls (WFA1xx) on one line, wherever it is: coroutine, plain function,
    class body or module level. The runtime detector classifies a sampled line with it."""
    return [f for f in _all_blocking_calls(source, path)
            if f.line <= lineno <= (f.end_line or f.line)]


@functools.lru_cache(maxsize=64)
def _all_blocking_calls(source: str, path: str) -> tuple[Finding, ...]:
    try:
        text = decode_source(source)
        tree = _ast_parse(text, path)
        module = _cst_parse(text, path)
    except SourceParseError:
        return ()
    return tuple(_Analyzer(module, tree, path, DEFAULT_CONFIG, line_mode=True).run())


# --- the analysis -------------------------------------------------------------------------------

@dataclass(eq=False)
class _Ctx:
    """One coroutine (or, in line mode, any function) being analysed."""

    fn: cst.FunctionDef | None
    name: str
    cls: ClassInfo | None
    step: bool
    has_await: bool = False
    awaited: set[int] = field(default_factory=set)
    suppressed: set[int] = field(default_factory=set)
    inlined: set[int] = field(default_factory=set)
    local_calls: list[LocalDef] = field(default_factory=list)
    raws: list[_Raw] = field(default_factory=list)

    @property
    def where(self) -> str:
        if self.step:
            wf = f" of {self.cls.name}" if self.cls is not None else ""
            return f"step '{self.name}'{wf}"
        if self.fn is None:
            return "module code"
        kind = "coroutine" if self.fn.asynchronous is not None else "function"
        owner = f"{self.cls.name}." if self.cls is not None else ""
        return f"{kind} '{owner}{self.name}'"


@dataclass(eq=False)
class _Raw:
    code: str
    node: cst.CSTNode
    # Node whose position is reported (the inner call for WFA301), and its enclosing def.
    pos_node: cst.CSTNode
    owner: cst.FunctionDef | None
    message: str
    qualname: str | None
    advice: str
    twin: str | None
    ctx: _Ctx


# A short second way out, by category, for coroutines that are not steps.
_ALTERNATIVES = {
    "http": "an async client (httpx.AsyncClient, aiohttp)",
    "process": "asyncio.create_subprocess_exec",
    "database": "the async driver",
    "sdk": "the async client",
    "socket": "asyncio streams",
    "thread-wait": "an asyncio primitive",
}

def _node_types() -> frozenset[type]:
    out: set[type] = set()
    todo = [cst.CSTNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return frozenset(out)


# isinstance() against libcst's ABC-based classes is slow; a set of the concrete types is not.
_NODE_TYPES = _node_types()
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


def _short(text: str, limit: int = 72) -> str:
    text = re.sub(r"\s*\n\s*", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _has_nested_defs(body) -> bool:
    for stmt in iter_statements(body):
        t = type(stmt)
        if t is cst.FunctionDef or t is cst.ClassDef:
            return True
    return False


class _Analyzer:
    def __init__(self, module: cst.Module, tree: ast.Module | None, path: str, config: Config,
                 line_mode: bool = False, index: object | None = None, text: str | None = None) -> None:
        self.module = module
        self.index = index
        self._tree = tree
        self._source = text
        self.path = path
        self.config = config
        self.line_mode = line_mode
        self.ctxs: list[_Ctx] = []
        # The call graph (WFA201), made by the first call to a sync function of the module.
        self.graph: callgraph.ModuleGraph | None = None
        # Every def the pass meets: id -> (def, scope it is defined in, its class).
        self.defs: dict[int, tuple[cst.FunctionDef, Scope, ClassInfo | None]] = {}
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
            self._tree = _ast_parse(text, self.path)
        return self._tree

    # -- structure -----------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        index = self.index
        if index is not None and not hasattr(index, "chain"):
            index = self.index = None  # an index without the project's call graph (a cache tag only)
        PACKAGE.set(index.package_of(self.path) if index is not None else None)  # type: ignore[attr-defined]
        mscope = self.module_scope = Scope("module")
        collect_bindings(self.module.body, mscope)
        if self.line_mode:
            self._walk_toplevel(self.module.body, mscope, None)
        self._block(self.module.body, mscope, None)
        if self.graph is not None:
            self.graph.resolve()
        raws = [r for c in self._in_scope() for r in c.raws]
        if not raws:
            return []
        return self._finish(raws)

    def _block(self, stmts, scope: Scope, cls: ClassInfo | None) -> None:
        for stmt in iter_statements(stmts):
            if type(stmt) is cst.FunctionDef:
                self._function(stmt, scope, cls)
            elif type(stmt) is cst.ClassDef:
                info = class_info(stmt, scope)
                scope.names[stmt.name.value] = info
                cscope = Scope("class", scope, scope.owner)
                collect_bindings(stmt.body.body, cscope)
                if self.line_mode:
                    self._walk_toplevel(stmt.body.body, cscope, info)
                self._block(stmt.body.body, cscope, info)

    def _walk_toplevel(self, stmts, scope: Scope, cls: ClassInfo | None) -> None:
        ctx = _Ctx(None, "<module>", cls, False)
        self.ctxs.append(ctx)
        for stmt in stmts:
            if type(stmt) not in (cst.FunctionDef, cst.ClassDef):
                self._walk(stmt, scope, ctx, None)

    def _function(self, fn: cst.FunctionDef, outer: Scope, cls: ClassInfo | None) -> None:
        self.defs[id(fn)] = (fn, outer, cls)
        body = fn.body.body
        if fn.asynchronous is None and not self.line_mode and not _has_nested_defs(body):
            return  # a plain function holding no def or class: nothing to analyse inside
        fscope = Scope("function", outer, fn)
        bind_params(fn, fscope, outer, cls)
        collect_bindings(body, fscope)
        if fn.asynchronous is not None or self.line_mode:
            step = fn.asynchronous is not None and is_step(fn, outer, cls)
            ctx = _Ctx(fn, fn.name.value, cls, step)
            self.ctxs.append(ctx)
            for stmt in body:
                self._walk(stmt, fscope, ctx, fn)
            if step and not ctx.has_await:
                self._never_awaits(ctx)
        self._block(body, fscope, None)

    def _in_scope(self) -> list[_Ctx]:
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

    def _walk(self, root: cst.CSTNode, scope: Scope, ctx: _Ctx, owner) -> None:
        stack = [root]
        pop = stack.pop
        push = stack.append
        nodes = _NODE_TYPES
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
            elif t is cst.For or t is cst.With or t is cst.CompFor:
                if node.asynchronous is not None:
                    ctx.has_await = True
            for name in _fields(t):
                v = getattr(node, name)
                tv = type(v)
                if tv in nodes:
                    push(v)
                elif tv is tuple or tv is list:
                    for x in v:
                        if type(x) in nodes:
                            push(x)

    def _call(self, call: cst.Call, scope: Scope, ctx: _Ctx, owner) -> None:
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
                if recv == PROCESS_POOL:
                    self._process_pool(call, call.args[0].value, scope, ctx, owner)
            if attr == "run_until_complete" or (
                    isinstance(target, str) and target in NESTED_LOOP_RUNNERS):
                self._nested_loop(call, ctx, owner)
            elif target == "asyncio.get_event_loop":
                self._add(ctx, "WFA304", call, owner, RULES["WFA304"].message.format(
                    call=self._text(call), where=ctx.where,
                    fix="use asyncio.get_running_loop()"),
                    "asyncio.get_event_loop", "use asyncio.get_running_loop()",
                    "asyncio.get_running_loop")
        if type(target) is ClassInfo:
            # Building an instance of a class of the module runs its __init__ right here.
            init = target.methods.get("__init__")
            if init is not None and init.asynchronous is None and not line_mode and id(call) not in ctx.awaited:
                callgraph.on_local_call(self, ctx, call, LocalDef(init, "__init__", False, target), owner)
            return
        if isinstance(target, LocalDef):
            ctx.local_calls.append(target)
            if (target.nested and not target.is_async and id(target.node) not in ctx.inlined
                    and id(call) not in ctx.awaited):
                self._inline(target, scope, ctx)
            elif not (target.nested or target.is_async or line_mode or id(call) in ctx.awaited):
                callgraph.on_local_call(self, ctx, call, target, owner)
            return
        if id(call) in ctx.awaited or id(call) in ctx.suppressed:
            return
        if isinstance(target, str):
            q = call_qualname(target)
            if q is not None:
                index = self.index
                if index is not None and not line_mode and index.is_project(q):  # type: ignore[attr-defined]
                    callgraph.on_external_call(self, ctx, call, q, owner)
                else:
                    self._blocking(call, q, scope, ctx, owner)

    def _inline(self, d: LocalDef, scope: Scope, ctx: _Ctx) -> None:
        """A nested def or lambda the coroutine calls runs on the loop too."""
        ctx.inlined.add(id(d.node))
        inner = Scope("function", scope, d.node if type(d.node) is cst.FunctionDef else scope.owner)
        bind_params(d.node, inner, scope)
        if type(d.node) is cst.FunctionDef:
            collect_bindings(d.node.body.body, inner)
            for stmt in d.node.body.body:
                self._walk(stmt, inner, ctx, d.node)
        else:
            self._walk(d.node.body, inner, ctx, d.owner)

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

    def _blocking(self, call: cst.Call, q: str, scope: Scope, ctx: _Ctx, owner) -> None:
        m = self._match(q)
        if m is None:
            return
        code, generic, entry = m
        func = call.func
        if type(func) is cst.Attribute and type(func.value) is cst.Call:
            # open(p).read(): the inner call is reported; one finding is enough.
            inner = resolve_expr(func.value.func, scope)
            if isinstance(inner, str):
                iq = call_qualname(inner)
                if iq is not None and self._match(iq) is not None:
                    return
        display = q[9:] if q.startswith("builtins.") else q
        fix, twin = self._fix_for(call, display, code, entry, ctx)
        if code == "WFA199":
            fix = f"{generic} (configured as blocking)" if generic else fix
        msg = RULES[code].message.format(call=self._text(call), where=ctx.where, fix=fix)
        self._add(ctx, code, call, owner, msg, display, fix, twin)

    def _fix_for(self, call: cst.Call, display: str, code: str, entry: catalog.Entry | None,
                 ctx: _Ctx) -> tuple[str, str | None]:
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
        if code == "WFA109":
            fix = (f"use await asyncio.get_running_loop().run_in_executor(cpu_pool, {offload}) "
                   "with a small dedicated pool")
        else:
            fix = f"use await asyncio.to_thread({offload})"
        if code == "WFA110" and entry is not None:
            fix = f"{entry.advice}, or {fix}"  # the async client first: it names the way out
        elif ctx.step:
            fix += ", or make the step a plain def"
        elif entry is not None and entry.category in _ALTERNATIVES:
            fix += f", or {_ALTERNATIVES[entry.category]}"
        return fix, None

    def _offload(self, call: cst.Call, idx: int, scope: Scope, ctx: _Ctx, owner) -> None:
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
                    call=self._text(fn), offload=offload_text, where=ctx.where, fix=fix)
                self._add(ctx, "WFA301", call, owner, msg, display, fix, None, pos_node=fn)
        if idx == 1:
            recv = resolve_expr(pos[0].value, scope)
            if recv == PROCESS_POOL:
                self._process_pool(call, fn, scope, ctx, owner)

    def _process_pool(self, call: cst.Call, fn: cst.BaseExpression, scope: Scope, ctx: _Ctx,
                      owner) -> None:
        what = self._unpicklable(fn, scope)
        if what is None:
            return
        fix = "pass a function defined at module level"
        msg = RULES["WFA302"].message.format(call=self._text(call), callable=what,
                                             where=ctx.where, fix=fix)
        self._add(ctx, "WFA302", call, owner, msg, None, fix, None)

    def _unpicklable(self, fn: cst.BaseExpression, scope: Scope) -> str | None:
        if type(fn) is cst.Lambda:
            return "a lambda"
        if type(fn) is cst.Name:
            d = scope.lookup(fn.value)
            if isinstance(d, LocalDef) and d.nested:
                return "a lambda" if d.name == "<lambda>" else f"nested function '{d.name}'"
        if type(fn) is cst.Call and fn.args:
            t = resolve_expr(fn.func, scope)
            if t == "functools.partial":
                return self._unpicklable(fn.args[0].value, scope)
        return None

    def _nested_loop(self, call: cst.Call, ctx: _Ctx, owner) -> None:
        arg = call.args[0].value if call.args else None
        if arg is not None and type(arg) is cst.Call:
            fix = f"await {_short(self._code(arg), 50)} instead"
        else:
            fix = "await the coroutine instead"
        msg = RULES["WFA303"].message.format(call=self._text(call), where=ctx.where, fix=fix)
        self._add(ctx, "WFA303", call, owner, msg, dotted(call.func), fix, None)

    def _never_awaits(self, ctx: _Ctx) -> None:
        blocking = [r for r in ctx.raws if r.code in _BLOCKING_CODES]
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
        self._add(ctx, "WFA401", ctx.fn, ctx.fn, msg, None, fix, None)

    def _add(self, ctx: _Ctx, code: str, node: cst.CSTNode, owner, message: str,
             qualname: str | None, advice: str, twin: str | None,
             pos_node: cst.CSTNode | None = None) -> None:
        if self.line_mode and code not in _BLOCKING_CODES:
            return
        ctx.raws.append(_Raw(code, node, pos_node or node, owner, message, qualname, advice,
                             twin, ctx))

    # -- text ----------------------------------------------------------------------------------

    def _code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def _text(self, call: cst.Call) -> str:
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

    def _finish(self, raws: list[_Raw]) -> list[Finding]:
        pos = _Positions(self.module, self.tree)
        config = self.config
        out: list[Finding] = []
        for r in raws:
            if (config.select or config.ignore) and not config.code_enabled(r.code):
                continue
            line, col, end_line, end_col = pos.of(r.pos_node, r.owner)
            ctx = r.ctx
            out.append(Finding(
                code=r.code, line=line, col=col, message=r.message, path=self.path,
                qualname=r.qualname, function=ctx.name if ctx.fn is not None else None,
                step=ctx.name if ctx.step else None,
                workflow=ctx.cls.name if ctx.cls is not None and ctx.cls.is_workflow else None,
                advice=r.advice, twin=r.twin, end_line=end_line, end_col=end_col, node=r.node,
            ))
        out.sort(key=lambda f: (f.line, f.col, f.code))
        return out


Span = tuple[int, int, int, int]

# Fields in the order their code appears in the source, where dataclass order differs.
_SOURCE_ORDER: dict[type, tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.Parameters: ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.Arg: ("keyword", "value"),
}
_SOURCE_FIELDS: dict[type, tuple[str, ...]] = {}


def child_nodes(node: cst.CSTNode, fields: tuple[str, ...]) -> list[cst.CSTNode]:
    """The nodes that ``fields`` of ``node`` hold, in field order."""
    out: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        tv = type(value)
        if tv in _NODE_TYPES:
            out.append(value)
        elif tv is tuple or tv is list:
            out.extend(x for x in value if type(x) in _NODE_TYPES)
    return out


def _source_fields(cls: type) -> tuple[str, ...]:
    f = _SOURCE_FIELDS.get(cls)
    if f is None:
        if cls in _SOURCE_ORDER:
            f = tuple(n for n in _SOURCE_ORDER[cls] if hasattr(cls, "__dataclass_fields__")
                      and n in cls.__dataclass_fields__)
        else:
            f = tuple(x.name for x in dataclasses.fields(cls) if not x.name.startswith("whitespace")
                      and x.name not in ("lpar", "rpar", "comma", "leading_lines", "semicolon",
                                         "newline", "trailing_whitespace", "header", "footer"))
        _SOURCE_FIELDS[cls] = f
    return f


class _Positions:
    """Line/column of libcst nodes, read off the ``ast`` tree of the same source.

    Function definitions are matched by their order in a statement walk (the same in both
    trees); calls inside one definition by their order in a pre-order, source-order walk.
    Only definitions that hold findings are walked. If the two trees ever disagree, libcst's
    PositionProvider (exact but slow) takes over for the module.
    """

    def __init__(self, module: cst.Module, tree: ast.Module) -> None:
        self.module = module
        self.tree = tree
        self._cst_defs: dict[int, int] | None = None
        self._ast_defs: list[ast.AST] | None = None
        self._calls: dict[int, tuple[dict[int, int], list[ast.Call]] | None] = {}
        self._exact: dict | None = None

    def of(self, node: cst.CSTNode, owner: cst.FunctionDef | None) -> Span:
        try:
            if type(node) is cst.FunctionDef:
                d = self._ast_def(node)
                if d is not None:
                    n = len("async def " if node.asynchronous is not None else "def ")
                    return d.lineno, d.col_offset, d.lineno, d.col_offset + n + len(node.name.value)
            else:
                got = self._calls_in(owner)
                if got is not None:
                    index, calls = got
                    i = index.get(id(node))
                    if i is not None:
                        c = calls[i]
                        return c.lineno, c.col_offset, c.end_lineno or c.lineno, c.end_col_offset or 0
        except (IndexError, KeyError):
            pass
        return self._exact_span(node)

    def _defs(self) -> None:
        cst_defs: dict[int, int] = {}
        ast_defs: list[ast.AST] = []

        def walk_cst(stmts) -> None:
            for stmt in iter_statements(stmts):
                if type(stmt) is cst.FunctionDef:
                    cst_defs[id(stmt)] = len(cst_defs)
                    walk_cst(stmt.body.body)
                elif type(stmt) is cst.ClassDef:
                    walk_cst(stmt.body.body)

        def walk_ast(stmts) -> None:
            for stmt in stmts:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    ast_defs.append(stmt)
                    walk_ast(stmt.body)
                    continue
                if isinstance(stmt, ast.ClassDef):
                    walk_ast(stmt.body)
                    continue
                walk_ast(getattr(stmt, "body", ()) if isinstance(getattr(stmt, "body", None), list) else ())
                for h in getattr(stmt, "handlers", ()):
                    walk_ast(h.body)
                for case in getattr(stmt, "cases", ()):
                    walk_ast(case.body)
                walk_ast(getattr(stmt, "orelse", ()) or ())
                walk_ast(getattr(stmt, "finalbody", ()) or ())

        walk_cst(self.module.body)
        walk_ast(self.tree.body)
        self._cst_defs, self._ast_defs = cst_defs, ast_defs

    def _ast_def(self, node: cst.FunctionDef) -> ast.AST | None:
        if self._cst_defs is None:
            self._defs()
        assert self._cst_defs is not None and self._ast_defs is not None
        if len(self._cst_defs) != len(self._ast_defs):
            return None
        i = self._cst_defs.get(id(node))
        return None if i is None else self._ast_defs[i]

    def _calls_in(self, owner: cst.FunctionDef | None):
        key = id(owner)
        if key in self._calls:
            return self._calls[key]
        result = None
        if owner is None:
            cst_root, ast_root = self.module, self.tree
        else:
            cst_root, ast_root = owner, self._ast_def(owner)
        if ast_root is not None:
            cst_calls: dict[int, int] = {}
            nodes = _NODE_TYPES
            stack: list[cst.CSTNode] = [cst_root]
            while stack:
                n = stack.pop()
                t = type(n)
                if t is cst.Call:
                    cst_calls[id(n)] = len(cst_calls)
                children = child_nodes(n, _source_fields(t))
                children.reverse()
                stack.extend(children)
            ast_calls = [n for n in ast.walk(ast_root) if isinstance(n, ast.Call)]
            ast_calls.sort(key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0),
                                          -(c.end_col_offset or 0)))
            if len(ast_calls) == len(cst_calls):
                result = (cst_calls, ast_calls)
        self._calls[key] = result
        return result

    def _exact_span(self, node: cst.CSTNode) -> Span:
        if self._exact is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._exact = dict(wrapper.resolve(PositionProvider))
        rng = self._exact.get(node)
        if rng is None:
            return 1, 0, 1, 0
        return rng.start.line, rng.start.column, rng.end.line, rng.end.column
