"""WFA201 across modules: the project index, checked on the annotated package fixtures
(``# expect-project:`` lines), on temporary projects, through ``wfasync check`` and flake8."""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import pytest
from fixture_tools import FIXTURES, by_line, expected

from flake8_wfasync.analysis import (
    analyze_source,
    might_block_tree,
    summaries,
)
from flake8_wfasync.analysis.precheck import needs_values, value_questions
from flake8_wfasync.analysis.project_index import (
    build_project_index,
    lazy_index_for,
    module_name_for,
)
from flake8_wfasync.config import Config

_PROJECT = re.compile(r"#\s*expect-project:\s*(.+?)\s*$")
PACKAGES = sorted(p.parent for p in FIXTURES.rglob("__init__.py") if not (p.parent.parent / "__init__.py").exists())


def expected_in_project(source: str) -> dict[int, set[str]]:
    out = expected(source)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            m = _PROJECT.search(tok.string)
            if m:
                out[tok.start[0]] = {c.strip() for c in m.group(1).split(",") if c.strip()}
    return out


def _check_project(files: list[Path], index) -> None:
    problems = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        got = by_line(analyze_source(source, str(path), Config(), index=index))
        want = expected_in_project(source)
        for n in sorted(set(got) | set(want)):
            if got.get(n, set()) != want.get(n, set()):
                problems.append((str(path), n, sorted(got.get(n, ())), sorted(want.get(n, ()))))
    assert not problems, "(file, line, found, expected)\n" + "\n".join(map(str, problems))


def test_there_are_package_fixtures():
    assert PACKAGES, "no package under fixtures/ for the project mode"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_package_fixture_as_a_project(package: Path):
    files = sorted(package.rglob("*.py"))
    _check_project(files, build_project_index(files, Config()))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_package_fixture_with_the_lazy_index(package: Path):
    files = sorted(package.rglob("*.py"))
    index = lazy_index_for(str(files[0]), Config())
    assert index is not None
    _check_project(files, index)


def test_chain_message_names_every_step():
    package = FIXTURES / "callgraph" / "crossmod"
    files = sorted(package.rglob("*.py"))
    index = build_project_index(files, Config())
    steps = package / "steps.py"
    found = {f.line: f for f in analyze_source(steps.read_text(), str(steps), Config(), index=index)}
    line = next(i for i, t in enumerate(steps.read_text().splitlines(), 1) if "util.rows_via_module(path)" in t)
    msg = found[line].message
    # query() runs execute() on the connection its factory _connect() returns.
    assert ("through crossmod.util.rows_via_module() -> crossmod.storage.db.load_rows() -> "
            "crossmod.storage.db.query() -> sqlite3.Connection.execute (") in msg
    assert msg.endswith("use await asyncio.to_thread(util.rows_via_module, path)")
    assert "storage/db.py:11)" in msg.replace("\\", "/")


def test_module_names():
    package = FIXTURES / "callgraph" / "crossmod"
    assert module_name_for(str(package / "storage" / "db.py")) == "crossmod.storage.db"
    assert module_name_for(str(package / "__init__.py")) == "crossmod"
    assert module_name_for(str(FIXTURES / "callgraph" / "chains.py")) == "chains"


def _project(tmp_path: Path, files: dict[str, str]) -> list[Path]:
    out = []
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        out.append(p)
    return out


APP = {
    "app/__init__.py": "",
    "app/db.py": """\
        import time


        def load():
            return fetch()


        def fetch():
            time.sleep(1)
        """,
    "app/other.py": """\
        def helper():
            return 1
        """,
    "app/flow.py": """\
        from .db import load


        async def step():
            return load()
        """,
    "app/free.py": """\
        from .other import helper


        async def step():
            return helper()
        """,
}


def test_tags_change_only_for_files_importing_a_changed_module(tmp_path: Path):
    files = _project(tmp_path, APP)
    first = build_project_index(files, Config())
    tags = {p.name: first.digest_for(str(p)) for p in files}
    assert tags["db.py"] == "" and tags["flow.py"] and tags["free.py"]  # no coroutine: no tag
    db = tmp_path / "app" / "db.py"
    db.write_text(db.read_text().replace("time.sleep(1)", "return 1"))
    second = build_project_index(files, Config())
    assert second.digest_for(str(tmp_path / "app" / "flow.py")) != tags["flow.py"]
    assert second.digest_for(str(tmp_path / "app" / "free.py")) == tags["free.py"]
    flow = tmp_path / "app" / "flow.py"
    assert analyze_source(flow.read_text(), str(flow), Config(), index=second) == []
    assert [f.code for f in analyze_source(flow.read_text(), str(flow), Config(), index=first)] == ["WFA201"]


def test_summaries_are_reused_from_the_cache_folder(tmp_path: Path, monkeypatch):
    files = _project(tmp_path / "src", APP)
    calls = []
    real = summaries.summarize

    def counting(text, path, config, index, **hints):
        calls.append(Path(path).name)
        return real(text, path, config, index, **hints)

    monkeypatch.setattr(summaries, "summarize", counting)  # the index looks it up on each use
    cache = tmp_path / "cache"
    a = build_project_index(files, Config(), cache_dir=cache)
    assert sorted(calls) == ["db.py", "other.py"]  # only what coroutine files import
    calls.clear()
    b = build_project_index(files, Config(), cache_dir=cache)
    assert calls == []
    assert a.chains == b.chains and a.tags == b.tags
    db = tmp_path / "src" / "app" / "db.py"
    db.write_text(db.read_text() + "\n")
    build_project_index(files, Config(), cache_dir=cache)
    assert calls == ["db.py"]


