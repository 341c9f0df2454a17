"""The cheap pre-check on a file's ``ast`` tree, and what the coroutines of a module call.

Everything here works on ``ast`` alone, without libcst: a run can read and pre-check every
file of a project (and ask which project functions its coroutines call) before libcst is even
imported, which by itself costs about as much as pre-checking a hundred files.

:func:`might_block_tree` lets through only files with a coroutine holding a call worth a
closer look; the walker (:mod:`flake8_wfasync.analysis.walker`) looks closer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_CONFIG, Config
from ..knowledge import catalog
from ..source import SourceParseError, decode_source, parse_quietly

if TYPE_CHECKING:
    from .project_view import ProjectView


# Offloading callables -> index of the positional argument that must be a callable.
OFFLOADS: dict[str, int] = {
    "asyncio.to_thread": 0,
    "anyio.to_thread.run_sync": 0,
    "trio.to_thread.run_sync": 0,
    "functools.partial": 0,
}
# Calls that start an event loop: inside a coroutine, a nested one.
NESTED_LOOP_RUNNERS = frozenset({"asyncio.run", "anyio.run", "trio.run"})


# --- the pre-check --------------------------------------------------------------------------------

_ALWAYS_ATTRS = frozenset({"run_until_complete", "get_event_loop"})
_OFFLOAD_ATTRS = frozenset({"to_thread", "run_sync", "partial", "submit", "map"})
_SPECIAL = frozenset(OFFLOADS) | NESTED_LOOP_RUNNERS | {"asyncio.get_event_loop"}
# Where a process pool (or a Dask cluster) comes from: run_in_executor may pickle with one.
_PROCESS_ROOTS = frozenset({"concurrent", "multiprocessing", "loky", "dask", "distributed"})
_BUILTIN_CANDIDATES = frozenset(
    q.partition(".")[2] for e in catalog.ENTRIES for q in e.qualnames if q.startswith("builtins.")
)


def might_block(source: str | bytes) -> bool:
    """Cheap test: False when no coroutine of the file holds a call worth a closer look."""
    if isinstance(source, bytes):
        if b"async" not in source:
            return False
        try:
            source = decode_source(source)
        except SourceParseError:
            return True
    if "async" not in source:
        return False
    try:
        tree = parse_quietly(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True  # let the analysis report the error
    return might_block_tree(tree, source)


def _ast_coroutines(body: list[ast.stmt], out: list[ast.AsyncFunctionDef]) -> None:
    for stmt in body:
        if isinstance(stmt, ast.AsyncFunctionDef):
            out.append(stmt)
        for name in ("body", "orelse", "finalbody"):
            sub = getattr(stmt, name, None)
            if sub and isinstance(sub, list):
                _ast_coroutines(sub, out)
        if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for h in stmt.handlers:
                _ast_coroutines(h.body, out)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                _ast_coroutines(case.body, out)


def _ast_imports(body: list[ast.stmt], names: dict[str, str]) -> None:
    for stmt in body:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    root = a.name.partition(".")[0]
                    names[root] = root
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level or not stmt.module:
                continue
            for a in stmt.names:
                names[a.asname or a.name] = f"{stmt.module}.{a.name}"
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)) or type(stmt).__name__ == "TryStar":
            _ast_imports(stmt.body, names)
            _ast_imports(getattr(stmt, "orelse", []), names)
            for h in getattr(stmt, "handlers", []):
                # try: import sqlite3 / except ImportError: from pysqlite2 import dbapi2 as
                # sqlite3: the fallback stands in for the module the body imports.
                fallback: dict[str, str] = {}
                _ast_imports(h.body, fallback)
                for name, full in fallback.items():
                    names.setdefault(name, full)
            _ast_imports(getattr(stmt, "finalbody", []), names)


def _attribute_chain(func: ast.expr) -> tuple[ast.expr, list[str]]:
    """``a.b.c`` -> (``a``, ["c", "b"]): the base and the attribute names, last first."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    return func, parts


def might_block_tree(tree: ast.AST, source: str | None = None,
                     config: Config = DEFAULT_CONFIG, index: ProjectView | None = None,
                     path: str = "<string>") -> bool:
    """The pre-pass on an ``ast`` tree. Conservative: True whenever a coroutine (or a sync
    function of the module it calls) calls a name that may resolve to a catalog entry, a
    configured name, an offload or a loop runner, or, with a project ``index``, a project
    function that blocks, or a method on a value another module of the project hands over
    (a constant, a factory's result) that may be a catalog type's."""
    return _pre_pass(tree, source, config, index, path)


def _pre_pass(tree: ast.AST, source: str | None, config: Config, index: ProjectView | None,
              path: str) -> bool:
    if source is not None and "async" not in source:
        return False
    if not isinstance(tree, ast.Module):
        return True
    walk = coroutine_walk(tree)
    if not walk.has_coroutines:
        return False
    imports = walk.import_bindings()
    extra = config.extra_blocking
    extra_methods = {k.rpartition(".")[2] for k in extra}
    if index is not None and ast_calls_project_blocking(tree, walk, index, path):
        return True
    roots = _import_roots(imports, extra, source)
    sticky = _own_sticky(imports, config)
    processes = _pickling(imports)
    if _scan(walk, imports, roots, extra, extra_methods, sticky, processes):
        return True
    if index is None or getattr(index, "value_imports", None) is None:
        return False
    # ...or where another module of the project hands one over: a constant, a factory.
    names = _project_value_imports(tree, walk, index, path)
    more = {q.partition(".")[0] for q in names} - _seen_roots(roots, processes)
    more_sticky = not sticky and _sticky(names)
    if not (more or more_sticky):
        return False
    sticky = sticky or more_sticky
    processes = processes or not more.isdisjoint(_PROCESS_ROOTS)
    return _scan(walk, imports, roots | more, extra, extra_methods, sticky, processes)


