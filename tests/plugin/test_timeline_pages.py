"""``--wfasync-timeline=DIR``: a page per test that blocked, named in the terminal summary."""

from __future__ import annotations

import re

pytest_plugins = ["pytester"]

SUITE = """
import asyncio
import time

import pytest

from runtime import StartEvent, StopEvent, Workflow, step


class Slow(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        time.sleep(0.3)
        return StopEvent(result=1)


class Quick(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(0.01)
        return StopEvent(result=1)


async def blocking_coroutine():
    time.sleep(0.3)


@pytest.mark.asyncio
async def test_workflow_blocks():
    assert await Quick().run() == 1
    assert await Slow().run() == 1


def test_plain_coroutine_blocks():
    asyncio.run(blocking_coroutine())


@pytest.mark.asyncio
async def test_clean():
    assert await Quick().run() == 1


@pytest.mark.parametrize("n", [1, 2])
def test_param_blocks(n):
    asyncio.run(blocking_coroutine())
"""


def test_one_page_per_blocking_test_with_its_runs_and_blocks(suite) -> None:
    suite.file("test_flows", SUITE)
    result = suite.run("--wfasync-timeline=pages")
    result.assert_outcomes(passed=5)
    folder = suite.pytester.path / "pages"
    pages = sorted(p.name for p in folder.iterdir())
    assert pages == [
        "test_flows.py__test_param_blocks_1.html",
        "test_flows.py__test_param_blocks_2.html",
        "test_flows.py__test_plain_coroutine_blocks.html",
        "test_flows.py__test_workflow_blocks.html",
    ]
    out = result.stdout.str()
    for name in pages:
        assert re.search(rf"^wfasync: timeline of test_flows\.py::\S+: pages/{re.escape(name)}$", out, re.M), out
    page = (folder / "test_flows.py__test_workflow_blocks.html").read_text(encoding="utf-8")
    # Both runs of the test are drawn, each in its own lane, and the block is on the page.
    assert page.count('class="span"') == 2
    assert "Quick.fetch" in page and "Slow.fetch" in page
    assert page.count('class="block"') == 1 and "WFA103" in page
    plain = (folder / "test_flows.py__test_plain_coroutine_blocks.html").read_text(encoding="utf-8")
    assert 'class="span"' not in plain and plain.count('class="block"') == 1


def test_without_the_option_no_page_is_written(suite) -> None:
    suite.file("test_flows", SUITE)
    result = suite.run()
    result.assert_outcomes(passed=5)
    assert "wfasync: timeline of" not in result.stdout.str()
    assert not (suite.pytester.path / "pages").exists()


def test_a_file_where_the_folder_should_be_is_a_usage_error(suite) -> None:
    suite.file("test_flows", SUITE)
    (suite.pytester.path / "pages").write_text("not a folder", encoding="utf-8")
    result = suite.run("--wfasync-timeline=pages")
    assert result.ret == 4
    assert "wfasync: --wfasync-timeline: 'pages' is a file; give a folder for the timeline pages" in result.stderr.str()


def test_xdist_workers_write_pages_and_the_controller_names_them(suite) -> None:
    suite.file("test_flows", SUITE)
    result = suite.run("-n", "2", "--wfasync-timeline=pages")
    result.assert_outcomes(passed=5)
    names = re.findall(r"^wfasync: timeline of (\S+): ", result.stdout.str(), re.M)
    assert sorted(names) == [
        "test_flows.py::test_param_blocks[1]",
        "test_flows.py::test_param_blocks[2]",
        "test_flows.py::test_plain_coroutine_blocks",
        "test_flows.py::test_workflow_blocks",
    ]
    assert len(list((suite.pytester.path / "pages").iterdir())) == 4
