"""Each report names the user's line, once per block, and no more than it needs to.

Real pytest runs (pytester, a child process) with the JSON report as the precise record.
"""

from __future__ import annotations

pytest_plugins = ["pytester"]

STRICT = """
import asyncio
import zlib
from pathlib import Path


async def save(path):
    Path(path).write_text("hello")


async def pack():
    return zlib.compress(b"session=abc")


def test_write_text(tmp_path):
    asyncio.run(save(tmp_path / "out.txt"))


def test_tiny_compress():
    asyncio.run(pack())
"""


def test_strict_mode_names_the_users_call_once(suite):
    suite.file("test_strict", STRICT)
    result = suite.run("--wfasync-strict=on", "--wfasync-report=report.json", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=2)
    sites = suite.json("report.json")["sites"]
    # Path.write_text at the test file's line 7, not pathlib.py's io.open; and zlib.compress
    # of a cookie is no CPU-heavy call worth a report.
    assert [(s["file"], s["line"], s["code"]) for s in sites] == [("test_strict.py", 7, "WFA102")]
    assert sites[0]["source"] == 'Path(path).write_text("hello")'
    assert sites[0]["hits"] == 1
    # Not a workflow step: no advice to make it a plain def.
    assert "plain def" not in sites[0]["advice"]
    out = result.stdout.str()
    assert "pathlib.py" not in out
    assert " 0.0 ms" not in out
    result.stdout.fnmatch_lines(["*test_strict.py:7: BlockingCallWarning: WFA102 * called a blocking function for *s at *"])


CONCURRENT = """
import asyncio
import time

from runtime import StartEvent, StopEvent, Workflow, step


class Slow(Workflow):
    @step
    async def work(self, ev: StartEvent) -> StopEvent:
        time.sleep(0.3)
        return StopEvent(result=ev.get("n"))


def test_two_runs():
    async def main():
        return await asyncio.gather(Slow(timeout=10).run(n=1), Slow(timeout=10).run(n=2))

    assert asyncio.run(main()) == [1, 2]
"""


def test_two_concurrent_blocking_runs_give_two_reports(suite):
    suite.file("test_concurrent", CONCURRENT)
    result = suite.run("--wfasync-mode=error", "--wfasync-report=report.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["wfasync: the event loop was blocked 2 times during the test *"])
    (site,) = suite.json("report.json")["sites"]
    assert (site["line"], site["code"], site["step"], site["hits"]) == (10, "WFA103", "work", 2)
    # Each report is one 0.3 s block, not the two run back to back.
    assert site["longest_seconds"] < 0.5


GC_AND_COMPREHENSIONS = """
import asyncio
import gc
import weakref


class Node:
    pass


def on_dead(ref):
    pass


def test_collect(tmp_path):
    gc.disable()
    try:
        keep = []
        for _ in range(1_500_000):
            node = Node()
            node.me = node
            keep.append(weakref.ref(node, on_dead))
        del node

        async def main():
            gc.collect()

        asyncio.run(main())
    finally:
        gc.enable()


def test_comprehension():
    async def crunch():
        return sum([x * x for x in range(8_000_000)])

    asyncio.run(crunch())
"""


def test_gc_and_comprehensions_are_named_for_what_the_user_wrote(suite):
    suite.file("test_gc", GC_AND_COMPREHENSIONS)
    result = suite.run("--wfasync-report=report.json")
    result.assert_outcomes(passed=2)
    sites = {s["tests"][0].split("::")[1]: s for s in suite.json("report.json")["sites"]}
    crunch = sites["test_comprehension"]
    assert crunch["line"] == 34
    assert crunch["function"] == "crunch"
    out = result.stdout.str()
    assert "<listcomp>" not in out
    assert "def on_dead" not in out
    # A collection holds the GIL, so the watchdog may not sample it at all: its own start and
    # stop times decide, every run.
    collect = sites["test_collect"]
    # The line that ran the collection, not the weakref callback it ran.
    assert (collect["line"], collect["source"]) == (25, "gc.collect()")
    assert collect["call"].startswith("garbage collection, generation 2")
    assert "gc.freeze()" in collect["advice"]