def _import_roots(imports: dict[str, str], extra: dict[str, str], source: str | None) -> set[str]:
    # Instances of catalog types only exist where a module that builds them is imported (or
    # a file is opened): a method call on a local name is a candidate only then.
    roots = {v.partition(".")[0] for v in imports.values()}
    roots |= {k.partition(".")[0] for k in extra}
    if source is None or "open(" in source:
        roots.add("builtins")
    return roots


def _sticky(imported: Iterable[str]) -> bool:
    """Whether a module imports a name that may bring an instance every method of which
    blocks (a client, an engine, a boto3 client by its ``mypy_boto3_*`` annotation): then a
    method call on any value is a candidate. Not any name of such a package: a module that
    imports ``sqlalchemy.Table`` or ``sqlalchemy.ext.asyncio.AsyncEngine`` holds none."""
    sources = catalog.STICKY_SOURCES
    return any(q in sources or q.startswith("mypy_boto3_") for q in imported)


def _own_sticky(imports: dict[str, str], config: Config) -> bool:
    """Whether, by the module's own imports and the settings, a method call on any value is
    a candidate (a configured name may be any method of anything)."""
    return bool(config.extra_blocking) or _sticky(imports.values())


def _pickling(imports: dict[str, str]) -> bool:
    """Whether the module imports a name that may bring a pool that pickles what it is
    handed (a process pool, a Dask cluster): not any name of the same package
    (``from concurrent.futures import Executor`` is none)."""
    return not catalog.PICKLING_SOURCES.isdisjoint(imports.values())


def _seen_roots(roots: set[str], processes: bool) -> set[str]:
    """The roots a value from another module must bring something beyond to matter: a
    process pool's root counts as new when the module's own imports bring no pool."""
    return roots if processes else roots - _PROCESS_ROOTS


def value_questions(tree: ast.Module, source: str | None, config: Config, index: ProjectView,
                    path: str) -> tuple[list[str], frozenset[str], bool] | None:
    """What :func:`might_block_tree` would ask ``index`` of other modules, without
    asking it (nothing is read but this file): the project names to ask
    :meth:`~ProjectView.value_imports` of, the roots the file has already and whether its
    own imports make any method call a candidate. When no answer brings more, the file does
    not need the question at all (see :func:`needs_values`). None: nothing to ask."""
    if not isinstance(tree, ast.Module) or (source is not None and "async" not in source):
        return None
    walk = coroutine_walk(tree)
    if not walk.has_coroutines:
        return None
    asks = _value_asks(tree, walk, index, path)
    if not asks:
        return None
    imports = walk.import_bindings()
    roots = _import_roots(imports, config.extra_blocking, source)
    return asks, frozenset(_seen_roots(roots, _pickling(imports))), _own_sticky(imports, config)


def needs_values(questions: tuple[list[str], frozenset[str], bool], index: ProjectView) -> bool:
    """Whether the answers to :func:`value_questions` bring a root the file lacks, or an
    instance every method of which blocks to a file whose imports bring none: only then may
    the values of other modules make :func:`might_block_tree` true where it was false
    without an index."""
    asks, roots, sticky = questions
    for q in asks:
        names = index.value_imports(q)
        if not roots.issuperset(n.partition(".")[0] for n in names) or (not sticky and _sticky(names)):
            return True
    return False


def _scan(walk: CoroutineWalk, imports: dict[str, str], roots: set[str], extra: dict[str, str],
          extra_methods: set[str], sticky: bool, processes: bool) -> bool:
    calls, awaited, own = walk.calls, walk.awaited, walk.own
    method_roots = catalog.METHOD_ROOTS

    def method_candidate(name: str) -> bool:
        return sticky or name in extra_methods or not roots.isdisjoint(method_roots.get(name, ()))

    # An offload matters when it is handed a call (evaluated on the loop: WFA301) or a lambda,
    # or may send work to another process (WFA302), which needs a pool (``processes``).
    for call in calls:
        func, parts = _attribute_chain(call.func)
        last = parts[0] if parts else (func.id if isinstance(func, ast.Name) else "")
        if last in _ALWAYS_ATTRS:
            return True
        handed = any(isinstance(a, (ast.Call, ast.Lambda)) for a in call.args)
        if last in _OFFLOAD_ATTRS and handed:
            return True
        if last == "run_in_executor":
            # run_in_executor(pool, fn, *args): only a call in fn's place runs here (WFA301);
            # a lambda or an argument matters only to a pool that pickles them.
            pos = [a for a in call.args if not isinstance(a, ast.Starred)]
            if len(pos) > 1 and (processes or isinstance(pos[1], ast.Call)):
                return True
            continue
        if id(call) in own:
            continue  # self.helper(): the class's own def, whose calls are in ``calls`` too
        if isinstance(func, ast.Name):
            base = imports.get(func.id)
            if id(call) in awaited:
                # await os.unlink(p) blocks before the await; an awaited method does not.
                if base is not None and catalog.match_qualname(".".join([base, *reversed(parts)])) is not None:
                    return True
                if base is None and not parts and func.id in _BUILTIN_CANDIDATES:
                    return True
                continue
            if base is None:
                if not parts:
                    if func.id in _BUILTIN_CANDIDATES or func.id in extra:
                        return True
                elif method_candidate(last) and (extra or not (walk.plain_local(call, func.id, imports)
                                                                or walk.plain_attribute(call, imports))):
                    return True
                continue
            q = ".".join([base, *reversed(parts)])
            if q in OFFLOADS and not handed and q not in extra:
                continue  # to_thread(fn, x), partial(fn, x): nothing runs here
            if q in _SPECIAL or q in extra or catalog.match_qualname(q) is not None:
                return True
            if processes and catalog.constructed_type(q) is not None:
                # Building a client or a path blocks nothing: what is called on it is in
                # ``calls`` (a method candidate), unless it is handed to another process.
                return True
            if parts and method_candidate(last):
                return True
        elif id(call) in awaited:
            continue
        elif parts and method_candidate(last) and (
                extra or not (isinstance(func, ast.Call) and walk.plain_result(func, imports))):
            return True  # a method on the result of a call: open(p).read(), Session().get()
    return False


