"""The project's own modules and which of their functions block (WFA201 across modules).

Built once per run of ``wfasync check`` (:meth:`ProjectIndex.build`), before any file is
analysed, and handed to every worker; the flake8 plugin, which sees one file at a time, gets a
lazy one per project root and process (:func:`lazy_index_for`) that summarises only the modules
its files call into.

Cheap by construction:

- module names come from the file list and ``__init__.py`` files, no import machinery;
- only the modules of project functions that coroutines call (found with an ``ast`` pass over
  the files that hold coroutines), and of the project functions those call, are summarised:
  from the ``ast`` alone while that shows the functions asked for cannot block by themselves,
  else with one libcst parse and the analyzer's own walk
  (:func:`flake8_wfasync.analysis.summaries.summarize`); a module whose ``ast`` summary turns out to
  block through another module is parsed then, so that its chains name its own helpers;
- summaries are kept per file content in the cache folder, so an unchanged tree re-links
  summaries instead of re-parsing;
- linking is a reverse breadth-first search over the summaries: every function gets its
  shortest chain to a blocking call, recursion and import cycles included.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import os
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import replace_file
from ..config import Config
from ..knowledge.findings import Chain
from ..source import SourceParseError, ast_parse, decode_source, parse_quietly
from ..workers import default_jobs, fork_map
from . import guard_logic
from .code_digest import analysis_digest
from .precheck import ast_project_calls, coroutine_walk
from .value_sources import ValueSource

if TYPE_CHECKING:
    import libcst as cst

# (summaries, and libcst with it, is imported only where a module is summarised: a run scans
# its files, and links an index whose summaries all come from the cache, without libcst.)

__all__ = ["ProjectIndex", "build_project_index", "lazy_index_for", "module_name_for"]

_FORMAT = 2


def module_name_for(path: str, packages: dict[str, list[str]] | None = None) -> str:
    """``pkg/sub/db.py`` -> ``pkg.sub.db`` when ``pkg`` and ``sub`` hold an ``__init__.py``;
    a file in a folder without one is a top-level module named by its stem. ``packages``:
    folder -> its package's parts, kept by a caller naming many files of the same folders."""
    path = os.path.abspath(path)
    folder, name = os.path.split(path)
    stem = name.removesuffix(".py")
    parts = [] if stem == "__init__" else [stem]
    package = packages.get(folder) if packages is not None else None
    if package is None:
        package = _package_parts(folder)
        if packages is not None:
            packages[folder] = package
    parts[:0] = package
    return ".".join(parts) if parts else stem


def _package_parts(folder: str) -> list[str]:
    parts: list[str] = []
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, pkg = os.path.split(folder)
        parts.insert(0, pkg)
        if not pkg:
            break
    return parts


