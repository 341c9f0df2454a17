"""Names to qualified names: a module's imports, aliases, shadowing and simple local types.

A light, flow-insensitive scope model over libcst nodes (no metadata providers, which cost
several times the parse). A name resolves to a *path*, a dotted string:

- ``"requests.get"``: a module-level callable or attribute reached through imports;
- ``"requests.Session()"``: an instance of ``requests.Session`` (built by a known constructor,
  a class imported from a module, a ``with ... as`` target, or an annotated parameter);
- ``"requests.Session().get"``: an attribute of such an instance;
- ``"[]pathlib.Path()"``: an iterable whose items are such instances (``paths: list[Path]``,
  ``list(root.glob("*"))``): a loop over it binds its items.

A name bound to anything we cannot follow (a parameter, a loop variable, an assignment from
an unknown value) resolves to ``None``: a local called ``open`` or ``requests`` is not the
blocking callable.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import libcst as cst

from ..knowledge import catalog
from . import origins
from .arguments import literal_blocks
from .precheck import relative_module_in

BUILTIN_NAMES = frozenset(dir(builtins))
INSTANCE = "()"
# Prefix of an iterable of instances: "[]T()" holds T() items. Its attributes and calls resolve
# to nothing the catalog knows ("[]T.append"), so a list is never taken for its items.
ITEMS = "[]"
# The package of the module being analysed, in whole-project mode (None otherwise): relative
# imports then resolve to the project's own qualified names.
PACKAGE: ContextVar[str | None] = ContextVar("wfasync_package", default=None)
# In whole-project mode, what a project name holds (a module constant, a field of a settings
# object) or a project function returns (``"pkg.clients.get_client()"``), as a path; None when
# unknown. See :meth:`flake8_wfasync.analysis.project_view.ProjectView.value`.
PROJECT_VALUE: ContextVar[Callable[[str], str | None] | None] = ContextVar("wfasync_project_value", default=None)


@dataclass(eq=False)
class LocalDef:
    """A function or lambda defined in the module (or nested in a function)."""

    node: cst.FunctionDef | cst.Lambda
    name: str
    is_async: bool
    cls: ClassInfo | None = None
    nested: bool = False
    # The function whose body defines it (None at module level), for positions.
    owner: cst.FunctionDef | None = None


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    bases: list[str | None] = field(default_factory=list)
    base_names: list[str] = field(default_factory=list)
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    # self.<attr> -> path, from assignments in its methods (None when unknown or conflicting).
    attrs: dict[str, str | None] = field(default_factory=dict)
    is_workflow: bool = False
    # Base classes defined in the same module, whose methods and attributes self reaches too.
    local_bases: list[ClassInfo] = field(default_factory=list)
    # The scope the class is defined in: where its properties' return values resolve.
    scope: Scope | None = None
    # True while its attributes are being gathered: its properties cannot be read yet.
    building: bool = False


@dataclass(eq=False)
class SelfRef:
    cls: ClassInfo


Binding = str | None | LocalDef | ClassInfo | SelfRef
_UNSET = object()


class Scope:
    __slots__ = ("kind", "names", "parent", "globals_", "owner")

    def __init__(self, kind: str, parent: Scope | None = None,
                 owner: cst.FunctionDef | None = None) -> None:
        self.kind = kind  # "module" | "class" | "function"
        self.owner = owner
        self.names: dict[str, object] = {}
        self.parent = parent
        self.globals_: set[str] = set()

    def bind(self, name: str, value: Binding) -> None:
        """Flow-insensitive: two different bindings of one name make it unknown."""
        if name in self.globals_:
            return
        old = self.names.get(name, _UNSET)
        if old is _UNSET:
            self.names[name] = value
        elif old is not value and old != value:
            self.names[name] = wider(old, value)  # type: ignore[arg-type]

    def lookup(self, name: str) -> Binding:
        scope: Scope | None = self
        first = True
        while scope is not None:
            # Class bodies are not visible from the functions nested in them.
            if first or scope.kind != "class":
                if name not in scope.globals_:
                    v = scope.names.get(name, _UNSET)
                    if v is not _UNSET:
                        return v  # type: ignore[return-value]
            first = False
            scope = scope.parent
        if name in BUILTIN_NAMES:
            return "builtins." + name
        return None


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def resolve_expr(node: cst.BaseExpression, scope: Scope) -> Binding:
    """The path (or local definition) an expression refers to, or None."""
    if type(node) is cst.Name:
        r = scope.lookup(node.value)
        if type(r) is str and "." in r and INSTANCE not in r:
            return _project_value(r) or r
        return r
    if type(node) is cst.Attribute:
        base = resolve_expr(node.value, scope)
        attr = node.attr.value
        if isinstance(base, str):
            if base.endswith(INSTANCE):
                typ = catalog.ATTRIBUTE_TYPES.get(base[:-2] + "." + attr)
                if typ is not None:
                    return typ + INSTANCE  # path.parent
            path = base + "." + attr
            if INSTANCE not in base:
                return _project_value(path) or path
            return path
        if isinstance(base, SelfRef):
            return _self_attribute(base.cls, attr)
        if isinstance(base, ClassInfo):
            m = base.methods.get(attr)
            if m is not None:
                return LocalDef(m, attr, m.asynchronous is not None, base)
        return None
    if type(node) is cst.Call:
        return call_result(node, scope, instances=True)
    if type(node) is cst.BinaryOperation:
        return _division(node, scope)
    if type(node) is cst.IfExp:
        return alternatives((node.body, node.orelse), scope)
    if type(node) is cst.BooleanOperation and type(node.operator) is cst.Or:
        return alternatives((node.left, node.right), scope)
    if type(node) in _COMPREHENSIONS:
        item = resolve_expr(node.elt, comprehension_scope(node, scope))
        if isinstance(item, str) and item.endswith(INSTANCE) and not item.startswith(ITEMS):
            return ITEMS + item
    return None


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp)
_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def _division(node: cst.BinaryOperation, scope: Scope) -> str | None:
    """``root / name`` on a path is a path; so is ``"dir" / root`` (``Path.__rtruediv__``)."""
    if type(node.operator) is not cst.Divide:
        return None
    left = resolve_expr(node.left, scope)
    if isinstance(left, str) and left.endswith(INSTANCE) and left[:-2] in catalog.DIVISION_TYPES:
        return left
    if type(node.left) in _STRINGS:
        right = resolve_expr(node.right, scope)
        if isinstance(right, str) and right.endswith(INSTANCE) and right[:-2] in catalog.DIVISION_TYPES:
            return right
    return None


def alternatives(exprs: Iterable[cst.BaseExpression], scope: Scope) -> str | None:
    """The instance one of several alternatives (``a or B()``, ``x if c else None``, two
    branches of an ``if``) is known to be, when no other alternative is known to be another."""
    return merge_alternatives(None if type(e) is cst.Name and e.value == "None" else value_path(e, scope)
                              for e in exprs)


def wider(a: Binding, b: Binding) -> str | None:
    """What a name bound to two different values holds: nothing known, unless both are
    instances of one type, one maybe of a quieter case of it (``Queue()`` here, ``Queue(5)``
    there: a queue that may be bounded)."""
    if type(a) is not str or type(b) is not str or not a.endswith(INSTANCE) or not b.endswith(INSTANCE):
        return None
    ta, tb = a[:-2], b[:-2]
    ta = catalog.WIDER_TYPES.get(ta, ta)
    return ta + INSTANCE if ta == catalog.WIDER_TYPES.get(tb, tb) else None


def merge_alternatives(values: Iterable[Binding]) -> str | None:
    known: str | None = None
    for v in values:
        if isinstance(v, str) and v.endswith(INSTANCE):
            if known is not None and v != known:
                known = wider(known, v)
                if known is None:
                    return None
                continue
            known = v
        elif v is not None:
            return None  # a function, a class, a module path: not one value of one type
    return known


def _self_attribute(cls: ClassInfo, attr: str, depth: int = 0) -> Binding:
    """``self.<attr>`` in a method of ``cls``: its own attributes and methods first, then
    those of its base classes of the same module, in order."""
    if attr in cls.attrs:
        return cls.attrs[attr]
    m = cls.methods.get(attr)
    if m is not None:
        if _is_property(m):
            return returned_type(m, cls, cls.scope) if cls.scope is not None and not cls.building else None
        return LocalDef(m, attr, m.asynchronous is not None, cls)
    if depth < 8:
        for base in cls.local_bases:
            found = _self_attribute(base, attr, depth + 1)
            if found is not None:
                return found
    return None


def split_instance(path: str) -> tuple[str, str] | None:
    """``"T().a.b"`` -> ``("T", "a.b")``; None when the path is no instance attribute."""
    i = path.rfind(INSTANCE)
    if i < 0:
        return None
    return path[:i], path[i + 3:]


def is_sticky(typ: str) -> bool:
    """Types where any call on any attribute chain blocks (SDK clients)."""
    return catalog.is_any_method_type(typ)


def call_qualname(path: str) -> str | None:
    """The catalog name of a called path: ``"requests.Session().get"`` -> ``"requests.Session.get"``."""
    parts = split_instance(path)
    if parts is None:
        return path
    typ, rest = parts
    if not rest:
        return None  # calling an instance
    if "." not in rest:
        return f"{typ}.{rest}"
    if is_sticky(typ) and typ not in catalog.DIRECT_METHOD_TYPES:
        return f"{typ}.{rest.rpartition('.')[2]}"
    return None


def call_result(node: cst.Call, scope: Scope, instances: bool = False) -> Binding:
    """The path of the value a call returns, when it is a known instance type; with
    ``instances``, also an instance of a class of the module (``Img()``)."""
    target = resolve_expr(node.func, scope)
    if type(target) is ClassInfo:
        return SelfRef(target) if instances else None
    if target in _SAME_ITEMS:
        if len(node.args) == 1 and not node.args[0].star:
            items = resolve_expr(node.args[0].value, scope)
            if isinstance(items, str) and items.startswith(ITEMS):
                return items
        return None
    if type(node.func) is cst.Attribute and isinstance(target, str):
        q = call_qualname(target)
        typ = catalog.ITEM_TYPES.get(q) if q is not None else None
        if typ is not None:
            return ITEMS + typ + INSTANCE  # root.glob("*"): its items are paths
    if not isinstance(target, str):
        if type(target) is LocalDef and type(target.node) is cst.FunctionDef and not target.is_async:
            # A factory of the module: def make() -> LLM, or every return gives one type.
            return returned_type(target.node, target.cls, _module_scope(scope))
        return None
    made = result_of(target)
    if made is None and INSTANCE not in target:
        made = _project_value(target + INSTANCE)  # a factory of another module of the project
    elif target in catalog.QUIET_BUILDS and not literal_blocks(node, catalog.ARGUMENT_CONDITIONS[target]):
        # queue.Queue() is unbounded, sqlite3.connect(":memory:") a database in memory.
        quiet = catalog.QUIET_BUILDS[target]
        return quiet + INSTANCE if quiet is not None else None
    return made


def _project_value(path: str) -> str | None:
    """What the project says ``path`` holds (a constant of another module), in whole-project
    mode; None for anything else."""
    ask = PROJECT_VALUE.get()
    if ask is None or path.startswith("builtins."):
        return None
    return ask(path)


def _module_scope(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


# Factory return types by def, for the file being analysed (the def itself is kept: ids are
# reused once a tree is gone).
_RETURNS: dict[int, tuple[cst.FunctionDef, str | None]] = {}


def returned_type(fn: cst.FunctionDef, cls: ClassInfo | None, outer: Scope) -> str | None:
    """The instance a sync function returns: from its return annotation, else when every
    ``return`` with a value gives the same known instance (``return boto3.client("s3")``)."""
    cached = _RETURNS.get(id(fn))
    if cached is not None and cached[0] is fn:
        return cached[1]
    if len(_RETURNS) > 2048:
        _RETURNS.clear()
    _RETURNS[id(fn)] = (fn, None)  # a factory that calls itself returns nothing known
    if fn.returns is not None:
        typ = annotation_type(fn.returns, outer)
        result = typ + INSTANCE if typ is not None else None
    else:
        result = _inferred_return(fn, cls, outer)
    _RETURNS[id(fn)] = (fn, result)
    return result


def _inferred_return(fn: cst.FunctionDef, cls: ClassInfo | None, outer: Scope) -> str | None:
    returns = [s.value for s in iter_statements(fn.body.body) if type(s) is cst.Return and s.value is not None
               and not (type(s.value) is cst.Name and s.value.value == "None")]
    if not returns:
        return None
    fscope = Scope("function", outer, fn)
    bind_params(fn, fscope, outer, cls)
    collect_bindings(fn.body.body, fscope)
    values = [value_path(v, fscope) for v in returns]
    known = merge_alternatives(values)
    return known if known is not None and all(v == known for v in values) else None


def result_of(target: str) -> str | None:
    if target.startswith("llama_index."):
        made = origins.result_type(target, INSTANCE)
        if made is not None:
            return made + INSTANCE
    parts = split_instance(target)
    if parts is None:
        typ = catalog.constructed_type(target)
        if typ is not None:
            return typ + INSTANCE
        last = target.rpartition(".")[2]
        if "." in target and last[:1].isupper() and not target.startswith("builtins."):
            return target + INSTANCE  # a class imported from a module
        return None
    typ, rest = parts
    if not rest:
        return None
    q = call_qualname(target)
    if q is not None:
        made = catalog.constructed_type(q)
        if made is not None:
            return made + INSTANCE
    if is_sticky(typ) and typ not in catalog.PLAIN_RESULT_TYPES:
        return typ + INSTANCE
    if typ in catalog.CHAIN_TYPES and q is not None and catalog.match_qualname(q) is None:
        return typ + INSTANCE  # service.files().list(...): a request built step by step
    return None


def annotation_type(ann: cst.Annotation | None, scope: Scope) -> str | None:
    if ann is None:
        return None
    typ = type_of_annotation(ann.annotation, scope)
    return typ if type(typ) is str else None


def annotation_binding(ann: cst.Annotation | None, scope: Scope) -> Binding:
    """What a name annotated with ``ann`` holds: an instance of a known type, of a class of
    the module (``img: Img``, ``Optional["Img"]``), or unknown."""
    if ann is None:
        return None
    typ = type_of_annotation(ann.annotation, scope, local=True)
    if type(typ) is ClassInfo:
        return SelfRef(typ)
    return typ + INSTANCE if typ else None


_TYPING = frozenset({"typing", "typing_extensions"})
# typing forms that hold one type: Optional[X], Annotated[X, ...], ClassVar[X], ...
_WRAPPERS = frozenset({"Optional", "Annotated", "ClassVar", "Final", "Required", "NotRequired", "ReadOnly"})
# Generic containers whose first argument is the type of their items (list[Path], Sequence[Path]).
_CONTAINERS = frozenset({
    *(f"builtins.{n}" for n in ("list", "set", "frozenset")),
    *(f"{m}.{n}" for m in ("typing", "typing_extensions")
      for n in ("List", "Set", "FrozenSet", "Sequence", "MutableSequence", "Iterable", "Iterator",
                "Collection", "AbstractSet", "MutableSet", "Generator")),
    *(f"collections.abc.{n}" for n in ("Sequence", "MutableSequence", "Iterable", "Iterator", "Collection",
                                       "Set", "MutableSet", "Generator")),
})
_TUPLES = frozenset({"builtins.tuple", "typing.Tuple", "typing_extensions.Tuple"})


def type_of_annotation(expr: cst.BaseExpression, scope: Scope, depth: int = 0,
                       local: bool = False) -> str | ClassInfo | None:
    """The class an annotation says a value is, seen through ``Optional``, ``| None``,
    ``Union[..., None]``, ``Annotated`` and string annotations; None for a union of two
    classes or anything else. A class of the module is its :class:`ClassInfo` with
    ``local``, else None."""
    t = type(expr)
    if t is cst.SimpleString or t is cst.ConcatenatedString:
        inner = _string_annotation(expr.evaluated_value) if depth < 3 else None
        return type_of_annotation(inner, scope, depth + 1, local) if inner is not None else None
    if t is cst.BinaryOperation:
        if type(expr.operator) is not cst.BitOr:
            return None
        return _one_class((expr.left, expr.right), scope, depth, local)
    if t is cst.Subscript:
        base = resolve_expr(expr.value, scope)
        if not isinstance(base, str):
            return None
        module, _, name = base.rpartition(".")
        args = [el.slice.value for el in expr.slice if type(el.slice) is cst.Index]
        if base in _CONTAINERS or (base in _TUPLES and len(args) == 2 and type(args[1]) is cst.Ellipsis):
            item = type_of_annotation(args[0], scope, depth) if args and depth < 3 else None
            return ITEMS + item if item is not None and not item.startswith(ITEMS) else None
        if module not in _TYPING:
            # A generic class with its parameters (subprocess.Popen[bytes]) is that class.
            return type_of_annotation(expr.value, scope, depth, local) if depth < 3 else None
        if name == "Union":
            return _one_class(args, scope, depth, local)
        if name in _WRAPPERS and args:
            return type_of_annotation(args[0], scope, depth, local)
        return None
    target = resolve_expr(expr, scope)
    if local and type(target) is ClassInfo:
        return target
    if isinstance(target, str) and INSTANCE not in target and not target.startswith("builtins."):
        if target.rpartition(".")[2][:1].isupper() and target not in catalog.ABSTRACT_ANNOTATIONS:
            return origins.annotated_type(target) or catalog.annotated_type(target) or target
    return None


def _one_class(members: Iterable[cst.BaseExpression], scope: Scope, depth: int,
               local: bool = False) -> str | ClassInfo | None:
    """The class of a union that is one class or None."""
    flat: list[cst.BaseExpression] = []
    todo = list(members)
    while todo:
        m = todo.pop()
        if type(m) is cst.BinaryOperation and type(m.operator) is cst.BitOr:
            todo += (m.left, m.right)
        elif not (type(m) is cst.Name and m.value == "None"):
            flat.append(m)
    return type_of_annotation(flat[0], scope, depth, local) if len(flat) == 1 else None


@functools.lru_cache(maxsize=512)
def _string_annotation(text: str | bytes | None) -> cst.BaseExpression | None:
    if not isinstance(text, str):
        return None
    try:
        return cst.parse_expression(text.strip())
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None


# --- binding collection ----------------------------------------------------------------------

def module_name(node: cst.BaseExpression | None) -> str:
    return dotted(node) or "" if node is not None else ""


def bind_import(stmt: cst.Import | cst.ImportFrom, scope: Scope) -> None:
    if type(stmt) is cst.Import:
        for alias in stmt.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                scope.bind(alias.asname.name.value, full)
            else:
                root = full.split(".", 1)[0]
                scope.bind(root, root)
        return
    if type(stmt.names) is cst.ImportStar:
        return
    mod = module_name(stmt.module)
    relative = len(stmt.relative) > 0
    if relative:
        mod = relative_module(len(stmt.relative), mod)
    for alias in stmt.names:
        name = dotted(alias.name) or ""
        local = name
        if alias.asname is not None and type(alias.asname.name) is cst.Name:
            local = alias.asname.name.value
        # Relative imports are the project's own code: never a catalog name, and known only
        # in whole-project mode.
        scope.bind(local, None if not mod else f"{mod}.{name}")


def relative_module(level: int, mod: str) -> str:
    """``from ..db import x`` in package ``pkg.sub`` -> ``"pkg.db"``; "" when unknown."""
    return relative_module_in(PACKAGE.get(), level, mod)


def bind_target(target: cst.BaseExpression, scope: Scope, value: Binding) -> None:
    if type(target) is cst.Name:
        scope.bind(target.value, value)
    elif type(target) in (cst.Tuple, cst.List):
        for el in target.elements:
            bind_target(el.value, scope, None)
    elif type(target) is cst.StarredElement:
        bind_target(target.value, scope, None)


def _block_statements(body: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    if type(body) is cst.IndentedBlock:
        yield from body.body
    else:
        yield from body.body  # SimpleStatementSuite


def iter_statements(stmts) -> Iterator[cst.CSTNode]:
    """Every statement of a block, descending into compound statements but not into
    function or class bodies (those are their own scopes)."""
    for stmt in stmts:
        if type(stmt) is cst.SimpleStatementLine:
            yield from stmt.body
            continue
        yield stmt
        if type(stmt) in (cst.FunctionDef, cst.ClassDef):
            continue
        yield from iter_statements(sub_blocks(stmt))


def sub_blocks(stmt: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Statements directly held by a compound statement, in source order."""
    body = getattr(stmt, "body", None)
    if type(body) is cst.IndentedBlock or type(body) is cst.SimpleStatementSuite:
        yield from _block_statements(body)
    if type(stmt) is cst.Try or type(stmt) is cst.TryStar:
        for h in stmt.handlers:
            yield from _block_statements(h.body)
    if type(stmt) is cst.Match:
        for case in stmt.cases:
            yield from _block_statements(case.body)
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        if type(orelse) is cst.If:
            yield orelse
            break
        yield from _block_statements(orelse.body)
        break
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        yield from _block_statements(final.body)