def _project_value_imports(tree: ast.Module, walk: CoroutineWalk, index: ProjectView, path: str) -> set[str]:
    """The imported names whose types the project names the module imports may hold
    (``from .config import FILES_DIRECTORY``), and the project functions its coroutines call
    may return (``get_client()``): from the ``ast`` of the modules that define them."""
    out: set[str] = set()
    for q in _value_asks(tree, walk, index, path):
        out |= index.value_imports(q)
    return out


def _value_asks(tree: ast.Module, walk: CoroutineWalk, index: ProjectView, path: str) -> list[str]:
    """The project names the module (or a walked function) imports, and the project
    functions the walk calls (``"pkg.clients.get_client()"``); nothing when it imports no
    project name."""
    names = import_bindings(tree, index, path)
    if walk.imports:
        bind_imports(walk.imports, index.package_of(path), names)
    asks = [q for q in names.values() if index.is_project(q)]
    if asks:
        asks += [q + "()" for q in ast_project_calls(tree, walk.calls, index, path, walk)]
    return asks


# --- what the coroutines of a module call ---------------------------------------------------------

class AstHelpers:
    """Sync functions and methods of a module by name, for the ``ast`` pre-pass: a coroutine
    that calls one is as worth a closer look as the helper's own calls are."""

    __slots__ = ("funcs", "methods", "seen")

    def __init__(self, funcs: dict[str, list[ast.AST]], methods: dict[str, list[ast.AST]]) -> None:
        self.funcs = funcs
        self.methods = methods
        self.seen: set[int] = set()

    @classmethod
    def of(cls, body: list[ast.stmt]) -> AstHelpers | None:
        funcs: dict[str, list[ast.AST]] = {}
        methods: dict[str, list[ast.AST]] = {}
        for stmt in ast_statements(body):
            if isinstance(stmt, ast.FunctionDef):
                funcs.setdefault(stmt.name, []).append(stmt)
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Lambda):
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        funcs.setdefault(t.id, []).append(stmt.value)
            elif isinstance(stmt, ast.ClassDef):
                for item in ast_statements(stmt.body):
                    if isinstance(item, ast.FunctionDef):
                        methods.setdefault(item.name, []).append(item)
                        if item.name == "__init__":  # Class(...) runs it
                            funcs.setdefault(stmt.name, []).append(item)
        if not funcs and not methods:
            return None
        return cls(funcs, methods)

    def reach(self, call: ast.Call, out: list[Any]) -> None:
        """Append to ``out`` the helpers ``call`` may call (once each)."""
        func = call.func
        if isinstance(func, ast.Name):
            found = self.funcs.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            found = self.methods.get(func.attr)  # self.x(), cls.x(), Class.x()
        else:
            return
        if found:
            for fn in found:
                if id(fn) not in self.seen:
                    self.seen.add(id(fn))
                    out.append(fn)


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def all_statements(body: list[ast.stmt], into_defs: bool = True) -> list[ast.stmt]:
    """Every statement of a block at any depth, those of functions and classes included (not
    without ``into_defs``: then a nested def or class is one statement): a def, a class, a
    ``global`` or a ``return`` can only be one, and a walk of the statements alone skips the
    expressions that make up most of a tree."""
    out: list[ast.stmt] = []
    stack = list(body)
    while stack:
        stmt = stack.pop()
        out.append(stmt)
        if not into_defs and isinstance(stmt, _SCOPES):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if type(block) is list:
                stack.extend(block)
        for part in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
            stack.extend(part.body)
    return out


