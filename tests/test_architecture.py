"""The project's architecture, checked on the source itself (``ast``, nothing imported): no
import cycle, no reach-in for another module's private names, no module loaded by a string;
the static side's imports run one way (knowledge <- analysis <- fix <- app), and so do the
runtime's (engine and pytest -> detect); the static side never imports the runtime, and the
runtime takes only the knowledge and the analysis' line matcher, through one module.

An import inside a function counts like one at the top (it runs, just later); one under
``if TYPE_CHECKING:`` does not (it never runs).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = "flake8_wfasync"
RUNTIME = "runtime"
# The static side's rooms, lowest first: a module imports from its own room or a lower one.
ROOMS = (
    ("knowledge",),
    ("", "source", "node_init", "config", "atomic", "workers"),  # (the package itself and its small helpers)
    ("analysis",),
    ("fix",),
    ("app", "__main__"),
)


@dataclass
class Import:
    target: str  # the project module imported
    names: tuple[str, ...]  # the names taken from it (empty for ``import x``)
    line: int


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: list[Import] = field(default_factory=list)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _load(root: str) -> dict[str, Module]:
    out = {}
    for path in sorted((ROOT / root).rglob("*.py")):
        name = _module_name(path)
        out[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


MODULES = {**_load(STATIC), **_load(RUNTIME)}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(node: ast.AST):
    """Every node that runs at some point: all but the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                yield stmt
                yield from _runtime_nodes(stmt)
            continue
        yield child
        yield from _runtime_nodes(child)