def collect_bindings(stmts, scope: Scope, cls_of_self: ClassInfo | None = None,
                     line: StraightLine | None = None) -> None:
    """Bind every name a block assigns (flow-insensitive, in source order; the names of
    ``line`` straight-line, see :class:`StraightLine`)."""
    branches: dict[int, Binding | object] = {}
    direct = line.direct if line is not None else ()
    for stmt in iter_statements(stmts):
        if direct and id(stmt) in direct:
            line.assign(stmt)  # type: ignore[union-attr,arg-type]
        elif type(stmt) is cst.If:
            branches.update(branch_merges(stmt, scope, _name_key))
        elif type(stmt) is cst.Try:
            branches.update(dict.fromkeys(_fallback_imports(stmt), _UNSET))
        elif id(stmt) in branches:
            value = branches[id(stmt)]
            if value is not _UNSET:
                bind_target(_single_target(stmt), scope, value)  # type: ignore[arg-type]
        elif type(stmt) in (cst.Import, cst.ImportFrom):
            bind_import(stmt, scope)
        elif type(stmt) is cst.Assign:
            value = value_path(stmt.value, scope)
            for t in stmt.targets:
                bind_target(t.target, scope, value if len(stmt.targets) == 1 else None)
        elif type(stmt) is cst.AnnAssign:
            bind_target(stmt.target, scope, annotated_value(stmt, scope))
        elif type(stmt) is cst.AugAssign:
            bind_target(stmt.target, scope, None)
        elif type(stmt) is cst.FunctionDef:
            scope.bind(stmt.name.value, LocalDef(stmt, stmt.name.value, stmt.asynchronous is not None,
                                                 nested=scope.kind == "function", owner=scope.owner))
        elif type(stmt) is cst.ClassDef:
            # Known before the walk reaches it: module-level instances (settings = Settings())
            # and calls placed above the class resolve to it.
            scope.bind(stmt.name.value, class_info(stmt, scope))
        elif type(stmt) in (cst.For,):
            bind_target(stmt.target, scope, item_value(stmt.iter, scope))
        elif type(stmt) is cst.With:
            for item in stmt.items:
                if item.asname is not None:
                    bind_target(item.asname.name, scope, with_value(item.item, scope))
        elif type(stmt) in (cst.Try, cst.TryStar):
            for h in stmt.handlers:
                if h.name is not None:
                    bind_target(h.name.name, scope, None)
        elif type(stmt) in (cst.Global, cst.Nonlocal):
            for item in stmt.names:
                scope.names.pop(item.name.value, None)
                scope.globals_.add(item.name.value)
        elif type(stmt) is cst.Del:
            pass