def ast_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a block, those under its ``if``, ``try`` and ``with`` included."""
    out: list[ast.stmt] = []
    for stmt in body:
        out.append(stmt)
        if isinstance(stmt, (ast.If, ast.Try, ast.With)) or type(stmt).__name__ == "TryStar":
            out.extend(ast_statements(stmt.body))
            out.extend(ast_statements(getattr(stmt, "orelse", [])))
            for h in getattr(stmt, "handlers", []):
                out.extend(ast_statements(h.body))
            out.extend(ast_statements(getattr(stmt, "finalbody", [])))
    return out


def ast_calls_project_blocking(tree: ast.Module, walk: CoroutineWalk, index: ProjectView, path: str) -> bool:
    """True when a call of the walk names a project function that the index says blocks."""
    return any(index.chain(q) is not None for q in ast_project_calls(tree, walk.calls, index, path, walk))


def ast_project_calls(tree: ast.Module, calls: list[ast.Call], index: ProjectView, path: str,
                      walk: CoroutineWalk | None = None) -> list[str]:
    """The project names (``pkg.db.load``, ``pkg.db.Repo.fetch``) that ``calls`` call through
    the module's imports; with the ``walk`` the calls come from, also through the imports
    inside the function that holds each (``from .store import Store`` to break a cycle)."""
    names = import_bindings(tree, index, path)
    out: list[str] = []
    local = walk.local_imports if walk is not None else None
    if not (names or local):
        return out
    in_function: dict[int, dict[str, str]] = {}
    for call in calls:
        func, parts = _attribute_chain(call.func)
        if isinstance(func, ast.Call):  # Loader().load()
            inner = func.func
            while isinstance(inner, ast.Attribute):
                inner = inner.value
            func = inner
            if len(parts) != 1:
                continue
        if not isinstance(func, ast.Name):
            continue
        bound = names
        if local:
            assert walk is not None
            root = walk.root_of(call)
            if root is not None and id(root) in local:
                bound = in_function.get(id(root))  # type: ignore[assignment]
                if bound is None:
                    bound = in_function[id(root)] = dict(names)
                    bind_imports(local[id(root)], index.package_of(path), bound)
        base = bound.get(func.id)
        if base is None:
            continue
        q = ".".join([base, *reversed(parts)]) if parts else base
        if index.is_project(q):
            out.append(q)
    return out


def import_bindings(tree: ast.Module, index: ProjectView, path: str) -> dict[str, str]:
    """Module-level import bindings: local name -> qualified name (relative ones resolved)."""
    names: dict[str, str] = {}
    bind_imports(ast_statements(tree.body), index.package_of(path), names)
    return names


def bind_imports(stmts: Iterable[ast.AST], package: str | None, names: dict[str, str]) -> None:
    """Add to ``names`` what the imports among ``stmts`` bind (relative ones resolved in
    ``package``)."""
    for stmt in stmts:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                names[a.asname or a.name.partition(".")[0]] = a.name if a.asname else a.name.partition(".")[0]
        elif isinstance(stmt, ast.ImportFrom):
            mod = stmt.module or ""
            if stmt.level:
                if package is None:
                    continue
                mod = relative_module_in(package, stmt.level, mod)
                if not mod:
                    continue
            for a in stmt.names:
                names[a.asname or a.name] = f"{mod}.{a.name}"


def relative_module_in(package: str | None, level: int, mod: str) -> str:
    """``from ..db import x`` in package ``pkg.sub`` -> ``"pkg.db"``; "" when unknown."""
    if package is None:
        return ""
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not mod):
        return ""
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, mod] if mod else base)


# Fields that hold no call, def or import: operators and load/store contexts, which are
# nodes too and would otherwise be a fifth of a walk.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops",
                          # ...and the fields that only ever hold a name, a number or a flag
                          "id", "attr", "arg", "name", "asname", "module", "level", "kind",
                          "type_comment", "conversion", "is_async", "simple"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def ast_nodes(root: ast.AST) -> list[ast.AST]:
    """Every node under ``root``, itself included, in no promised order, except operators and
    expression contexts: ``ast.walk`` without its generator and per-field helpers, which cost
    twice the walk itself."""
    out: list[ast.AST] = []
    stack = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    fields_of = _CHILD_FIELDS
    node_type = ast.AST
    while stack:
        node = pop()
        out.append(node)
        t = type(node)
        names = fields_of.get(t)
        if names is None:
            # (A constant's value is a Python value, never a node.)
            names = fields_of[t] = () if t is ast.Constant else tuple(f for f in t._fields if f not in _LEAF_FIELDS)
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                extend([v for v in value if isinstance(v, node_type)])
            elif isinstance(value, node_type):
                push(value)
    return out


class CoroutineWalk:
    """What the coroutines of a module (and the sync helpers of the module they call) hold:
    their calls, which of those are awaited, the imports inside them, and the calls of a
    method to a def of its own class (``self.load()``), which the resolver takes for that def."""

    __slots__ = ("has_coroutines", "calls", "awaited", "imports", "own", "_tree", "_root_of", "_plain",
                 "_module", "_classes", "_on_self", "_rebound", "_bindings", "local_imports")

    def __init__(self, tree: ast.Module) -> None:
        coros: list[Any] = []
        _ast_coroutines(tree.body, coros)
        self.has_coroutines = bool(coros)
        self.calls: list[ast.Call] = []
        self.awaited: set[int] = set()
        self.imports: list[ast.stmt] = []
        # The imports inside each walked function, by the function's id.
        self.local_imports: dict[int, list[ast.stmt]] = {}
        self.own: set[int] = set()
        self._tree = tree
        self._root_of: dict[int, ast.AST] = {}  # call -> the outermost walked function holding it
        self._plain: dict[tuple[int, str], bool] = {}
        self._module: tuple[set[str], set[int]] | None = None
        # self.<attr>...<method>(): call -> (the method it is in, its receiver's name)
        self._on_self: dict[int, tuple[ast.AST, str]] = {}
        self._rebound: dict[int, bool] = {}
        self._classes: ModuleClasses | None = None
        self._bindings: dict[str, str] | None = None
        if not coros:
            return
        helpers = AstHelpers.of(tree.body)
        seen = helpers.seen if helpers is not None else set()
        classes = self._classes = ModuleClasses(tree.body)

        def reach(defs: list[ast.AST]) -> None:
            for fn in defs:
                if isinstance(fn, ast.FunctionDef) and id(fn) not in seen:
                    seen.add(id(fn))
                    coros.append(fn)

        for coro in coros:  # grows with the helpers the coroutines call
            cls = classes.by_def.get(id(coro))
            me = receiver(coro) if cls is not None else None
            mine: list[ast.Call] = []
            nodes = ast_nodes(coro)
            for node in nodes:
                kind = type(node)  # (a parsed tree holds no subclasses of the node types)
                if kind is ast.Call:
                    self.calls.append(node)
                    self._root_of.setdefault(id(node), coro)
                    func = node.func
                    if (me is not None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                            and func.value.id == me):
                        mine.append(node)
                    else:
                        if me is not None and isinstance(func, ast.Attribute):
                            self._on_self.setdefault(id(node), (coro, me))
                        if helpers is not None:
                            helpers.reach(node, coros)
                elif kind is ast.Await:
                    if type(node.value) is ast.Call:
                        self.awaited.add(id(node.value))
                elif kind is ast.Import or kind is ast.ImportFrom:
                    self.imports.append(node)
                    self.local_imports.setdefault(id(coro), []).append(node)
            if not mine:
                continue
            sure = self._rebound[id(coro)] = not _rebinds(nodes, coro, me)  # type: ignore[arg-type]
            twin = sync_twin(coro.name)
            for call in mine:
                name = call.func.attr  # type: ignore[attr-defined]
                defs = classes.lookup(cls, name) if sure else None  # type: ignore[arg-type]
                if defs is None:
                    if helpers is not None:
                        helpers.reach(call, coros)
                    continue
                self.own.add(id(call))
                reach(defs)
                if name == twin:
                    # The coroutine falls back to its sync twin (acomplete calling
                    # self.complete): the overrides of the module's subclasses run too.
                    for sub in classes.subclasses(cls):  # type: ignore[arg-type]
                        reach(sub.defs.get(name, []))


    def root_of(self, call: ast.Call) -> ast.AST | None:
        """The outermost walked function that holds ``call``."""
        return self._root_of.get(id(call))

    def import_bindings(self) -> dict[str, str]:
        """Local name -> imported name, of the module's imports and of those inside the walked
        functions (made once: the pre-check and its question to the index both need them)."""
        if self._bindings is None:
            self._bindings = {}
            _ast_imports(self._tree.body, self._bindings)
            _ast_imports(self.imports, self._bindings)
        return self._bindings

    def plain_local(self, call: ast.Call, name: str, imports: dict[str, str]) -> bool:
        """Whether ``name``, the receiver of ``call``, is a local of the walked function
        holding the call that the resolver can only see as a builtin value: bound in that
        function, and anywhere in it only to literals, comprehensions, subscripts (``x = []``,
        ``x = d[k]``) or unpacked, or a parameter annotated as a builtin container or left
        bare (``messages: List[ChatMessage]``). A method call on it is a list's or a dict's."""
        root = self._root_of.get(id(call))
        if not isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        key = (id(root), name)
        got = self._plain.get(key)
        if got is None:
            if self._module is None:
                self._module = _module_bound_names(self._tree)
            got = self._plain[key] = _plain_local(root, name, self._module, imports)
        return got

    def plain_result(self, call: ast.Call, imports: dict[str, str]) -> bool:
        """Whether ``call`` is a method call on a plain local (see :meth:`plain_local`), or
        on what such a call returns (``value.strip().lower()``): the resolver gives its
        result no type either."""
        while True:
            func, parts = _attribute_chain(call.func)
            if not parts:
                return False
            if not isinstance(func, ast.Call):
                return (isinstance(func, ast.Name) and func.id not in imports
                        and self.plain_local(call, func.id, imports))
            call = func

    def plain_attribute(self, call: ast.Call, imports: dict[str, str]) -> bool:
        """Whether ``call`` is ``self.<attr>...<method>()`` in a method of a class of the
        module whose ``self.<attr>`` the resolver can only see as a builtin value: the class
        and its bases of the module never define it, and assign it only literals, or
        parameters annotated as builtin containers or left bare (see :meth:`plain_local`)."""
        got = self._on_self.get(id(call))
        if got is None or self._classes is None:
            return False
        fn, me = got
        func, parts = _attribute_chain(call.func)
        cls = self._classes.by_def.get(id(fn))
        if not (isinstance(func, ast.Name) and func.id == me and len(parts) > 1 and cls is not None and cls.top):
            return False
        sure = self._rebound.get(id(fn))
        if sure is None:
            sure = self._rebound[id(fn)] = not _rebinds(ast_nodes(fn), fn, me)  # type: ignore[arg-type]
        if not sure:
            return False
        if self._module is None:
            self._module = _module_bound_names(self._tree)
        return self._classes.plain_attribute(cls, parts[-1], self._module[0], imports)


def sync_twin(name: str) -> str | None:
    """The sync method an async one is named after: ``acomplete`` -> ``complete``,
    ``_aretrieve`` -> ``_retrieve``."""
    private = name.startswith("_") and not name.startswith("__")
    bare = name[1:] if private else name
    if len(bare) < 2 or bare[0] != "a" or not bare[1].isalpha():
        return None
    return ("_" if private else "") + bare[1:]


class ClassMethods:
    """One class of the module: its defs by name (under its ``if``, ``for``, ``try``...
    statements too, as the resolver reads a class body), the names of its bases, and the
    names also bound otherwise: on the class, or as an attribute of anything in it
    (``self.load = ...``), which the resolver prefers to a def."""

    __slots__ = ("node", "defs", "bases", "top", "_assigned")

    def __init__(self, node: ast.ClassDef, defs: dict[str, list[ast.AST]], top: bool) -> None:
        self.node = node
        self.defs = defs
        self.bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        self.top = top  # a class of the module's top level (not nested in another class)
        self._assigned: set[str] | None = None

    def plain_values(self, name: str, taken: set[str], imports: dict[str, str]) -> bool:
        """Whether every value the class body and its methods assign to ``name`` (on the
        class, on an instance) is one the resolver gives no type: a literal, or a parameter
        of the method annotated as a builtin container or left bare."""
        for stmt in _class_statements(self.node.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = stmt.args
                params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
                plain = {p.arg for p in params[1:] if _plain_annotation(p.annotation, taken, imports)}
                for inner in _class_statements(stmt.body):
                    if isinstance(inner, (ast.Assign, ast.AnnAssign)) and _assigns(inner, name, ast.Attribute):
                        if not _plain_assignment(inner, plain, taken, imports):
                            return False
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _assigns(stmt, name, ast.Name):
                if not _plain_assignment(stmt, set(), taken, imports):
                    return False
        return True

    def assigned(self) -> set[str]:
        """The names the resolver may take ``self.<name>`` for a value by: names assigned in
        the class body, and attributes assigned in its methods (``self.load = ...``)."""
        if self._assigned is None:
            out: set[str] = set()
            for stmt in _class_statements(self.node.body):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for inner in _class_statements(stmt.body):
                        if isinstance(inner, (ast.Assign, ast.AnnAssign)):
                            _target_names(inner, out, ast.Attribute)
                elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                    _target_names(stmt, out, ast.Name)
            self._assigned = out
        return self._assigned


def _target_names(stmt: ast.Assign | ast.AnnAssign, out: set[str], kind: type) -> None:
    """The names (``kind`` ast.Name) or attribute names (ast.Attribute) an assignment binds,
    those in tuple targets too."""
    todo: list[ast.expr] = list(stmt.targets) if isinstance(stmt, ast.Assign) else [stmt.target]
    while todo:
        t = todo.pop()
        if isinstance(t, (ast.Tuple, ast.List)):
            todo.extend(t.elts)
        elif isinstance(t, ast.Starred):
            todo.append(t.value)
        elif isinstance(t, kind):
            out.add(t.id if isinstance(t, ast.Name) else t.attr)  # type: ignore[attr-defined]


class ModuleClasses:
    """The classes of a module (nested in classes too, not in functions), for what
    ``self.<name>`` is in a method: which defs it may be, as the resolver follows a class and
    its bases of the module (a base is taken for every class of its name)."""

    __slots__ = ("by_def", "by_name")

    def __init__(self, body: list[ast.stmt]) -> None:
        self.by_def: dict[int, ClassMethods] = {}
        self.by_name: dict[str, list[ClassMethods]] = {}
        todo = [(s, True) for s in _class_statements(body) if isinstance(s, ast.ClassDef)]
        while todo:
            node, top = todo.pop()
            defs: dict[str, list[ast.AST]] = {}
            for stmt in _class_statements(node.body):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defs.setdefault(stmt.name, []).append(stmt)
                elif isinstance(stmt, ast.ClassDef):
                    todo.append((stmt, False))
            info = ClassMethods(node, defs, top)
            self.by_name.setdefault(node.name, []).append(info)
            for fns in defs.values():
                for fn in fns:
                    self.by_def[id(fn)] = info

    def lookup(self, cls: ClassMethods, name: str) -> list[ast.AST] | None:
        """The defs ``self.<name>`` may be in a method of ``cls`` (none: it is nothing the
        module defines); None when it may be a value (an attribute, a class-level name)."""
        out: list[ast.AST] = []
        seen: set[int] = set()
        todo = [cls]
        while todo:
            c = todo.pop()
            if id(c) in seen:
                continue
            seen.add(id(c))
            if name in c.assigned():
                return None
            found = c.defs.get(name)
            if found:
                out.extend(found)  # (the resolver looks no further up this way)
                continue
            for base in c.bases:
                todo.extend(self.by_name.get(base, ()))
        return out

    def plain_attribute(self, cls: ClassMethods, name: str, taken: set[str], imports: dict[str, str]) -> bool:
        """Whether ``self.<name>`` in a method of ``cls`` is nothing the resolver gives a
        type: no class of its chain defines it (a property may return anything), and
        every one assigns it only plain values (:meth:`ClassMethods.plain_values`)."""
        seen: set[int] = set()
        todo = [cls]
        while todo:
            c = todo.pop()
            if id(c) in seen:
                continue
            seen.add(id(c))
            if name in c.defs or not c.top:
                return False
            if name in c.assigned() and not c.plain_values(name, taken, imports):
                return False
            for base in c.bases:
                todo.extend(self.by_name.get(base, ()))
        return True

    def subclasses(self, cls: ClassMethods) -> list[ClassMethods]:
        """The classes of the module that may derive from ``cls``."""
        names = {cls.node.name}
        out: list[ClassMethods] = []
        grew = True
        while grew:
            grew = False
            for infos in self.by_name.values():
                for info in infos:
                    if info is not cls and info not in out and not names.isdisjoint(info.bases):
                        out.append(info)
                        names.add(info.node.name)
                        grew = True
        return out


def receiver(fn: ast.AST) -> str | None:
    """The name a method's instance (or class) comes in as: its first parameter, as the
    resolver binds it; None for a static method."""
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    for d in fn.decorator_list:
        if isinstance(d, ast.Call):
            d = d.func
        if (d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else "") == "staticmethod":
            return None
    a = fn.args
    first = a.posonlyargs or a.args or a.kwonlyargs
    if first:
        return first[0].arg
    star = a.vararg or a.kwarg
    return star.arg if star is not None else None


_BLOCKS = ("body", "orelse", "finalbody")


_COMPOUND = frozenset({ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match,
                       getattr(ast, "TryStar", ast.Try)})


def _class_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a block and of every compound statement in it (not of defs and
    classes): what the resolver binds in one scope."""
    out: list[ast.stmt] = []
    todo = list(reversed(body))
    compound = _COMPOUND
    while todo:
        stmt = todo.pop()
        out.append(stmt)
        if type(stmt) not in compound:
            continue
        inner: list[ast.stmt] = list(getattr(stmt, "body", ()))  # (a match has cases only)
        for h in getattr(stmt, "handlers", ()):
            inner.extend(h.body)
        for case in getattr(stmt, "cases", ()):
            inner.extend(case.body)
        inner.extend(getattr(stmt, "orelse", ()))
        inner.extend(getattr(stmt, "finalbody", ()))
        todo.extend(reversed(inner))
    return out