class ProjectIndex:
    """Module name <-> file, each summarised module's functions, and their linked chains.

    Picklable plain data: workers get a copy once. The analysis asks it what
    :class:`flake8_wfasync.analysis.project_view.ProjectView` says; the runner asks
    ``digest_for``, ``take_parsed``, ``watch`` and ``watched``."""

    def __init__(self, modules: dict[str, str], config: Config, lazy_root: str | None = None) -> None:
        # module name -> file path as shown; absolute path -> module name
        self.files: dict[str, str] = dict(modules)
        self.by_path: dict[str, str] = {os.path.abspath(p): m for m, p in modules.items()}
        self.roots: set[str] = {m.partition(".")[0] for m in modules}
        self.config = config
        self.summaries: dict[str, dict[str, Any]] = {}
        self.chains: dict[tuple[str, str], Chain] = {}
        self.tags: dict[str, str] = {}
        self.lazy_root = lazy_root
        self._linked = True
        self._building = False
        self._store: _SummaryStore | None = None  # while building only
        # Libcst modules that summarising parsed, kept for the analysis of the same files.
        self._keep: set[str] = set()
        self._parsed: dict[str, tuple[str, Any]] = {}
        self._asking: tuple[str, list[str] | None] | None = None
        # Files whose summaries must come from libcst: an ast-only one proved not enough.
        self._exact: set[str] = set()
        # The functions whose callees are summarised (what the chains of the run rest on).
        self._reached: set[tuple[str, str]] = set()
        self._linking = False
        self._settled = False  # finish() is over
        self._followed: set[str] = set()  # the names whose closure is summarised
        self._asked_now: set[str] | None = None  # what the file being analysed asks (watch())
        self._demands: dict[str, list[str]] = {}  # absolute path -> the names its tag covers
        self._late_store: _SummaryStore | None = None
        self._trees: dict[str, tuple[str, ast.Module]] = {}  # see _summarise
        # value(): answers by name, and the module scopes they come from (this process only).
        self._values: dict[str, str | None] = {}
        self._value_scopes: dict[str, ValueSource] = {}
        # guarded(): the composed ways to block by function, made again after each link.
        self._guarded: dict[tuple[str, str], dict[str, Any] | None] = {}
        # class_ancestors(): answers by name, with the files each rests on (this process only),
        # and the files read for the summary being made (it is kept only while they are).
        self._ancestors: dict[str, tuple[frozenset[str] | None, frozenset[str]]] = {}
        self._class_files: set[str] | None = None

    # -- what the analyzer asks ----------------------------------------------------------------

    def module_of(self, path: str) -> str | None:
        ap = os.path.abspath(path)
        m = self.by_path.get(ap)
        if m is None and self.lazy_root is not None and os.path.isfile(ap):
            m = module_name_for(ap)
            self._add_module(m, ap)
        return m

    def package_of(self, path: str) -> str | None:
        m = self.module_of(path)
        if m is None:
            return None
        if os.path.basename(path) == "__init__.py":
            return m
        return m.rpartition(".")[0]

    def is_project(self, qualname: str) -> bool:
        root = qualname.partition(".")[0]
        if root in self.roots:
            return True
        if self.lazy_root is not None:
            return self._find_module(root) is not None
        return False

    def value(self, qualname: str) -> str | None:
        """What the project name ``qualname`` holds, or what the function returns when it ends
        with ``()``, as a resolver path (see :meth:`ProjectView.value`); None when unknown.
        The module is parsed with libcst only when its text shows the name may hold one."""
        memo = self._values
        if qualname in memo:
            got = memo[qualname]
        else:
            memo[qualname] = None  # a constant defined through itself, an import cycle
            got = memo[qualname] = self._value(qualname)
        if got is not None and self._asked_now is not None:
            self._asked_now.add(VALUE_MARK + qualname)  # its tag follows what the name holds
        return got

    def value_imports(self, qualname: str, depth: int = 0) -> frozenset[str]:
        """For the pre-check, from the ``ast`` alone (no libcst): the names the module
        defining ``qualname`` imports, when the name may hold (or the function return) a
        tracked instance, which can only come from one of them; else nothing."""
        found = self._source_of(qualname)
        if found is None:
            return frozenset()
        got, key = found
        head = key.partition(".")[0]
        name = head.removesuffix("()")
        target = got.imports.get(name)
        if target is not None and name not in got.defined:
            return self.value_imports(target + key[len(name):], depth + 1) if depth < 8 else frozenset()
        if not got.worth(name, key):
            return frozenset()
        return frozenset(got.imports.values())

    def _source_of(self, qualname: str) -> tuple[ValueSource, str] | None:
        """The module that defines ``qualname`` (read, not parsed) and the rest of the name."""
        if not self.is_project(qualname):
            return None
        bare = qualname.removesuffix("()")
        module = self._module_prefix(bare)
        if module is None or module == bare:
            return None
        got = self._value_scopes.get(module)
        if got is None:
            got = self._value_scopes[module] = ValueSource.read(self.files[module], self)
        return got, qualname[len(module) + 1:]

    def learn_values(self, path: str, tree: ast.Module, text: str | None) -> ValueSource | None:
        """While scanning: the value facts of the file at ``path``, from the tree the scan
        parsed anyway (None for a file outside the project). Later questions in this process
        use them instead of parsing the file again."""
        module = self.module_of(path)
        if module is None:
            return None
        got = self._value_scopes.get(module)
        if got is None:
            got = self._value_scopes[module] = ValueSource.of_tree(tree, text, self, self.files[module])
        return got

    def adopt_values(self, path: str, facts: ValueSource, text: str | None = None) -> None:
        """The facts a scan worker learnt of ``path`` (:meth:`learn_values`): this process,
        and every process it forks or sends the index to, need not parse the file for them."""
        module = self.module_of(path)
        if module is not None and module not in self._value_scopes:
            if facts.text is None:
                facts.text = text
            self._value_scopes[module] = facts

    def _value(self, qualname: str) -> str | None:
        found = self._source_of(qualname)
        if found is None:
            return None
        got, key = found
        module = qualname[: len(qualname) - len(key) - 1]
        path = self.files[module]
        name = key.partition(".")[0].removesuffix("()")
        target = got.imports.get(name)
        if target is not None and name not in got.defined:
            # A re-export: asked of the module it comes from.
            return self.value(target + key[len(name):]) if target != qualname else None
        if not got.worth(name, key):
            return None  # nothing there may hold one: libcst is not worth it
        scope = got.scope(self.package_of(path))
        if scope is None:
            return None
        from .summaries import value_in

        return value_in(scope, module, key, self.package_of(path))

    def class_ancestors(self, qualname: str, depth: int = 0) -> frozenset[str] | None:
        """The names of the project class ``qualname`` and of all its ancestors (project
        classes by qualified name, built-in ones by name: ``object``, ``str``), when every one
        is known; else None (a base from a library, a metaclass, a class defined twice)."""
        memo = self._ancestors
        if qualname not in memo:
            memo[qualname] = (None, frozenset())  # a cycle back here
            files: set[str] = set()
            memo[qualname] = (self._class_ancestors(qualname, depth, files), frozenset(files))
        got, files_read = memo[qualname]
        if self._class_files is not None:
            self._class_files |= files_read
        return got

    def _class_ancestors(self, qualname: str, depth: int, files: set[str]) -> frozenset[str] | None:
        found = self._source_of(qualname) if depth < 16 else None
        if found is None:
            return None
        got, key = found
        module = qualname[: len(qualname) - len(key) - 1]
        files.add(self.files[module])
        if key not in got.classes:
            target = got.imports.get(key)
            if target is not None and key not in got.defined and "." not in key:
                return self._base_ancestors(target, depth, files)  # a re-export
            return None
        bases = got.classes[key]
        if bases is None:
            return None
        out = {qualname, "object"}
        for base in bases:
            if base is None:
                return None
            head, _, rest = base.partition(".")
            if head in got.imports and head not in got.classes:
                q = got.imports[head] + base[len(head):]
            elif head in got.defined:
                q = f"{module}.{base}"
            elif not rest and hasattr(builtins, head):
                q = f"builtins.{head}"
            else:
                return None
            more = self._base_ancestors(q, depth, files)
            if more is None:
                return None
            out |= more
        return frozenset(out)

    def _base_ancestors(self, qualname: str, depth: int, files: set[str]) -> frozenset[str] | None:
        if not self.is_project(qualname):
            return _outside_ancestors(qualname)
        saved, self._class_files = self._class_files, files
        try:
            return self.class_ancestors(qualname, depth + 1)
        finally:
            self._class_files = saved

    def chain(self, qualname: str) -> Chain | None:
        """How the project function or method ``qualname`` blocks, or None."""
        if qualname.startswith(VALUE_MARK):
            return None  # a name whose value a file's findings rest on (see _tag)
        if self._asked_now is not None:
            self._asked_now.add(qualname)
        loc = self._locate(qualname)
        if self._settled and (loc is None or loc not in self._reached) and qualname not in self._followed:
            loc = self._reach_late(qualname)
        if loc is None:
            return None
        if not self._linked:
            self._link()
        return self.chains.get(loc)

    def instance_class(self, qualname: str) -> str | None:
        """The class of a module-level instance built without arguments, by the name that
        holds it (``pkg.s.secrets`` -> ``pkg.s.Secrets``); else None."""
        module = self._module_prefix(qualname)
        if module is None or module == qualname or "." in qualname[len(module) + 1:]:
            return None
        target = self.summaries.get(module, _EMPTY)["aliases"].get(qualname[len(module) + 1:])
        return target[: -len(_INSTANCE)] if target is not None and target.endswith(_INSTANCE) else None

    def guarded(self, qualname: str) -> dict[str, Any] | None:
        """When every way the project function ``qualname`` blocks is guarded by its
        parameters: ``{"sig": its signature, "paths": [(guard, chain), ...], "init": whether
        it is a constructor}`` (see :mod:`flake8_wfasync.analysis.guards`); else None."""
        loc = self._locate(qualname)
        if loc is None:
            return None
        if not self._linked:
            self._link()
        return self._guarded_at(loc)

    def _guarded_at(self, loc: tuple[str, str]) -> dict[str, Any] | None:
        memo = self._guarded
        if loc in memo:
            return memo[loc]
        memo[loc] = None  # a cycle back here: blocks whatever the arguments
        got = memo[loc] = self._compose_guarded(*loc)
        return got

    def _compose_guarded(self, module: str, key: str) -> dict[str, Any] | None:
        entry = self.summaries.get(module, {}).get("funcs", {}).get(key)
        if not entry or "guard" not in entry:
            return None
        info = entry["guard"]
        path = self.files.get(module, "")
        paths: list[tuple[list[Any], Chain]] = []
        for guard, call, line, steps, ext in info["paths"]:
            if not ext:
                paths.append((guard, Chain(tuple((module, k) for k in steps), call, path, line)))
                continue
            loc = self._locate_linked(call)
            chain = self.chains.get(loc) if loc is not None else None
            if chain is None:
                continue  # that function does not block
            assert loc is not None
            args = next((a[2] for a in guard if a[1] == guard_logic.ARGS), None)
            guard = [a for a in guard if a[1] != guard_logic.ARGS]
            inner = self._guarded_at(loc) if args is not None else None
            if inner is None:
                if not guard:
                    return None  # it blocks through this call whatever the arguments
                for k in reversed(steps):
                    chain = chain.prepend(module, k)
                paths.append((guard, chain))
                continue
            # That function is guarded too: its guards, seen through the arguments this call
            # passes it, guard this way (a literal or a default that fails them closes it).
            for g, c in inner["paths"]:
                seen = guard_logic.translate_described(g, args, inner["sig"], inner["init"])
                if seen is None:
                    continue
                if not guard and not seen:
                    return None
                for k in reversed(steps):
                    c = c.prepend(module, k)
                paths.append((guard + seen, c))
        paths = guard_logic.open_paths(paths, self.class_ancestors)
        cls = f"{module}.{key.rpartition('.')[0]}" if "." in key else None
        # No path left: every way it blocks is closed whatever the arguments (an empty list).
        return {"sig": info["sig"], "paths": paths, "init": key.endswith(".__init__"),
                "init_sig": info.get("init_sig"), "cls": cls}

    def _reach_late(self, qualname: str) -> tuple[str, str] | None:
        """After the build: summarise what ``qualname`` reaches. The analysis asks for names
        the ``ast`` pass could not see (called through a type: ``self.repo.fetch()``)."""
        self._building = True
        try:
            self._demand_closure([qualname], None, jobs=1)
            if not self._linked:  # (most names asked late lead to what is summarised already)
                self._link()
                self._settle_tentative(None, jobs=1)
        finally:
            self._building = False
        return self._locate(qualname)

    def digest_for(self, path: str) -> str:
        """What the index knows that can change this file's findings."""
        return self.tags.get(os.path.abspath(path), "")

    # -- locating names ------------------------------------------------------------------------

    def _locate(self, qualname: str, depth: int = 0) -> tuple[str, str] | None:
        parts = qualname.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            if module not in self.files and not (self.lazy_root and self._find_module(module)):
                continue
            key = ".".join(parts[i:])
            summary = self._summary(module, key)
            if summary is None:
                return None
            funcs = summary["funcs"]
            if key in funcs:
                return module, key
            if f"{key}.__init__" in funcs:
                return module, f"{key}.__init__"
            if summary.get("partial") and parts[i] not in summary["aliases"] and key not in summary["partial"]:
                # Summarised only for the functions asked so far: now for this one too.
                if self._linking:
                    return None  # (not reached from any coroutine: chain() looks again if asked)
                return self._locate_full(module, qualname, depth)
            target = _alias_target(summary["aliases"].get(parts[i]), parts[i + 1:])
            if target is not None and depth < 8:
                return self._locate(".".join([target, *parts[i + 1:]]), depth + 1)
            return None
        return None

    def asked(self, path: str) -> list[str] | None:
        """While summarising ``path``: the functions of it asked for (None: all of them)."""
        asking = self._asking
        if asking is None or asking[0] != os.path.abspath(path):
            return None
        return asking[1]

    def exact(self, path: str) -> bool:
        """While summarising ``path``: True when the summary must be the libcst one (a
        tentative summary from the ``ast`` turned out to block)."""
        return os.path.abspath(path) in self._exact

    def _locate_full(self, module: str, qualname: str, depth: int) -> tuple[str, str] | None:
        """Summarise a partially summarised module again, for one more function: from the
        ``ast`` while it still clears them all, else in full."""
        old = self.summaries[module]
        keys: list[str] | None = [*old["partial"], qualname[len(module) + 1:]]
        if len(old["partial"]) >= _PARTIAL_KEYS:
            # Asked for one name at a time, a module with hundreds (a package's __init__ that
            # every module reads settings from) would be summarised hundreds of times, each
            # time for more names: past a few, once in full, and every later name is known.
            keys = None
        summary = self._summarise(module, self.files[module], keys)
        self.summaries[module] = summary
        self._linked = False
        if self._store is not None:
            self._store.put(self.files[module], summary)
        if summary.get("partial") and summary["partial"] == old["partial"]:
            return None  # the file changed under us and no longer clears: unknown, not blocking
        return self._locate(qualname, depth)

    def _pending(self, qualname: str, depth: int = 0) -> tuple[str, str, list[str]] | None:
        """The summary that locating ``qualname`` would make next, without making it:
        (module, path of the function in it, the functions to summarise it for)."""
        parts = qualname.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            if module not in self.files:
                continue
            key = ".".join(parts[i:])
            summary = self.summaries.get(module)
            if summary is None:
                return module, key, [key]
            funcs = summary["funcs"]
            if key in funcs or f"{key}.__init__" in funcs:
                return None
            if summary.get("partial") and parts[i] not in summary["aliases"] and key not in summary["partial"]:
                return module, key, [*summary["partial"], key]
            target = _alias_target(summary["aliases"].get(parts[i]), parts[i + 1:])
            if target is not None and depth < 8:
                return self._pending(".".join([target, *parts[i + 1:]]), depth + 1)
            return None
        return None

    def _prefetch_aliases(self, qualnames: list[str], store: _SummaryStore | None, jobs: int) -> None:
        """Make together, in a pool when it pays, the summaries that locating ``qualnames``
        would make one at a time (modules reached through re-exports, partial summaries that
        must cover one more function): what :meth:`_locate` then finds is the same."""
        if self.lazy_root is not None or jobs <= 1:
            return
        for _ in range(8):
            asks: dict[str, list[str]] = {}
            for q in qualnames:
                got = self._pending(q)
                if got is None:
                    continue
                module, _key, keys = got
                old = self.summaries.get(module)
                if old is not None or (store is not None and store.get(self.files[module]) is not None):
                    # An upgrade, or a cached summary: left to _locate, which handles both.
                    continue
                have = asks.setdefault(module, [])
                for k in keys:
                    if k not in have:
                        have.append(k)
            fresh = sorted(m for m in asks if os.path.abspath(self.files[m]) not in self._keep)
            if len(fresh) < 2:
                return
            for module, summary in zip(fresh, self._summarise_many(fresh, jobs, asks, threshold=2), strict=True):
                self.summaries[module] = summary
                if store is not None:
                    store.put(self.files[module], summary)
            self._linked = False

    def _summary(self, module: str, key: str | None = None) -> dict[str, Any] | None:
        s = self.summaries.get(module)
        if s is None and module in self.files and (self.lazy_root is not None or self._building):
            self._summarise_closure([module], self._store, follow=self.lazy_root is not None,
                                    keys={module: [key]} if key is not None and self.lazy_root is None else None)
            s = self.summaries.get(module)
        return s

    # -- building ------------------------------------------------------------------------------

    def _add_module(self, module: str, path: str) -> None:
        self.files.setdefault(module, path)
        self.by_path.setdefault(os.path.abspath(path), module)
        self.roots.add(module.partition(".")[0])

    def _find_module(self, module: str) -> str | None:
        """Lazy mode: the file of a module under the project root, if there is one."""
        if module in self.files:
            return self.files[module]
        assert self.lazy_root is not None
        base = os.path.join(self.lazy_root, *module.split("."))
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                self._add_module(module, candidate)
                return candidate
        return None

    def _summarise_closure(self, modules: Iterable[str], store: _SummaryStore | None = None,
                           jobs: int = 1, follow: bool = True,
                           keys: dict[str, list[str]] | None = None) -> None:
        """Summarise ``modules`` and every project module their functions call into, a
        frontier at a time (in a process pool when it is large and ``jobs`` allows)."""
        frontier = sorted({m for m in modules if m not in self.summaries})
        while frontier:
            fresh: list[str] = []
            for module in frontier:
                path = self.files.get(module)
                cached = store.get(path) if store is not None and path is not None else None
                if cached is not None:
                    self.summaries[module] = cached
                elif path is None:
                    self.summaries[module] = _EMPTY
                else:
                    fresh.append(module)
            for module, summary in zip(fresh, self._summarise_many(fresh, jobs, keys or {}), strict=True):
                self.summaries[module] = summary
                if store is not None:
                    store.put(self.files[module], summary)
            self._linked = False
            nxt: set[str] = set()
            for module in frontier if follow else ():
                summary = self.summaries[module]
                targets = [q for entry in summary["funcs"].values() for q in entry.get("ext", ())]
                targets += (t.removesuffix(_INSTANCE) for t in summary["aliases"].values())
                for q in targets:
                    target = self._module_prefix(q)
                    if target is not None and target not in self.summaries:
                        nxt.add(target)
            frontier = sorted(nxt)

    def _summarise_many(self, modules: list[str], jobs: int,
                        keys: dict[str, list[str]], threshold: int = 0) -> list[dict[str, Any]]:
        if len(modules) < (threshold or _PARALLEL_SUMMARIES) or self.lazy_root is not None:
            jobs = 1
        work = [(m, keys.get(m)) for m in modules]
        return fork_map(_summarise_one, work, self, jobs, chunksize=len(modules) // (jobs * 4))

    def _module_prefix(self, qualname: str) -> str | None:
        parts = qualname.split(".")
        for i in range(len(parts), 0, -1):
            module = ".".join(parts[:i])
            if module in self.files or (self.lazy_root and self._find_module(module)):
                return module
        return None

    def _summarise(self, module: str, path: str, keys: list[str] | None = None) -> dict[str, Any]:
        """The summary of a module; with ``keys`` (the functions asked for), a partial one
        from the ``ast`` alone when those cannot block (see :func:`summaries.ast_clears`)."""
        from .summaries import summarize

        try:
            with open(path, "rb") as fh:
                text = decode_source(fh.read())
            if "def " not in text and "import" not in text:
                return _EMPTY
            ap = os.path.abspath(path)
            # A module summarised in part is summarised again for each function asked later:
            # its ast tree is kept for that while the index is built (in this process).
            kept = self._trees.pop(ap, None)
            tree = kept[1] if kept is not None and kept[0] == text else ast_parse(text, path)
            if self._building and keys is not None:
                self._trees[ap] = (text, tree)
                while len(self._trees) > _KEPT_TREES:
                    del self._trees[next(iter(self._trees))]
            old = self.summaries.get(module)
            self._asking = (ap, keys)
            self._class_files = set()
            try:
                summary = summarize(text, self.files[module], self.config, self, tree=tree,
                                    matters=old is not None and bool(old.get("partial")))
                read = self._class_files
            finally:
                self._asking = None
                self._class_files = None
            if read:
                # What other modules' classes derive from closed some of its ways to block:
                # the summary holds while those files do (see _SummaryStore.get).
                summary["deps"] = {os.path.abspath(f): _stamp(f) for f in sorted(read)}
            return summary
        except (OSError, SourceParseError, RecursionError, MemoryError):
            return _EMPTY  # the file's own check reports what is wrong with it

    def _link(self) -> None:
        """Every function's shortest chain to a blocking call: a reverse breadth-first search
        from the functions that block by themselves."""
        callers: dict[tuple[str, str], list[tuple[str, str]]] = {}
        chains: dict[tuple[str, str], Chain] = {}
        queue: deque[tuple[str, str]] = deque()
        edges: list[tuple[tuple[str, str], tuple[str, str]]] = []
        for module, summary in self.summaries.items():
            path = self.files.get(module, "")
            for key, entry in summary["funcs"].items():
                node = (module, key)
                site = entry.get("site")
                if site is not None:
                    chains[node] = Chain(((module, key),), site[0], path, site[1])
                    queue.append(node)
                for callee in entry.get("calls", ()):
                    edges.append((node, (module, callee)))
                for q in entry.get("ext", ()):
                    loc = self._locate_linked(q)
                    if loc is not None:
                        edges.append((node, loc))
        for caller, callee in edges:
            callers.setdefault(callee, []).append(caller)
        while queue:
            node = queue.popleft()
            for caller in callers.get(node, ()):
                if caller not in chains:
                    chains[caller] = chains[node].prepend(*caller)
                    queue.append(caller)
        self.chains = chains
        self._guarded = {}
        self._linked = True

    def _locate_linked(self, qualname: str) -> tuple[str, str] | None:
        # Linking uses what is summarised already: no summarising while linking.
        saved = self.lazy_root, self._building, self._linking
        self.lazy_root, self._building, self._linking = None, False, True
        try:
            return self._locate(qualname)
        finally:
            self.lazy_root, self._building, self._linking = saved

    # -- the whole-project build ---------------------------------------------------------------

    @classmethod
    def build(cls, files: Sequence[Path], config: Config, cache_dir: Path | None = None) -> ProjectIndex:
        """The index of a ``wfasync check`` run over ``files``."""
        index = cls.start(files, config, cache_dir)
        index.finish()
        return index

    @classmethod
    def start(cls, files: Sequence[Path], config: Config, cache_dir: Path | None = None) -> ProjectIndex:
        """An index that knows the project's modules, not yet their summaries: a caller that
        parses the files anyway hands over what they call (:meth:`record`, or
        :meth:`scanned` for both steps), then calls :meth:`finish`."""
        modules: dict[str, str] = {}
        packages: dict[str, list[str]] = {}
        for f in files:
            shown = str(f)
            if shown.endswith(".py"):
                modules.setdefault(module_name_for(shown, packages), shown)
        index = cls(modules, config)
        index._building = True
        index._store = _SummaryStore.open(cache_dir, config)
        return index

    def knows(self, path: str) -> bool:
        """While building: True when the calls of this file are known from the cache folder."""
        assert self._store is not None
        entry = self._store._entry(path)
        return entry is not None and "demand" in entry

    def demand_of(self, path: str, tree: ast.Module | None) -> list[str] | None:
        """The project names that the coroutines of a file call, from its ``ast`` tree (None: a
        file without coroutines, or one that does not parse)."""
        return _demand_of(tree, path, self) if tree is not None else None

    def record(self, path: str, demand: list[str] | None) -> None:
        """While building: what :meth:`demand_of` said for the file as it is on disk now."""
        assert self._store is not None
        entry = self._store._entry(path)
        if entry is not None:
            entry["demand"] = demand
            self._store.dirty = True

    def scanned(self, path: str, tree: ast.Module | None) -> list[str] | None:
        """While building: :meth:`demand_of` and :meth:`record` in one."""
        demand = self.demand_of(path, tree)
        self.record(path, demand)
        return demand

    def finish(self, jobs: int | None = None, keep: Iterable[str] = ()) -> None:
        """Summarise what the coroutines call, link, tag every file. ``keep``: absolute paths
        of files about to be analysed in this process; their libcst modules, when summarising
        parses them, are kept for the analysis (:meth:`take_parsed`)."""
        store = self._store
        assert store is not None
        jobs = default_jobs() if jobs is None else jobs
        self._keep = set(keep)
        modules = self.files
        # The project names that the coroutines of each file (and the helpers they call) call.
        demands: dict[str, list[str]] = {}
        store.prefetch_demands(list(modules.values()), self, jobs)
        for shown in modules.values():
            names = store.demand(shown, self)
            if names is not None:
                demands[os.path.abspath(shown)] = names
        self._demand_closure(sorted({q for names in demands.values() for q in names}), store, jobs=jobs)
        self._link()
        self._settle_tentative(store, jobs)
        store.save()
        for ap, names in demands.items():
            self.tags[ap] = self._tag(names)
        self._demands = demands
        self._building, self._store, self._keep = False, None, set()
        self._late_store, self._trees = store, {}
        self._settled = True

    def _tag(self, names: Iterable[str]) -> str:
        """A file's tag: how the project names it calls block (or that they do not), and
        what the project names its analysis took values from hold."""
        h = hashlib.blake2b(digest_size=8)
        for q in names:
            if q.startswith(VALUE_MARK):
                h.update(repr((q, self.value(q[len(VALUE_MARK):]))).encode())
                continue
            c = self.chains.get(self._locate(q) or ("", ""))
            h.update(repr((q, c)).encode())
        return h.hexdigest()

    # -- names only the analysis finds -----------------------------------------------------------

    def watch(self) -> None:
        """From now on, note the names the analysis asks :meth:`chain` about (one file's)."""
        self._asked_now = set()

    def watched(self, path: str) -> tuple[list[str], str] | None:
        """Stop noting. The names asked that the tag of ``path`` does not cover yet (called
        through a type the ``ast`` pass cannot see), and the tag that covers them too; None
        when there are none. They belong in its tag (:meth:`add_late`): else a change in the
        module they lead to would not reach the file's cached result."""
        asked, self._asked_now = self._asked_now or set(), None
        covered = self._demands.get(os.path.abspath(path), [])
        late = sorted(asked.difference(covered))
        if not late:
            return None
        return late, self._tag(sorted({*covered, *late}))

    def add_late(self, path: str, names: list[str], tag: str) -> None:
        """What :meth:`watched` said for ``path`` (maybe in a worker, whose copy of the index
        summarised what those names reach): the tag for this run, the names for the next."""
        ap = os.path.abspath(path)
        self._demands[ap] = sorted({*self._demands.get(ap, ()), *names})
        self.tags[ap] = tag
        store = self._late_store
        if store is not None:
            store.add_late(path, names)

    def save_late(self) -> None:
        """Write what :meth:`add_late` learnt to the cache folder."""
        if self._late_store is not None:
            self._late_store.save()

    def _settle_tentative(self, store: _SummaryStore | None, jobs: int) -> None:
        """A tentative summary (from the ``ast`` alone) says "blocks only if one of these
        project names blocks". Where linking finds that one does, the chain through the
        module's own helpers is not known: summarise the module with libcst, link again, and
        so on until no tentative summary blocks. Modules next to a known blocking call go
        first, so that one blocking only through another tentative one may yet clear."""
        while True:
            blocking = {m for m, _ in self.chains if self.summaries.get(m, _EMPTY).get("tentative")}
            if not blocking:
                return
            redo = set()
            for (module, _key), chain in self.chains.items():
                if module in blocking:
                    nxt = chain.steps[1][0] if len(chain.steps) > 1 else None
                    if nxt not in blocking:
                        redo.add(module)
            fresh = sorted(redo or blocking)
            self._exact.update(os.path.abspath(self.files[m]) for m in fresh)
            keys = {m: list(self.summaries[m]["partial"]) for m in fresh}
            self._reached = {node for node in self._reached if node[0] not in keys}  # walk them anew
            for module, summary in zip(fresh, self._summarise_many(fresh, jobs, keys), strict=True):
                self.summaries[module] = summary
                if store is not None:
                    store.put(self.files[module], summary)
            self._demand_closure([f"{m}.{k}" for m in fresh for k in keys[m]], store, jobs)
            self._link()

    def take_parsed(self, path: str, text: str) -> cst.Module | None:
        """The libcst module of ``text`` if summarising parsed it (once: it is handed over)."""
        got = self._parsed.pop(os.path.abspath(path), None)
        if got is None or got[0] != text:
            return None
        return got[1]

    def keep_parsed(self, path: str, text: str, module: cst.Module) -> None:
        ap = os.path.abspath(path)
        if ap in self._keep:
            self._parsed[ap] = (text, module)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_parsed"], state["_keep"], state["_store"] = {}, set(), None  # this process only
        state["_late_store"], state["_trees"] = None, {}
        # (What each module may hand over travels as its facts: see ValueSource.__getstate__.)
        state["_values"] = {}
        return state

    def _demand_closure(self, qualnames: list[str], store: _SummaryStore | None, jobs: int) -> None:
        """Summarise the modules of ``qualnames`` and of every project function those functions
        call, a round at a time (each round's new modules in a process pool when many)."""
        seen = self._reached
        work = list(qualnames)
        while work:
            self._followed.update(work)
            keys: dict[str, list[str]] = {}
            for q in work:
                m = self._module_prefix(q)
                if m and m not in self.summaries:
                    keys.setdefault(m, []).append(q[len(m) + 1:])
            # (A module summarised in part already is summarised again by _locate if need be.)
            self._summarise_closure(sorted(keys), store, jobs, follow=False, keys=keys)
            self._prefetch_aliases(work, store, jobs)
            nxt: list[str] = []
            for q in work:
                loc = self._locate(q)
                stack = [loc] if loc is not None else []
                while stack:
                    node = stack.pop()
                    if node in seen:
                        continue
                    seen.add(node)
                    module, key = node
                    entry = self.summaries[module]["funcs"].get(key, {})
                    stack.extend((module, k) for k in entry.get("calls", ()))
                    nxt.extend(entry.get("ext", ()))
            work = nxt

_EMPTY: dict[str, Any] = {"funcs": {}, "aliases": {}}
# How a summary's alias names an instance of a class (``resolve.INSTANCE``, which this module
# does not import: libcst is not loaded to build an index).
_INSTANCE = "()"


def _alias_target(target: str | None, rest: list[str]) -> str | None:
    """What a name that a module binds stands for, with ``rest`` after it: a module-level
    instance (``secrets = Secrets()``) stands for its class when a method follows, and for
    nothing callable alone (calling it would be the class's ``__call__``)."""
    if target is None or not target.endswith(_INSTANCE):
        return target
    return target[: -len(_INSTANCE)] if rest else None
# Marks a name whose value (not chain) a file's findings rest on, in the names its tag covers.
VALUE_MARK = "="
_PARTIAL_KEYS = 8  # names a partial summary grows to, one more at a time, before a full one
_KEPT_TREES = 32  # ast trees of partly summarised modules kept while building (memory bound)
_PARALLEL_SUMMARIES = 16  # below this many modules to summarise, a pool costs more than it saves


def _stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _outside_ancestors(qualname: str) -> frozenset[str] | None:
    """The ancestors of a base class from outside the project, when known: a built-in type's
    (by name, ``bool`` -> ``bool``, ``int``, ``object``), nothing for ``typing.Generic``."""
    if qualname in ("typing.Generic", "typing_extensions.Generic"):
        return frozenset()
    if qualname in ("typing.NamedTuple", "typing_extensions.NamedTuple"):
        return frozenset({"tuple", "object"})
    if qualname.startswith("builtins."):
        t = getattr(builtins, qualname[len("builtins."):], None)
        if isinstance(t, type) and type(t) is type:
            return frozenset(c.__name__ for c in t.__mro__)
    return None


def _summarise_one(index: ProjectIndex, work: tuple[str, list[str] | None]) -> dict[str, Any]:
    module, keys = work
    return index._summarise(module, index.files[module], keys)


class _SummaryStore:
    """Summaries and import scans per file, keyed by size and mtime, in the cache folder."""

    def __init__(self, file: Path | None, key: str) -> None:
        self.file = file
        self.key = key
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False

    @classmethod
    def open(cls, cache_dir: Path | None, config: Config) -> _SummaryStore:
        payload = json.dumps([_FORMAT, analysis_digest(), sorted(config.extra_blocking.items()),
                              sorted(config.allow)], default=repr)
        key = hashlib.blake2b(payload.encode(), digest_size=10).hexdigest()
        store = cls(cache_dir / f"project-{key}.json" if cache_dir is not None else None, key)
        if store.file is not None:
            try:
                raw = json.loads(store.file.read_text(encoding="utf-8"))
                if raw.get("key") == key and isinstance(raw.get("files"), dict):
                    store.entries = raw["files"]
            except (OSError, ValueError, AttributeError):
                store.entries = {}
        return store

    def _entry(self, path: str) -> dict[str, Any] | None:
        ap = os.path.abspath(path)
        try:
            st = os.stat(ap)
        except OSError:
            return None
        stamp = [st.st_size, st.st_mtime_ns]
        entry = self.entries.get(ap)
        if entry is None or entry.get("stamp") != stamp:
            entry = {"stamp": stamp}
            self.entries[ap] = entry
            self.dirty = True
        return entry

    def demand(self, path: str, index: ProjectIndex) -> list[str] | None:
        """The project names a file's coroutines call, with those only its analysis found
        (:meth:`ProjectIndex.add_late`); None for a file without coroutines."""
        entry = self._entry(path)
        if entry is None:
            return None
        if "demand" not in entry:
            entry["demand"] = _demanded(index, path)
            self.dirty = True
        names, late = entry["demand"], entry.get("late")
        return sorted({*(names or ()), *late}) if late else names

    def prefetch_demands(self, paths: list[str], index: ProjectIndex, jobs: int) -> None:
        """Scan the files not known yet, in a process pool when they are many."""
        todo = []
        for path in paths:
            entry = self._entry(path)
            if entry is not None and "demand" not in entry:
                todo.append(path)
        if len(todo) < _PARALLEL_SUMMARIES * 2:
            return  # demand() scans them one by one
        found = fork_map(_demanded, todo, index, jobs, chunksize=len(todo) // (jobs * 4))
        for path, names in zip(todo, found, strict=True):
            entry = self._entry(path)
            if entry is not None:
                entry["demand"] = names
                self.dirty = True

    def add_late(self, path: str, names: list[str]) -> None:
        """Names only the analysis of the file found it calls (:meth:`ProjectIndex.add_late`)."""
        entry = self._entry(path)
        if entry is None:
            return
        merged = sorted({*entry.get("late", ()), *names})
        if entry.get("late") != merged:
            entry["late"] = merged
            self.dirty = True

    def get(self, path: str) -> dict[str, Any] | None:
        entry = self._entry(path)
        summary = None if entry is None else entry.get("summary")
        if summary is not None and any(_stamp(f) != stamp for f, stamp in summary.get("deps", {}).items()):
            return None  # a file it rests on changed
        return summary

    def put(self, path: str, summary: dict[str, Any]) -> None:
        entry = self._entry(path)
        if entry is not None and entry.get("summary") != summary:
            entry["summary"] = summary
            self.dirty = True

    def save(self) -> None:
        if self.file is None or not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            payload = {"key": self.key, "files": self.entries}
            replace_file(self.file, json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        except OSError:
            return


def _demanded(index: ProjectIndex, path: str) -> list[str] | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if b"async" not in data:
            return None
        tree = parse_quietly(decode_source(data), path)
    except (OSError, SourceParseError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the file's own check reports it
    return _demand_of(tree, path, index)


def _demand_of(tree: ast.Module, path: str, index: ProjectIndex) -> list[str] | None:
    """The project names the coroutines of a module call; None for a module without any."""
    walk = coroutine_walk(tree)
    return sorted(set(ast_project_calls(tree, walk.calls, index, path, walk))) if walk.calls else None


# --- the flake8 plugin's lazy index -----------------------------------------------------------

_LAZY: dict[tuple[str, str], ProjectIndex] = {}


def lazy_index_for(path: str, config: Config, cache_dir: Path | None = None) -> ProjectIndex | None:
    """The lazy index of the project a file belongs to (one per root and process), or None
    for a file that is not in a package or not on disk. ``cache_dir``: the cache folder of
    ``wfasync check``, whose module summaries it reads, and adds to when the process ends."""
    ap = os.path.abspath(path)
    if not os.path.isfile(ap):
        return None
    module = module_name_for(ap)
    depth = module.count(".") + (1 if os.path.basename(ap) == "__init__.py" else 0)
    root = os.path.dirname(ap)
    for _ in range(depth):
        root = os.path.dirname(root)
    key = (root, repr((sorted(config.extra_blocking.items()), sorted(config.allow))))
    index = _LAZY.get(key)
    if index is None:
        index = _LAZY[key] = ProjectIndex({}, config, lazy_root=root)
        if cache_dir is not None:
            index._store = _SummaryStore.open(cache_dir, config)
            # Saved when the process ends: flake8's worker processes leave through
            # multiprocessing's exit hooks, which run these finalizers, not atexit.
            from multiprocessing.util import Finalize

            Finalize(None, index._store.save, exitpriority=10)
    return index


def build_project_index(files: Sequence[Path], config: Config, cache_dir: Path | None = None) -> ProjectIndex | None:
    """The index of a run over ``files``, or None, with a warning, when it cannot be built:
    the per-file analysis still runs then."""
    try:
        return ProjectIndex.build(files, config, cache_dir=cache_dir)
    except Exception as exc:  # noqa: BLE001
        warn_no_index(exc)
        return None


def warn_no_index(exc: Exception) -> None:
    """One line on stderr: the run goes on without the project index."""
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    print(f"wfasync: warning: no project index ({detail}); WFA201 is checked within each file only",
          file=sys.stderr)