def value_path(value: cst.BaseExpression, scope: Scope) -> Binding:
    """What a name assigned from ``value`` is: an alias, an instance, a lambda, or unknown."""
    t = type(value)
    if t is cst.Call:
        target = resolve_expr(value.func, scope)
        if type(target) is ClassInfo:
            return SelfRef(target)  # an instance of a class of the module
        return call_result(value, scope)
    if t is cst.Name or t is cst.Attribute:
        r = resolve_expr(value, scope)
        return r if isinstance(r, (str, LocalDef, SelfRef)) else None
    if t is cst.Lambda:
        return LocalDef(value, "<lambda>", False, nested=scope.kind == "function", owner=scope.owner)
    if t is cst.BinaryOperation or t is cst.IfExp or t is cst.BooleanOperation or t in _COMPREHENSIONS:
        return resolve_expr(value, scope)
    return None


def annotated_value(stmt: cst.AnnAssign, scope: Scope) -> Binding:
    """``x: T = v``: what ``v`` is when known, else what ``T`` says (``f: TextIOWrapper = ...``)."""
    value = value_path(stmt.value, scope) if stmt.value is not None else None
    if (isinstance(value, str) and value != "builtins.None") or type(value) is SelfRef:
        return value  # (x: Optional[T] = None declares T)
    return annotation_binding(stmt.annotation, scope)