def _bound_names(node: ast.AST) -> list[str]:
    """The names one node binds (a target, an import, a handler, a pattern, a def)."""
    t = type(node)
    if t is ast.Name:
        return [] if isinstance(node.ctx, ast.Load) else [node.id]  # type: ignore[attr-defined]
    if t is ast.alias:
        return [node.asname or node.name.partition(".")[0]]  # type: ignore[attr-defined]
    if t is ast.Global or t is ast.Nonlocal:
        return list(node.names)  # type: ignore[attr-defined]
    if t is ast.ExceptHandler or t is ast.MatchAs or t is ast.MatchStar:
        return [node.name] if node.name else []  # type: ignore[attr-defined]
    if t is ast.MatchMapping:
        return [node.rest] if node.rest else []  # type: ignore[attr-defined]
    if t is ast.arg:
        return [node.arg]  # type: ignore[attr-defined]
    if t is ast.FunctionDef or t is ast.AsyncFunctionDef or t is ast.ClassDef:
        return [node.name]  # type: ignore[attr-defined]
    return []


_BINDERS = frozenset({ast.alias, ast.Global, ast.Nonlocal, ast.ExceptHandler, ast.MatchAs, ast.MatchStar,
                      ast.MatchMapping, ast.arg, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})


def _rebinds(nodes: list[ast.AST], fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Whether ``name``, a parameter of ``fn``, is bound anywhere else in it (nested defs,
    lambdas and comprehensions included): then it may not hold the instance everywhere."""
    params = 0
    load = ast.Load
    binders = _BINDERS
    for node in nodes:
        t = type(node)
        if t is ast.Name:
            if node.id == name and type(node.ctx) is not load:  # type: ignore[attr-defined]
                return True
        elif t in binders and node is not fn and name in _bound_names(node):
            if t is ast.arg and params == 0:
                params = 1  # (fn's own parameter, or a nested def's: two are one too many)
                continue
            return True
    return False


# Annotations the resolver reads as no tracked type: builtin scalars and containers (a
# container's items may be typed, the container is not), by the names builtins and typing
# give them.
_PLAIN_BUILTINS = frozenset({"list", "dict", "set", "frozenset", "tuple", "str", "bytes", "int", "float", "bool"})
_PLAIN_TYPING = frozenset({"List", "Dict", "Set", "FrozenSet", "Tuple", "Sequence", "MutableSequence", "Iterable",
                           "Iterator", "Collection", "Mapping", "MutableMapping", "Any", "Callable", "Awaitable",
                           "Coroutine", "Generator", "AsyncGenerator", "AsyncIterator", "AsyncIterable"})
_PLAIN_MODULES = frozenset({"typing", "typing_extensions", "collections.abc"})
# Values the resolver gives no tracked type: literals, subscripts, comparisons (not ``a + b``:
# a path's ``root / name`` is a path).
_PLAIN_VALUES = (ast.Subscript, ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp,
                 ast.SetComp, ast.GeneratorExp, ast.DictComp, ast.Compare, ast.UnaryOp, ast.Lambda)


def _module_bound_names(tree: ast.Module) -> tuple[set[str], set[int]]:
    """Names the module binds at its top level (imports, assignments, defs, classes...), and
    the ids of its top-level functions (no method among them)."""
    out: set[str] = set()
    funcs: set[int] = set()
    for stmt in _class_statements(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(stmt.name)
            if not isinstance(stmt, ast.ClassDef):
                funcs.add(id(stmt))
            continue
        for node in ast_nodes(stmt):
            out.update(_bound_names(node))
    return out, funcs


def _plain_annotation(ann: ast.expr | None, taken: set[str], imports: dict[str, str]) -> bool:
    """An annotation the resolver gives no tracked type: none, a builtin scalar or container,
    a typing container (whatever its items), or Optional of one (``taken``: names bound
    otherwise, which then are no builtins)."""
    if ann is None:
        return True
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        return all(_plain_annotation(s, taken, imports) or (isinstance(s, ast.Constant) and s.value is None)
                   for s in (ann.left, ann.right))
    if isinstance(ann, ast.Subscript):
        if (isinstance(ann.value, ast.Name) and ann.value.id == "Optional"
                and imports.get("Optional", "").rpartition(".")[0] in _PLAIN_MODULES):
            return _plain_annotation(ann.slice, taken, imports)
        ann = ann.value
    if not isinstance(ann, ast.Name) or ann.id in taken and ann.id not in imports:
        return False
    if ann.id in _PLAIN_BUILTINS:
        return ann.id not in imports
    return ann.id in _PLAIN_TYPING and imports.get(ann.id, "").rpartition(".")[0] in _PLAIN_MODULES


def _names_in(target: ast.expr) -> list[str]:
    return [n.id for n in ast_nodes(target) if isinstance(n, ast.Name)]


def _assigns(stmt: ast.Assign | ast.AnnAssign, name: str, kind: type) -> bool:
    """Whether an assignment binds ``name`` (``kind`` ast.Name) or an attribute of that name
    (ast.Attribute), in a tuple target too."""
    out: set[str] = set()
    _target_names(stmt, out, kind)
    return name in out


def _plain_assignment(stmt: ast.Assign | ast.AnnAssign, params: set[str], taken: set[str],
                      imports: dict[str, str]) -> bool:
    """An assignment of a value the resolver gives no type, as it reads a class: straight
    targets (a tuple target is refused), a literal value or one of ``params`` (the
    method's parameters with plain annotations), and a plain annotation."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    if any(isinstance(t, (ast.Tuple, ast.List, ast.Starred)) for t in targets):
        return False
    if isinstance(stmt, ast.AnnAssign) and not _plain_annotation(stmt.annotation, taken, imports):
        return False
    value = stmt.value
    return (value is None or isinstance(value, _PLAIN_VALUES)
            or (isinstance(value, ast.Name) and value.id in params))


def _plain_local(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str, module: tuple[set[str], set[int]],
                 imports: dict[str, str]) -> bool:
    """See :meth:`CoroutineWalk.plain_local`."""
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(p for p in (a.vararg, a.kwarg) if p is not None)]
    if params and params[0].arg == name and id(fn) not in module[1]:
        return False  # maybe self, or cls: an instance of a class of the module
    own = any(p.arg == name for p in params)
    for stmt in _class_statements(fn.body):
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(name in _names_in(t) for t in targets):
                own = True
    if not own:
        return False  # a name of the module, or of an enclosing function
    nodes = ast_nodes(fn)
    taken = set(module[0])
    for node in nodes:
        if node is not fn:
            taken.update(_bound_names(node))
    for node in nodes:
        t = type(node)
        if t is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                if isinstance(target, ast.Name) and target.id == name:
                    if not isinstance(node.value, _PLAIN_VALUES):  # type: ignore[attr-defined]
                        return False
                # (a name in a tuple target is bound to nothing known)
        elif t is ast.AnnAssign:
            target = node.target  # type: ignore[attr-defined]
            if isinstance(target, ast.Name) and target.id == name:
                value = node.value  # type: ignore[attr-defined]
                if value is not None and not isinstance(value, _PLAIN_VALUES):
                    return False
                if not _plain_annotation(node.annotation, taken, imports):  # type: ignore[attr-defined]
                    return False
        elif t is ast.arg:
            if node.arg == name and not _plain_annotation(node.annotation, taken, imports):  # type: ignore[attr-defined]
                return False
        elif t is ast.FunctionDef or t is ast.AsyncFunctionDef:
            inner = node.args  # type: ignore[attr-defined]
            first = [*inner.posonlyargs, *inner.args, *inner.kwonlyargs]
            if node is not fn and (node.name == name or (first and first[0].arg == name)):  # type: ignore[attr-defined]
                return False  # a nested def of that name, or a method's self
        elif t is ast.For or t is ast.AsyncFor or t is ast.comprehension or t is ast.NamedExpr:
            if name in _names_in(node.target):  # type: ignore[attr-defined]
                return False  # an item of something, a value bound on the way: maybe typed
        elif t is ast.withitem:
            if node.optional_vars is not None and name in _names_in(node.optional_vars):  # type: ignore[attr-defined]
                return False  # what a context manager gives
        elif t is not ast.Name and name in _bound_names(node):
            return False  # imported, global, nonlocal, a handler's, a pattern's, a class's name
    return True


# The scan of a file asks both the pre-check and the project index about the same tree.
_LAST_WALK: tuple[ast.Module | None, CoroutineWalk | None] = (None, None)


def coroutine_walk(tree: ast.Module) -> CoroutineWalk:
    global _LAST_WALK
    last, walk = _LAST_WALK
    if last is not tree or walk is None:
        walk = CoroutineWalk(tree)
        _LAST_WALK = (tree, walk)
    return walk


def coroutine_calls(tree: ast.Module) -> list[ast.Call]:
    """Calls in the module's coroutines and in the sync functions of the module they call."""
    return coroutine_walk(tree).calls
