"""What one module of the project may hand over as a value: the ``ast`` facts behind
:meth:`ProjectIndex.value <flake8_wfasync.analysis.project_index.ProjectIndex.value>`.

A coroutine that calls ``FILES / name`` on a constant of another module, or a method on what a
factory of another module returns, needs to know what that module binds. :class:`ValueSource`
holds the cheap part of the answer, from the module's ``ast`` alone: its imports, the names it
defines, which of them may hold (or whose functions may return) an instance the resolver
tracks, and its classes' bases. Only a name that may hold one is worth the libcst scope, made
at the first such question.

The facts are small and plain: a ``wfasync check`` run computes them for every file while it
scans (from the ``ast`` tree it parses anyway) and hands them to every process, so that no
module is parsed again only to answer these questions.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from ..knowledge import catalog
from ..source import SourceParseError, ast_parse, decode_source
from .precheck import all_statements, ast_statements, import_bindings

if TYPE_CHECKING:
    from .project_view import ProjectView

__all__ = ["ValueSource", "dotted_base"]


class ValueSource:
    """The ``ast`` facts of one module, and its libcst scope once a question needs it."""

    __slots__ = ("path", "text", "imports", "defined", "holders", "objects", "factories", "classes", "_scope")

    def __init__(self, path: str, text: str | None, imports: dict[str, str], defined: set[str],
                 holders: set[str], objects: set[str], factories: set[str],
                 classes: dict[str, list[str | None] | None] | None = None) -> None:
        self.path = path
        self.text = text  # None: read again from ``path`` if the libcst scope is ever needed
        # Its classes' bases as written (dotted names; None for anything else), None for a
        # class defined twice or with a metaclass: what class_ancestors() follows.
        self.classes = classes or {}
        self.imports = imports
        self.defined = defined
        self.holders = holders  # NAME = <maybe a tracked instance>
        self.objects = objects  # settings = Settings(): a class of the module, asked field by field
        self.factories = factories
        self._scope: Any = None

    @classmethod
    def empty(cls, path: str) -> ValueSource:
        """A module that could not be read or parsed: it hands nothing over."""
        return cls(path, "", {}, set(), set(), set(), set())

    @classmethod
    def read(cls, path: str, index: ProjectView) -> ValueSource:
        """Read and parse the module at ``path``."""
        try:
            with open(path, "rb") as fh:
                text = decode_source(fh.read())
            tree = ast_parse(text, path)
        except (OSError, SourceParseError, RecursionError, MemoryError):
            return cls.empty(path)
        return cls.of_tree(tree, text, index, path)

    @classmethod
    def of_tree(cls, tree: ast.Module, text: str | None, index: ProjectView, path: str) -> ValueSource:
        """The facts of a module already parsed (``text`` may be left out: it is read again
        only if a question needs the libcst scope)."""
        defined: set[str] = set()
        holders: set[str] = set()
        objects: set[str] = set()
        factories: set[str] = set()
        bases: dict[str, list[str | None] | None] = {}
        classes = {s.name for s in tree.body if isinstance(s, ast.ClassDef)}
        for stmt in ast_statements(tree.body):
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                value = stmt.value
                for t in targets:
                    if isinstance(t, ast.Name):
                        defined.add(t.id)
                        if value is not None and _may_be_instance(value):
                            holders.add(t.id)
                        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                                and value.func.id in classes):
                            objects.add(t.id)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(stmt, ast.ClassDef):
                    bases[stmt.name] = (None if stmt.name in defined or stmt.keywords
                                        else [dotted_base(b) for b in stmt.bases])
                elif stmt.name in bases:
                    bases[stmt.name] = None
                defined.add(stmt.name)
                if isinstance(stmt, ast.FunctionDef) and _may_make_instance(stmt):
                    factories.add(stmt.name)
        return cls(path, text, import_bindings(tree, index, path), defined, holders, objects, factories, bases)

    def worth(self, name: str, key: str) -> bool:
        """Whether ``key`` (of first name ``name``) may hold, or return, a tracked instance."""
        if key.partition(".")[0].endswith("()"):
            return name in self.factories
        return name in self.holders or ("." in key and name in self.objects)

    def scope(self, package: str | None) -> Any:
        """The module's libcst scope (:func:`flake8_wfasync.analysis.summaries.module_values`),
        None when it cannot be had."""
        if self._scope is None:
            from .summaries import module_values

            try:
                text = self.text
                if text is None:
                    with open(self.path, "rb") as fh:
                        text = decode_source(fh.read())
                self._scope = module_values(text, self.path, package)
            except (OSError, SourceParseError, RecursionError, MemoryError):
                self._scope = False
        return self._scope or None

    def __getstate__(self) -> tuple[Any, ...]:
        # Sent to every worker: the facts only. The text is on disk, the scope is libcst's.
        return (self.path, self.imports, self.defined, self.holders, self.objects, self.factories, self.classes)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (self.path, self.imports, self.defined, self.holders, self.objects, self.factories, self.classes) = state
        self.text = None
        self._scope = None


def dotted_base(expr: ast.expr) -> str | None:
    """``a.b.C`` (``Generic[T]`` as ``Generic``) as a dotted name, else None."""
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    return ".".join([expr.id, *reversed(parts)])


# The last names of what makes a tracked instance, and of the tracked types (a cheap ``ast``
# filter before libcst, not a rule: the resolver decides).
_MAKERS = frozenset({
    *(q.rpartition(".")[2] for q in catalog.CONSTRUCTORS), "parent", "with_suffix", "Path",
}) - {"replace", "rename", "execute", "submit", "begin", "accept", "readlink", "Event", "Future"}
_TYPE_NAMES = frozenset({
    *(t.rpartition(".")[2] for t in catalog.CONSTRUCTORS.values()), "Path", "TextIOWrapper", "BufferedReader",
    "BufferedWriter", "BufferedRandom", "FileIO", "BaseClient", "ServiceResource",
})


def _may_be_instance(value: ast.expr) -> bool:
    """Whether a module-level value may be an instance the resolver tracks: built by a
    catalog constructor (``Path(...)``, ``boto3.client(...)``), a path division or method."""
    for node in ast.walk(value):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            last = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if last in _MAKERS:
                return True
        if isinstance(node, ast.Attribute) and node.attr in _MAKERS:
            return True
    return False


def _may_make_instance(fn: ast.FunctionDef) -> bool:
    """Whether a module-level function may return a tracked instance: a return annotation
    that names a class, or a ``return`` of such a value."""
    ann = fn.returns
    if ann is not None:
        for node in ast.walk(ann):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name in _TYPE_NAMES or name is not None and name.endswith("Client"):
                return True
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(w in _TYPE_NAMES or w.endswith("Client") for w in re.findall(r"\w+", node.value)):
                    return True
    # (The returns of a nested def or class are their own.)
    return any(type(node) is ast.Return and node.value is not None and _may_be_instance(node.value)
               for node in all_statements(fn.body, into_defs=False))