def test_prepass_lets_a_file_through_only_for_a_blocking_project_call(tmp_path: Path):
    files = _project(tmp_path, APP)
    index = build_project_index(files, Config())
    for name, want in (("flow.py", True), ("free.py", False)):
        p = tmp_path / "app" / name
        text = p.read_text()
        assert might_block_tree(ast.parse(text), text, Config(), index, str(p)) is want
        assert might_block_tree(ast.parse(text), text, Config()) is False  # per file: nothing to see


def test_a_pool_another_module_makes_is_a_value_worth_asking_for():
    # jobs.py imports concurrent.futures.Executor, which makes no pool: the pool comes from
    # pools.py, so the question to the index must be asked and the file let through.
    package = FIXTURES / "callgraph" / "poolvalue"
    files = sorted(package.rglob("*.py"))
    index = build_project_index(files, Config())
    jobs = package / "jobs.py"
    text = jobs.read_text()
    tree = ast.parse(text)
    assert might_block_tree(tree, text, Config()) is False
    questions = value_questions(tree, text, Config(), index, str(jobs))
    assert questions is not None and needs_values(questions, index)
    assert might_block_tree(tree, text, Config(), index, str(jobs)) is True


def test_per_file_mode_leaves_project_calls_alone(tmp_path: Path):
    files = _project(tmp_path, APP)
    flow = files[3]
    assert analyze_source(flow.read_text(), str(flow), Config()) == []


def test_import_cycles_and_recursion_across_modules(tmp_path: Path):
    files = _project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from . import b\n\n\ndef f(n):\n    return b.g(n)\n\n\ndef quiet(n):\n    return b.quiet(n)\n",
        "pkg/b.py": ("import time\n\nfrom . import a\n\n\ndef g(n):\n    if n:\n        return a.f(n - 1)\n"
                     "    time.sleep(1)\n\n\ndef quiet(n):\n    return a.quiet(n)\n"),
        "pkg/c.py": "from .a import f, quiet\n\n\nasync def go():\n    quiet(1)\n    return f(3)\n",
    })
    index = build_project_index(files, Config())
    c = files[-1]
    found = analyze_source(c.read_text(), str(c), Config(), index=index)
    assert [(f.line, f.code) for f in found] == [(6, "WFA201")]
    assert "pkg.a.f() -> pkg.b.g() -> time.sleep (" in found[0].message


def test_wfasync_check_follows_imports(tmp_path: Path):
    _project(tmp_path, APP)
    cmd = [str(Path(sys.executable).parent / "wfasync"), "check", "--isolated", "--format", "json", "."]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(Path(f["path"]).name, f["line"], f["code"]) for f in findings] == [("flow.py", 5, "WFA201")]
    # Warm: the same answer from the caches.
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert json.loads(again.stdout)["findings"] == findings
    assert list((tmp_path / ".wfasync_cache").glob("project-*.json"))


def test_flake8_follows_imports_by_default(tmp_path: Path):
    """flake8 and `wfasync check` give one answer on one tree, and share the summaries."""
    _project(tmp_path, APP)
    flake8 = [sys.executable, "-m", "flake8", "--isolated", "--select", "WFA", "-j", "1"]
    with_index = subprocess.run([*flake8, "app"], cwd=tmp_path, capture_output=True, text=True, check=False)
    lines = with_index.stdout.splitlines()
    assert len(lines) == 1, with_index.stdout + with_index.stderr
    assert lines[0].startswith(str(Path("app", "flow.py")) + ":5:12: WFA201 load() blocks the event loop")
    assert "through app.db.load() -> app.db.fetch() -> time.sleep (" in lines[0]
    stores = list((tmp_path / ".wfasync_cache").glob("project-*.json"))
    assert len(stores) == 1, "flake8 keeps the module summaries where `wfasync check` keeps them"
    summarised = json.loads(stores[0].read_text())["files"]
    assert str(tmp_path / "app" / "db.py") in summarised
    check = subprocess.run([str(Path(sys.executable).parent / "wfasync"), "check", "--isolated", "--format",
                            "json", "."], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert [(Path(f["path"]).name, f["line"], f["code"]) for f in json.loads(check.stdout)["findings"]] == [
        ("flow.py", 5, "WFA201")]
    assert list((tmp_path / ".wfasync_cache").glob("project-*.json")) == stores
    old_option = subprocess.run([*flake8, "--wfasync-cross-module", "app"], cwd=tmp_path, capture_output=True,
                                text=True, check=False)
    assert old_option.stdout == with_index.stdout
    per_file = subprocess.run([*flake8, "--wfasync-per-file", "app"], cwd=tmp_path, capture_output=True,
                              text=True, check=False)
    assert per_file.stdout == "" and per_file.returncode == 0, per_file.stdout + per_file.stderr


def test_a_module_that_cannot_block_is_summarised_without_libcst(tmp_path: Path, monkeypatch):
    files = _project(tmp_path, APP)
    import libcst

    parsed = []
    real = libcst.parse_module

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", counting)
    index = build_project_index(files, Config())
    assert index.summaries["app.other"]["funcs"] == {}
    assert len(parsed) == 1 and "time.sleep" in parsed[0]  # only app.db needed libcst
    assert index.chain("app.db.load") is not None and index.chain("app.other.helper") is None