def _base_of(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _collect_imports(module: Module) -> None:
    for node in _runtime_nodes(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    module.imports.append(Import(alias.name, (), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _base_of(module, node)
            taken: list[str] = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    module.imports.append(Import(sub, (), node.lineno))
                else:
                    taken.append(alias.name)
            if taken and base in MODULES:
                module.imports.append(Import(base, tuple(taken), node.lineno))


for _m in MODULES.values():
    _collect_imports(_m)


def _of(root: str) -> list[Module]:
    return [m for m in MODULES.values() if m.name == root or m.name.startswith(root + ".")]


def _cycles(modules: list[Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-imports."""
    names = {m.name for m in modules}
    graph = {m.name: sorted({i.target for i in m.imports if i.target in names}) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _reach_ins(module: Module) -> list[str]:
    """Private names of another project module: imported by name, or read off the module."""
    out = [f"{module.name}:{i.line}: {i.target}.{n}" for i in module.imports for n in i.names
           if _private(n) and i.target != module.name]
    bound: dict[str, str] = {}  # local name -> project module it is bound to
    for node in _runtime_nodes(module.tree):
        if isinstance(node, ast.ImportFrom):
            base = _base_of(module, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in MODULES:
                    bound[alias.asname] = alias.name
    for node in ast.walk(module.tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and _private(node.attr)):
            out.append(f"{module.name}:{node.lineno}: {bound[node.value.id]}.{node.attr}")
    return out


def _loads_by_string(module: Module) -> list[str]:
    out = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if called not in ("__import__", "import_module"):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and (
                arg.value.partition(".")[0] not in (STATIC, RUNTIME)):
            continue  # a third-party module by name (an optional dependency)
        out.append(f"{module.name}:{node.lineno}: {ast.unparse(node)}")
    return out


def _room(name: str) -> int:
    parts = name.split(".")
    room = parts[1] if len(parts) > 1 else ""
    for rank, names in enumerate(ROOMS):
        if room in names:
            return rank
    raise AssertionError(f"{name} is in no room of the layout: add it to ROOMS or move it")


# --- the whole project ------------------------------------------------------------------------

def test_the_checks_see_the_real_imports():
    """(The checks are only as good as the import graph they read.)"""
    walker = MODULES["flake8_wfasync.analysis.walker"]
    assert {"flake8_wfasync.analysis.callgraph", "flake8_wfasync.knowledge.rules"} <= {i.target for i in walker.imports}
    runner = MODULES["flake8_wfasync.app.runner"]
    lazy = [i for i in runner.imports if i.target == "flake8_wfasync.analysis.walker"]
    assert lazy, "a function-level import counts"
    side = MODULES["runtime.detect.static_side"]
    assert ("flake8_wfasync.analysis", ("blocking_calls_on_line",)) in {(i.target, i.names) for i in side.imports}
    graph = MODULES["flake8_wfasync.analysis.callgraph"]
    assert "flake8_wfasync.analysis.walker" not in {i.target for i in graph.imports}  # TYPE_CHECKING only
    assert _cycles([Module("a", ROOT / "a.py", ast.Module([], []), [Import("b", (), 1)]),
                    Module("b", ROOT / "b.py", ast.Module([], []), [Import("a", (), 1)])]) == [["a", "b"]]
    probe = Module("probe", ROOT / "probe.py", ast.parse(
        "from flake8_wfasync.app import runner\nfrom flake8_wfasync.source import _LINE_END\n"
        "def f():\n    return runner._private\n"))
    _collect_imports(probe)
    assert _reach_ins(probe) == ["probe:2: flake8_wfasync.source._LINE_END", "probe:4: flake8_wfasync.app.runner._private"]


def test_no_import_cycle():
    assert _cycles(list(MODULES.values())) == []


def test_no_private_name_taken_from_another_module():
    assert [r for m in MODULES.values() for r in _reach_ins(m)] == []


def test_no_project_module_loaded_by_a_string():
    assert [r for m in MODULES.values() for r in _loads_by_string(m)] == []


# --- the static side ------------------------------------------------------------------------------


def test_knowledge_imports_nothing_else_of_the_project():
    out = [f"{m.name}:{i.line}: {i.target}" for m in _of(f"{STATIC}.knowledge") for i in m.imports
           if not i.target.startswith(f"{STATIC}.knowledge")]
    assert out == []


def test_imports_run_one_way():
    """knowledge <- (source, config, ...) <- analysis <- fix <- app."""
    out = [f"{m.name}:{i.line}: {i.target}" for m in _of(STATIC) for i in m.imports
           if i.target.startswith(STATIC) and _room(i.target) > _room(m.name)]
    assert out == []


def test_the_static_side_never_imports_the_runtime():
    out = [f"{m.name}:{i.line}: {i.target}" for m in _of(STATIC) for i in m.imports
           if i.target.partition(".")[0] == RUNTIME]
    assert out == []


@pytest.mark.parametrize("name", sorted(m.name for m in _of(STATIC)))
def test_every_module_is_in_a_room(name):
    _room(name)


# --- between the two sides -------------------------------------------------------------------

# What the runtime may take from the static side: the shared knowledge, and the analysis'
# matcher for the blocking calls on one line.
RUNTIME_MAY_TAKE = {f"{STATIC}.analysis": {"blocking_calls_on_line"}}


def test_the_runtime_takes_only_the_knowledge_and_the_line_matcher():
    out = []
    for m in _of(RUNTIME):
        for i in m.imports:
            if i.target.partition(".")[0] != STATIC or i.target.startswith(f"{STATIC}.knowledge"):
                continue
            allowed = RUNTIME_MAY_TAKE.get(i.target)
            if allowed is None or not i.names or not set(i.names) <= allowed:
                out.append(f"{m.name}:{i.line}: {i.target} {', '.join(i.names)}".rstrip())
    assert out == []


# The runtime's rooms and whom each may import: the engine and the plugin use the detector,
# the detector uses neither (engines register their steps with it). The timeline draws what
# the engine and the detector hand it, and imports neither; the plugin records the runs of a
# test (the engine's trace) for its timeline page.
RUNTIME_ROOMS = {
    "detect": {"detect"},
    "engine": {"engine", "detect", "timeline"},
    "pytest": {"pytest", "detect", "engine", "timeline"},
    "timeline": {"timeline"},
    "testing": {"testing", "engine"},
}


def test_the_runtime_rooms_depend_one_way():
    out = []
    for m in _of(RUNTIME):
        room = m.name.split(".")[1] if m.name.count(".") else ""
        for i in m.imports:
            if i.target.partition(".")[0] != RUNTIME or room not in RUNTIME_ROOMS:
                continue
            target_room = i.target.split(".")[1] if i.target.count(".") else ""
            if target_room not in RUNTIME_ROOMS[room]:
                out.append(f"{m.name}:{i.line}: {i.target}")
    assert out == []


def test_one_runtime_module_is_the_door_to_the_static_side():
    importers = {m.name for m in _of(RUNTIME) for i in m.imports if i.target.partition(".")[0] == STATIC}
    assert importers == {f"{RUNTIME}.detect.static_side"}
