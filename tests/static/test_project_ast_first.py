"""Project summaries made from the ``ast`` alone (tentative ones): a module whose functions
cannot block by themselves and only call other project functions is not parsed by libcst
unless one of those turns out to block; then it is, so the WFA201 chain names every helper."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flake8_wfasync.analysis import analyze_source, summaries, walker
from flake8_wfasync.analysis.project_index import build_project_index, lazy_index_for
from flake8_wfasync.app import runner
from flake8_wfasync.config import Config
from fixture_tools import write_package


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files libcst parses from now on (file names only)."""
    seen: list[str] = []
    real = walker.cst_parse

    def spy(text: str, path: str):
        seen.append(Path(path).name)
        return real(text, path)

    monkeypatch.setattr(walker, "cst_parse", spy)
    monkeypatch.setattr(summaries, "cst_parse", spy)
    return seen


def _messages(path: Path, index) -> list[str]:
    return [f.message for f in analyze_source(path.read_text(), str(path), Config(), index=index)
            if f.code == "WFA201"]


STEPS = """
    from pkg import a, clean


    async def step(x):
        a.outer(x)
        clean.tidy(x)
"""


def test_a_module_that_blocks_only_through_another_is_parsed_to_name_its_helpers(tmp_path, parsed):
    files = write_package(tmp_path, {
        "pkg/a.py": """
            from pkg import b


            def outer(x):
                return _helper(x)


            def _helper(x):
                return b.middle(x)
        """,
        "pkg/b.py": """
            from pkg import c


            def middle(x):
                return _relay(x)


            def _relay(x):
                return c.inner(x)
        """,
        "pkg/c.py": """
            import time


            def inner(x):
                time.sleep(x)
        """,
        "pkg/clean.py": """
            from pkg import c


            def tidy(x):
                return c.pure(x)


            def unused(x):
                return c.inner(x)
        """,
        "pkg/steps.py": STEPS,
    })
    # c.pure is not there at all: unknown, so not blocking.
    index = build_project_index(files, Config())
    assert sorted(set(parsed)) == ["a.py", "b.py", "c.py"]  # clean.py: from its ast alone
    assert index.summaries["pkg.clean"].get("tentative")
    assert not index.summaries["pkg.a"].get("tentative")
    steps = tmp_path / "pkg" / "steps.py"
    (msg,) = _messages(steps, index)
    assert ("through pkg.a.outer() -> pkg.a._helper() -> pkg.b.middle() -> pkg.b._relay() -> "
            "pkg.c.inner() -> time.sleep (") in msg
    lazy = lazy_index_for(str(steps), Config())
    assert _messages(steps, lazy) == [msg]  # the same as from libcst summaries of everything


def test_a_variable_is_not_a_function_but_an_alias_is_followed(tmp_path, parsed):
    files = write_package(tmp_path, {
        "pkg/db.py": """
            def load(path):
                with open(path) as fh:
                    return fh.read()
        """,
        "pkg/api.py": """
            import struct

            from pkg import db

            PACK = struct.Struct("!H").pack
            fetch = db.load


            def slow(path):
                return open(path).read()
        """,
        "pkg/steps.py": """
            from pkg import api


            async def step(path):
                api.PACK(1)
                api.fetch(path)
        """,
    })
    index = build_project_index(files, Config())
    steps = tmp_path / "pkg" / "steps.py"
    (msg,) = _messages(steps, index)
    assert "api.fetch(path)" in msg and "pkg.db.load() -> open (" in msg
    assert _messages(steps, lazy_index_for(str(steps), Config())) == [msg]


# A coroutine that calls a project method through the type of an attribute.
THROUGH_A_TYPE = """
    import time

    from pkg.repo import Repo


    class Worker:
        def __init__(self):
            self.repo = Repo()

        async def run(self, path):
            time.sleep(1)
            return self.repo.fetch(path)
"""


def test_a_call_only_libcst_resolves_is_followed_after_the_build(tmp_path):
    """The ast pass cannot see that ``self.repo`` is a ``Repo``: the analysis asks the index
    for ``Repo.fetch`` once the build is over, and the index summarises what it reaches."""
    files = write_package(tmp_path, {
        "pkg/repo.py": """
            from pkg import disk


            class Repo:
                def fetch(self, path):
                    return disk.read(path)
        """,
        "pkg/disk.py": """
            def read(path):
                with open(path) as fh:
                    return fh.read()
        """,
        "pkg/steps.py": THROUGH_A_TYPE,
    })
    result, _ = runner.check_project(files, files, Config(), jobs=1)
    found = [(f.code, Path(f.path).name, f.line) for f in result.findings]
    assert ("WFA201", "steps.py", 13) in found, found
    (msg,) = [f.message for f in result.findings if f.code == "WFA201"]
    assert "pkg.repo.Repo.fetch() -> pkg.disk.read() -> open (" in msg


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_cached_result_follows_a_change_in_a_module_reached_through_a_type(tmp_path, jobs):
    """The name only the analysis resolved is part of the file's cache tag: when the module
    it leads to stops blocking, the file is analysed again instead of answered from the cache.
    (The real command in its own process: with two jobs it forks.)"""
    files = write_package(tmp_path / "proj", {
        "pkg/repo.py": """
            class Repo:
                def fetch(self, path):
                    with open(path) as fh:
                        return fh.read()
        """,
        "pkg/steps.py": THROUGH_A_TYPE,
    })
    # Enough files that the parallel run really uses its workers.
    for i in range(30):
        extra = tmp_path / "proj" / "pkg" / f"other{i}.py"
        extra.write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n", encoding="utf-8")
    root = files[0].parent.parent
    argv = ["check", "--format", "json", "--jobs", jobs, "--cache-dir", str(tmp_path / "cache"), str(root)]

    def codes() -> tuple[list[tuple[str, str]], str]:
        proc = subprocess.run([sys.executable, "-m", "flake8_wfasync", argv[0], "-v", *argv[1:]],
                              capture_output=True, text=True, timeout=120)
        out, err = proc.stdout, proc.stderr
        found = json.loads(out)["findings"]
        return sorted((f["code"], Path(f["path"]).name) for f in found if "other" not in f["path"]), err

    assert codes()[0] == [("WFA103", "steps.py"), ("WFA201", "steps.py")]
    (root / "pkg" / "new.py").write_text("x = 1\n", encoding="utf-8")  # the tree changed: index built
    found, said = codes()
    assert found == [("WFA103", "steps.py"), ("WFA201", "steps.py")]
    assert "33 from the cache" in said, said  # the tag the analysis made is the one the index makes
    (root / "pkg" / "repo.py").write_text(textwrap.dedent("""
        class Repo:
            def fetch(self, path):
                return path
    """), encoding="utf-8")
    found, said = codes()
    assert found == [("WFA103", "steps.py")]
    assert "32 from the cache" in said, said  # steps.py and repo.py analysed again
