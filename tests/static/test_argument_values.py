"""Values whose constructor's arguments rule the blocking out (an unbounded queue, an SQLite
database in memory), followed across the modules of a project: annotated small packages, each
line checked both ways as the fixtures are, through the full and the lazy project index."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_tools import by_line, expected, write_package

from flake8_wfasync.analysis import analyze_source
from flake8_wfasync.analysis.project_index import build_project_index, lazy_index_for
from flake8_wfasync.config import Config

PACKAGE = {
    "pkg/buffers.py": """
        import queue
        import sqlite3

        JOBS = queue.Queue()
        SLOTS = queue.Queue(maxsize=8)


        def memory_db():
            return sqlite3.connect(":memory:")


        def file_db(path):
            return sqlite3.connect(path)


        def fill(q: queue.Queue, item):
            q.put(item)


        def drain(q: queue.Queue):
            return q.get()
    """,
    "pkg/steps.py": """
        from pkg import buffers
        from pkg.buffers import drain, fill


        async def produce(item):
            buffers.JOBS.put(item)
            buffers.SLOTS.put(item)  # expect: WFA107
            buffers.SLOTS.put(item, block=False)
            return buffers.JOBS.get()  # expect: WFA107


        async def store(path, row):
            mem = buffers.memory_db()
            mem.execute("INSERT INTO t VALUES (?)", row)
            mem.commit()
            disk = buffers.file_db(path)  # expect: WFA201
            disk.execute("INSERT INTO t VALUES (?)", row)  # expect: WFA106
            disk.commit()  # expect: WFA106


        async def helpers(item):
            drain(buffers.JOBS)  # expect: WFA201
            # The helper's parameter says queue.Queue, of any size: put() there may wait.
            fill(buffers.SLOTS, item)  # expect: WFA201
    """,
}


def _check(files: list[Path], index) -> None:
    problems = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        got = by_line(analyze_source(source, str(path), Config(), index=index))
        want = expected(source)
        for n in sorted(set(got) | set(want)):
            if got.get(n, set()) != want.get(n, set()):
                problems.append((path.name, n, sorted(got.get(n, ())), sorted(want.get(n, ()))))
    assert not problems, "(file, line, found, expected)\n" + "\n".join(map(str, problems))


@pytest.mark.parametrize("lazy", [False, True], ids=["index", "lazy-index"])
def test_constructor_arguments_decide_across_modules(tmp_path: Path, lazy: bool) -> None:
    files = write_package(tmp_path, PACKAGE)
    steps = tmp_path / "pkg" / "steps.py"
    index = lazy_index_for(str(steps), Config()) if lazy else build_project_index(files, Config())
    assert index is not None
    _check(files, index)