def item_value(it: cst.BaseExpression, scope: Scope) -> str | None:
    """What a loop over ``it`` binds: a path for each item of ``root.glob(...)``, of
    ``paths: list[Path]``, of ``sorted(root.iterdir())``."""
    v = resolve_expr(it, scope)
    if isinstance(v, str) and v.startswith(ITEMS):
        return v[len(ITEMS):]
    return None


# Builtins that return the items of their first argument, in a list, a tuple or an iterator.
_SAME_ITEMS = frozenset(f"builtins.{n}" for n in ("list", "tuple", "set", "frozenset", "sorted", "reversed", "iter"))


def comprehension_scope(node: cst.BaseComp, scope: Scope) -> Scope:
    """The scope of a comprehension's element and conditions: its loop targets bound to the
    items of what they loop over (``[p.read_text() for p in root.glob("*.md")]``)."""
    inner = Scope("function", scope, scope.owner)
    for_in: cst.CompFor | None = node.for_in
    first = True
    while for_in is not None:
        # The first iterable is evaluated outside, the others inside the comprehension.
        bind_target(for_in.target, inner, item_value(for_in.iter, scope if first else inner))
        first = False
        for_in = for_in.inner_for_in
    return inner


_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


def _fallback_imports(stmt: cst.Try) -> list[int]:
    """Ids of the imports in ``except ImportError:`` that only rebind names the ``try`` body
    imports (``from pysqlite2 import dbapi2 as sqlite3``): a stand-in for the same module, not
    a second binding that would make the name unknown."""
    imported: set[str] = set()
    for small in _small_statements(stmt.body):
        if type(small) in (cst.Import, cst.ImportFrom):
            imported.update(_import_names(small))
    out: list[int] = []
    for handler in stmt.handlers:
        if handler.type is None or (dotted(handler.type) or "") not in _IMPORT_ERRORS:
            continue
        for small in _small_statements(handler.body):
            if type(small) in (cst.Import, cst.ImportFrom):
                names = _import_names(small)
                if names and names <= imported:
                    out.append(id(small))
    return out


