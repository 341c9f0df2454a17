"""A user's tests that catch the BlockingCallWarning themselves, run by real pytest.

The warning is issued where the block happened, in the test's warnings context: on the loop's
thread as soon as the loop is back, or when the run ends. So ``pytest.warns``, ``recwarn`` and
``warnings.catch_warnings`` around the blocking code see it, as they would without the plugin,
and a warnings filter set to ``error`` fails the test with the plugin's report, never with a
traceback through the plugin.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CATCHING = """
import asyncio
import time
import warnings

import pytest

from runtime import BlockingCallWarning, StartEvent, StopEvent, Workflow, step


class Slow(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        time.sleep(0.3)
        return StopEvent(result="done")


async def blocker():
    time.sleep(0.3)


def test_pytest_warns_around_asyncio_run():
    with pytest.warns(BlockingCallWarning, match=r"WFA103 .*blocker"):
        asyncio.run(blocker())


@pytest.mark.asyncio
async def test_pytest_warns_around_a_workflow_run():
    with pytest.warns(BlockingCallWarning, match=r"WFA103 step 'fetch' of Slow"):
        assert await Slow(timeout=10).run() == "done"


async def run_slow():
    return await Slow(timeout=10).run()


def test_recwarn(recwarn):
    assert asyncio.run(run_slow()) == "done"
    caught = [w for w in recwarn if issubclass(w.category, BlockingCallWarning)]
    assert len(caught) == 1
    assert "step 'fetch' of Slow" in str(caught[0].message)


def test_catch_warnings_record():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(blocker())
    assert [w.category for w in caught] == [BlockingCallWarning]
    assert caught[0].lineno == blocker.__code__.co_firstlineno + 1
"""

UNCAUGHT = """
import asyncio
import time

import pytest


def swallow():
    try:
        time.sleep(0.3)
    except BaseException:
        pass  # whatever the plugin raised here would vanish


def test_asyncio_run():
    async def main():
        swallow()

    asyncio.run(main())


@pytest.mark.asyncio
async def test_async():
    swallow()
    await asyncio.sleep(0)


def test_clean():
    asyncio.run(asyncio.sleep(0.01))
"""


def test_warnings_are_caught_where_the_block_happened(suite):
    suite.file("test_catching", CATCHING)
    result = suite.run("-W", "error::runtime.BlockingCallWarning")
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    # Caught by the tests, so neither failures nor entries of pytest's warnings summary.
    assert "warnings summary" not in out
    assert "Traceback" not in out
    # The session summary still lists the site once for the four tests.
    result.stdout.fnmatch_lines(["*= wfasync: event loop blocked =*", "*2 blocking sites in 4 tests*"])


@pytest.mark.parametrize("how", ["ini", "flag"])
def test_filterwarnings_error_fails_with_the_report(suite, how):
    suite.file("test_uncaught", UNCAUGHT)
    if how == "ini":
        suite.ini("filterwarnings =\n    error\n")
        result = suite.run("-rA")
    else:
        result = suite.run("-rA", "-W", "error::runtime.BlockingCallWarning")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*_ test_asyncio_run _*",
            "wfasync: the event loop was blocked 1 time during the test (mode warn, threshold 0.1 s, strict off;"
            " a warnings filter turns BlockingCallWarning into an error)",
            "",
            "WFA103 * blocked the event loop for 0.* s at test_uncaught.py:9: time.sleep(0.3) -> *asyncio.sleep*",
        ]
    )
    # One report per failing test (pytest's short summary may repeat it after "FAILED ... - ").
    headers = [line for line in out.splitlines() if line.startswith("wfasync: the event loop was blocked")]
    assert len(headers) == 2
    assert all("a warnings filter turns BlockingCallWarning into an error" in line for line in headers)
    # The report, not an exception through the plugin or the user's code.
    assert "plugin.py" not in out
    assert "Traceback" not in out
    assert "PASSED test_uncaught.py::test_clean" in out


def test_warn_mode_without_filters_still_lists_the_warnings(suite):
    suite.file("test_uncaught", UNCAUGHT)
    result = suite.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*warnings summary*", "*test_uncaught.py:9: BlockingCallWarning: WFA103 *time.sleep(0.3)*"]
    )
    assert result.stdout.str().count("BlockingCallWarning: WFA103") == 2
