"""The runtime's import graph: no cycles, no private names across modules, nothing loaded by a
string, and the static side reached through one module only."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

import pytest

import runtime
import runtime.pytest.plugin

PACKAGE_DIR = Path(runtime.__file__).parent
# The one module that may import the static side (the catalog, the rules, the line matcher).
STATIC_GATEWAY = "runtime.detect.static_side"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import of ``name``'s module that runs:
    module level and function level alike, leaving out ``if TYPE_CHECKING:`` blocks."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, None, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([child.module] if child.module else []))
                found.extend((base, alias.name, child.lineno) for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _targets(name: str) -> set[str]:
    """The runtime modules ``name`` imports (a submodule named in ``from package import x`` counts)."""
    out: set[str] = set()
    for base, imported, _ in _imports(name):
        if imported is not None and f"{base}.{imported}" in MODULES:
            out.add(f"{base}.{imported}")
        elif base in MODULES:
            out.add(base)
    out.discard(name)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_the_graph_is_read_from_real_modules():
    graph = {name: _targets(name) for name in MODULES}
    assert {"runtime.engine.run", "runtime.detect.detector", "runtime.pytest.plugin"} <= set(graph)
    assert "runtime.engine.context" in graph["runtime.engine.run"]
    # Function-level imports count: the run attaches the detector lazily.
    assert "runtime.detect.detector" in graph["runtime.engine.run"]


def test_no_import_cycle_between_runtime_modules():
    graph = {name: _targets(name) for name in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_subpackages_depend_one_way():
    """The engine and the pytest plugin use the detector; the detector uses neither."""
    room = {name: name.split(".")[1] if name.count(".") else "" for name in MODULES}
    for name in MODULES:
        if room[name] == "detect":
            assert {room[t] for t in _targets(name)} <= {"detect"}, name
        if room[name] == "engine":
            assert {room[t] for t in _targets(name)} <= {"engine", "detect"}, name


def test_no_private_name_is_imported_from_another_module():
    offenders = [
        f"{name}:{line} imports {imported} from {base}"
        for name in MODULES
        for base, imported, line in _imports(name)
        if imported and imported.startswith("_") and base != "__future__"
    ]
    assert offenders == []


def test_no_module_is_loaded_by_a_string():
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in ("__import__", "importlib.import_module", "import_module"):
                    offenders.append(f"{name}:{node.lineno} {called}()")
    assert offenders == []


def test_only_the_gateway_imports_the_static_side():
    importers = {
        name for name in MODULES for base, _, _ in _imports(name) if base.split(".")[0] == "flake8_wfasync"
    }
    assert importers == {STATIC_GATEWAY}


def test_the_plugin_package_does_not_shadow_pytest():
    assert runtime.pytest.plugin.pytest is sys.modules["pytest"]
    assert Path(sys.modules["pytest"].__file__).parent.name == "pytest"
    assert not Path(sys.modules["pytest"].__file__).is_relative_to(PACKAGE_DIR)


def test_the_entry_point_names_the_plugin_module():
    [entry] = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "wfasync"]
    assert entry.value == "runtime.pytest.plugin"
    assert entry.load() is runtime.pytest.plugin


@pytest.mark.parametrize(
    "name",
    ["Workflow", "step", "Context", "Event", "StartEvent", "StopEvent", "BlockingDetector",
     "BlockingCallWarning", "BlockingReport", "WorkflowHandler", "WorkflowTimeoutError"],
)
def test_public_names_come_from_the_package(name):
    assert getattr(runtime, name) is not None
    assert name in runtime.__all__