def _small_statements(body: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    """The simple statements directly in a block (not those of its compound statements)."""
    for line in _block_statements(body):
        if type(line) is cst.SimpleStatementLine:
            yield from line.body
        elif type(line) is not cst.IndentedBlock and isinstance(line, cst.BaseSmallStatement):
            yield line


def _import_names(stmt: cst.Import | cst.ImportFrom) -> set[str]:
    if type(stmt.names) is cst.ImportStar:
        return set()
    out = set()
    for alias in stmt.names:
        if alias.asname is not None and type(alias.asname.name) is cst.Name:
            out.add(alias.asname.name.value)
        else:
            name = dotted(alias.name) or ""
            out.add(name.split(".", 1)[0] if type(stmt) is cst.Import else name)
    return out


def _single_target(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    if type(stmt) is cst.Assign and len(stmt.targets) == 1:
        return stmt.targets[0].target
    if type(stmt) is cst.AnnAssign:
        return stmt.target
    return None


def _name_key(target: cst.BaseExpression) -> str | None:
    return target.value if type(target) is cst.Name else None


def branch_merges(stmt: cst.If, scope: Scope, key_of) -> dict[int, Binding | object]:
    """``if c: x = given`` / ``else: x = httpx.Client()``: one name set on both branches of an
    ``if`` is the instance the known branch makes, when the other one is unknown. Returns the
    value to bind at the first assignment's id, and ``_UNSET`` (bind nothing) at the second."""
    orelse = stmt.orelse
    if type(orelse) is not cst.Else:
        return {}
    sides = [_assignments(stmt.body, key_of), _assignments(orelse.body, key_of)]
    out: dict[int, Binding | object] = {}
    for key, first in sides[0].items():
        second = sides[1].get(key)
        if first is None or second is None:
            continue
        known = merge_alternatives(_assigned_value(a, scope) for a in (first, second))
        if known is not None:
            out[id(first)] = known
            out[id(second)] = _UNSET
    return out


def _assignments(body: cst.BaseSuite, key_of) -> dict[str, cst.CSTNode | None]:
    """Keys assigned by the direct statements of a block (None when assigned twice)."""
    out: dict[str, cst.CSTNode | None] = {}
    for stmt in _block_statements(body):
        if type(stmt) is not cst.SimpleStatementLine:
            continue
        for small in stmt.body:
            target = _single_target(small)
            key = key_of(target) if target is not None else None
            if key is not None:
                out[key] = small if key not in out else None
    return out


def _assigned_value(stmt: cst.CSTNode, scope: Scope) -> Binding:
    if type(stmt) is cst.AnnAssign:
        return annotated_value(stmt, scope)
    return value_path(stmt.value, scope)  # type: ignore[attr-defined]


def with_value(item: cst.BaseExpression, scope: Scope) -> str | None:
    # A context manager is assumed to return itself from __enter__ (files, sessions, pools).
    if type(item) is cst.Call:
        return call_result(item, scope)
    return None


class StraightLine:
    """Straight-line rebinding in a function body: a name bound only by plain assignments at
    the top level of the body (and maybe as a parameter) holds, after each of them, what that
    one assigned (``path = Path(path)``; ``f: int = 7`` then ``f: TextIOWrapper = ...``), where
    the flow-insensitive scope would call two different bindings unknown. A name declared with
    a known type (an annotated parameter or assignment) keeps it through plain assignments,
    as a type checker reads it.

    Made before :func:`collect_bindings` (which then assigns those names in source order, so
    that a loop or ``with`` further down sees the value of its place); :meth:`rewind` before
    the walk, and :meth:`after` once each top-level statement is walked."""

    __slots__ = ("scope", "at", "direct", "params", "declared", "_declared_params")

    def __init__(self, scope: Scope, at: dict[int, list[cst.Assign | cst.AnnAssign]],
                 params: dict[str, Binding], declared: dict[str, str | None]) -> None:
        self.scope = scope
        self.at = at
        self.direct = {id(small) for smalls in at.values() for small in smalls}
        self.params = params
        self._declared_params = declared
        self.declared = dict(declared)

    @classmethod
    def plan(cls, fn: cst.FunctionDef, scope: Scope) -> StraightLine | None:
        """For a function whose parameters are bound in ``scope`` (and nothing else yet)."""
        body = fn.body.body
        top: dict[int, list[cst.Assign | cst.AnnAssign]] = {}
        names: set[str] = set()
        for line in body:
            if type(line) is not cst.SimpleStatementLine:
                continue
            for small in line.body:
                target = _single_target(small)
                if type(target) is cst.Name:
                    top.setdefault(id(line), []).append(small)  # type: ignore[arg-type]
                    names.add(target.value)
        if not top:
            return None
        # Names bound anywhere else (a nested block, a loop, a tuple target...) stay flow-insensitive.
        direct = {id(small) for smalls in top.values() for small in smalls}
        for stmt in iter_statements(body):
            if id(stmt) not in direct:
                names.difference_update(_bound_names(stmt))
        if not names:
            return None
        at = {}
        for key, smalls in top.items():
            kept = [s for s in smalls if _single_target(s).value in names]  # type: ignore[union-attr]
            if kept:
                at[key] = kept
        params: dict[str, Binding] = {}
        declared: dict[str, str | None] = {}
        for param in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params):
            name = param.name.value
            if name in names:
                v = scope.names.get(name)
                params[name] = v  # type: ignore[assignment]
                if param.annotation is not None and isinstance(v, str):
                    declared[name] = v
        return cls(scope, at, params, declared)

    def assign(self, small: cst.Assign | cst.AnnAssign) -> None:
        name = small.target.value if type(small) is cst.AnnAssign else small.targets[0].target.value  # type: ignore[attr-defined]
        scope, declared = self.scope, self.declared
        if type(small) is cst.AnnAssign:
            typ = annotation_type(small.annotation, scope)
            declared[name] = typ + INSTANCE if typ is not None else None
            v: Binding = annotated_value(small, scope)
        elif declared.get(name) is not None:
            v = declared[name]
        else:
            v = value_path(small.value, scope)
        scope.names[name] = v

    def rewind(self) -> None:
        """Back to the function's entry: parameters as passed, other names not bound yet."""
        self.declared = dict(self._declared_params)
        names = self.scope.names
        for smalls in self.at.values():
            for small in smalls:
                name = _single_target(small).value  # type: ignore[union-attr]
                names[name] = self.params.get(name)

    def after(self, stmt: cst.CSTNode) -> None:
        smalls = self.at.get(id(stmt))
        if smalls is not None:
            for small in smalls:
                self.assign(small)


def _bound_names(stmt: cst.CSTNode) -> Iterator[str]:
    """Names a statement binds in its own scope (not those of nested functions' bodies)."""
    t = type(stmt)
    targets: list[cst.BaseExpression] = []
    if t is cst.Assign:
        targets = [x.target for x in stmt.targets]
    elif t is cst.AnnAssign or t is cst.AugAssign or t is cst.For:
        targets = [stmt.target]
    elif t is cst.With:
        targets = [item.asname.name for item in stmt.items if item.asname is not None]
    elif t is cst.Try or t is cst.TryStar:
        for h in stmt.handlers:
            if h.name is not None:
                targets.append(h.name.name)
    elif t is cst.FunctionDef or t is cst.ClassDef:
        yield stmt.name.value
    elif t is cst.Import or t is cst.ImportFrom:
        yield from _import_names(stmt)
    elif t is cst.Global or t is cst.Nonlocal:
        for item in stmt.names:
            yield item.name.value
    elif t is cst.Del:
        targets = [stmt.target]
    while targets:
        target = targets.pop()
        tt = type(target)
        if tt is cst.Name:
            yield target.value
        elif tt is cst.Tuple or tt is cst.List:
            targets.extend(el.value for el in target.elements)
        elif tt is cst.StarredElement:
            targets.append(target.value)


def bind_params(fn: cst.FunctionDef | cst.Lambda, scope: Scope, outer: Scope,
                cls: ClassInfo | None = None) -> None:
    p = fn.params
    params = [*p.posonly_params, *p.params, *p.kwonly_params]
    if type(p.star_arg) is cst.Param:
        params.append(p.star_arg)
    if p.star_kwarg is not None:
        params.append(p.star_kwarg)
    first = True
    for param in params:
        name = param.name.value
        if first and cls is not None and type(fn) is cst.FunctionDef and not _is_static(fn):
            scope.names[name] = SelfRef(cls) if not _is_classmethod(fn) else cls
        else:
            scope.names[name] = annotation_binding(param.annotation, outer)
        first = False


def _decorator_names(fn: cst.FunctionDef) -> Iterator[str]:
    for d in fn.decorators:
        expr = d.decorator
        if type(expr) is cst.Call:
            expr = expr.func
        name = dotted(expr)
        if name:
            yield name


def _is_static(fn: cst.FunctionDef) -> bool:
    return any(n.rpartition(".")[2] == "staticmethod" for n in _decorator_names(fn))


def _is_classmethod(fn: cst.FunctionDef) -> bool:
    return any(n.rpartition(".")[2] == "classmethod" for n in _decorator_names(fn))


def _is_property(fn: cst.FunctionDef) -> bool:
    return any(n.rpartition(".")[2] in ("property", "cached_property") for n in _decorator_names(fn))


WORKFLOW_BASES = frozenset({
    "workflows.Workflow", "workflows.workflow.Workflow", "runtime.Workflow",
    "runtime.engine.workflow.Workflow", "llama_index.core.workflow.Workflow",
    "llama_index.core.workflow.workflow.Workflow",
})


def class_info(node: cst.ClassDef, scope: Scope) -> ClassInfo:
    info = ClassInfo(node, node.name.value, scope=scope, building=True)
    for arg in node.bases:
        if arg.keyword is not None:
            continue
        r = resolve_expr(arg.value, scope)
        info.bases.append(r if isinstance(r, str) else None)
        info.base_names.append((dotted(arg.value) or "").rpartition(".")[2])
        if isinstance(r, ClassInfo):
            info.local_bases.append(r)
            if r.is_workflow:
                info.is_workflow = True
    if any(b in WORKFLOW_BASES for b in info.bases if b) or "Workflow" in info.base_names:
        info.is_workflow = True
    class_attrs: dict[str, str | None] = {}
    # Annotated fields (dataclass, pydantic, attrs, or a plain declaration): the type they
    # declare is what every instance holds, whatever its methods assign.
    declared: dict[str, Binding] = {}
    unset: set[str] = set()
    # self.x = self.connection.cursor(): read once every attribute and property is known.
    later: list[tuple[str, cst.BaseExpression, Scope]] = []
    for stmt in iter_statements(_block_statements(node.body)):
        if type(stmt) is cst.AnnAssign and type(stmt.target) is cst.Name:
            bound = annotation_binding(stmt.annotation, scope)
            if bound is not None:
                declared[stmt.target.value] = bound
        if type(stmt) is cst.FunctionDef:
            info.methods[stmt.name.value] = stmt
        elif type(stmt) in (cst.Assign, cst.AnnAssign) and stmt.value is not None:
            # Class-level values are what self.<name> reads until an instance sets its own.
            targets = [t.target for t in stmt.targets] if type(stmt) is cst.Assign else [stmt.target]
            v = value_path(stmt.value, scope)
            for t in targets:
                if type(t) is cst.Name:
                    class_attrs[t.value] = v if isinstance(v, str) and len(targets) == 1 else None
    # self.x = <value> in any method; resolved in a scope holding the method's parameters.
    for meth in info.methods.values():
        self_name = _first_param(meth)
        if self_name is None or _is_static(meth) or _is_classmethod(meth):
            continue
        mscope: Scope | None = None
        branches: dict[int, Binding | object] = {}

        def self_key(target: cst.BaseExpression, self_name: str = self_name) -> str | None:
            if type(target) is cst.Attribute and type(target.value) is cst.Name and target.value.value == self_name:
                return target.attr.value
            return None

        for stmt in iter_statements(_block_statements(meth.body)):
            targets: list[cst.BaseExpression] = []
            value = None
            if type(stmt) is cst.If and type(stmt.orelse) is cst.Else:
                if mscope is None:
                    mscope = Scope("function", scope)
                    bind_params(meth, mscope, scope, info)
                branches.update(branch_merges(stmt, mscope, self_key))
                continue
            if id(stmt) in branches:
                merged = branches[id(stmt)]
                target = _single_target(stmt)
                if merged is not _UNSET and target is not None:
                    info.attrs[target.attr.value] = merged  # type: ignore[assignment,attr-defined]
                continue
            if type(stmt) is cst.Assign:
                targets = [t.target for t in stmt.targets]
                value = stmt.value
            elif type(stmt) is cst.AnnAssign:
                targets = [stmt.target]
                value = stmt.value
            for t in targets:
                if (type(t) is cst.Attribute and type(t.value) is cst.Name
                        and t.value.value == self_name):
                    if mscope is None:
                        # Built only for methods that set attributes: parameters shadow.
                        mscope = Scope("function", scope)
                        bind_params(meth, mscope, scope, info)
                    if type(stmt) is cst.AnnAssign:
                        v = annotated_value(stmt, mscope)
                        if v is not None:
                            declared.setdefault(t.attr.value, v)
                    else:
                        v = value_path(value, mscope) if value is not None else None
                        if v is None and value is not None and _reads_self(value, self_name):
                            later.append((t.attr.value, value, mscope))
                            continue
                    v = v if isinstance(v, str) else None
                    attr = t.attr.value
                    if type(value) is cst.Name and value.value == "None":
                        # self.x = None: not set yet (a lazy attribute), no type of its own.
                        if attr not in info.attrs:
                            info.attrs[attr] = None
                            unset.add(attr)
                        continue
                    _set_attr(info, unset, attr, v)
    info.building = False
    for attr, value, mscope in later:
        v = value_path(value, mscope)
        _set_attr(info, unset, attr, v if isinstance(v, str) else None)
    for attr, v in class_attrs.items():
        if attr not in info.attrs:
            info.attrs[attr] = v
        elif v == "builtins.None":
            continue  # _conn = None on the class: a default until a method sets it
        elif info.attrs[attr] != v:
            info.attrs[attr] = None
    info.attrs.update(declared)
    return info


def _set_attr(info: ClassInfo, unset: set[str], attr: str, v: str | None) -> None:
    """One more assignment of ``self.<attr>``: two different values make it unknown."""
    if attr in unset:
        unset.discard(attr)
        info.attrs[attr] = v
    elif attr in info.attrs and info.attrs[attr] != v:
        info.attrs[attr] = wider(info.attrs[attr], v)
    else:
        info.attrs[attr] = v


def _reads_self(value: cst.BaseExpression, self_name: str) -> bool:
    """``self.a.b(...)``: a value read off the instance itself."""
    node = value
    while True:
        t = type(node)
        if t is cst.Call:
            node = node.func
        elif t is cst.Attribute:
            node = node.value
        else:
            return t is cst.Name and node.value == self_name


def _first_param(fn: cst.FunctionDef) -> str | None:
    p = fn.params
    if p.posonly_params:
        return p.posonly_params[0].name.value
    if p.params:
        return p.params[0].name.value
    return None


STEP_DECORATORS = frozenset({
    "runtime.step", "runtime.engine.steps.step", "workflows.step", "workflows.decorators.step",
    "llama_index.core.workflow.step", "llama_index.core.workflow.decorators.step",
})


def is_step(fn: cst.FunctionDef, scope: Scope, cls: ClassInfo | None) -> bool:
    for d in fn.decorators:
        expr = d.decorator
        if type(expr) is cst.Call:
            expr = expr.func
        r = resolve_expr(expr, scope)
        if isinstance(r, str) and r in STEP_DECORATORS:
            return True
        name = dotted(expr)
        if name and name.rpartition(".")[2] == "step" and cls is not None and cls.is_workflow:
            return True
    return False
