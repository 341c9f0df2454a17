"""Real suites' shapes that used to make the plugin wait on a watchdog that never answered.

A wait that nobody answers ends after the detector's flush timeout, and the plugin says so in
its summary ("the blocking watchdog did not answer in time"): these runs must never print it.
"""

from __future__ import annotations

import re

import pytest

from runtime.detect import detector

pytest_plugins = ["pytester"]

NO_ANSWER = "did not answer in time"


def many_tests(count: int) -> str:
    tests = "\n".join(
        f"@pytest.mark.asyncio\nasync def test_{n}():\n    await asyncio.sleep(0)\n" for n in range(count)
    )
    return f"import asyncio\n\nimport pytest\n\n{tests}"


# An autouse fixture is set up before pytest-asyncio's loop and torn down after it: the loop is
# closed, and the watchdog drops it, a moment before the plugin detaches at the end of teardown.
SLOW_TEARDOWN = """
import time

import pytest


@pytest.fixture(autouse=True)
def settle():
    yield
    time.sleep(0.02)
"""


def test_200_tests_with_function_scoped_loops(suite):
    suite.file("conftest", SLOW_TEARDOWN)
    suite.file("test_many", many_tests(200))
    result = suite.run("--durations=1", "--durations-min=0")
    result.assert_outcomes(passed=200)
    assert NO_ANSWER not in result.stdout.str()
    # The slowest phase of any test is far from the detector's flush timeout (5 s), which is
    # what a wait nobody answers used to cost.
    slowest = float(re.search(r"^(\d+\.\d+)s (?:setup|call|teardown) ", result.stdout.str(), re.M).group(1))
    assert slowest < detector.FLUSH_TIMEOUT * 0.8


FORKED = """
import asyncio
import json
import logging
import os
import time
import warnings

from runtime import BlockingCallWarning


async def blocker():
    time.sleep(0.3)


class Notes(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_forked_child_is_watched():
    # The parent's watchdog and reporter threads exist before the fork, and die with it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(blocker())
    assert [w.category for w in caught] == [BlockingCallWarning]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            notes = Notes()
            logging.getLogger("runtime").addHandler(notes)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                asyncio.run(blocker())
                asyncio.run(asyncio.sleep(0.1))
            found = {
                "warnings": [str(w.message) for w in caught if w.category is BlockingCallWarning],
                "logged": notes.messages,
            }
            os.write(write, json.dumps(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        found = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert len(found["warnings"]) == 1, found
    assert found["warnings"][0].startswith("WFA103 "), found
    assert not [m for m in found["logged"] if "did not answer" in m], found
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_reports_and_never_waits_for_the_parents_threads(suite):
    suite.file("test_forked", FORKED)
    result = suite.run("-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)
    assert NO_ANSWER not in result.stdout.str()


def test_the_plugin_says_when_the_watchdog_does_not_answer(suite):
    # The message the tests above look for is real: a watchdog that cannot answer (a stuck
    # reporter) makes the plugin print it.
    suite.file(
        "conftest",
        """
import threading

import pytest

from runtime.detect import detector


@pytest.fixture(autouse=True)
def stuck_reporter(monkeypatch):
    monkeypatch.setattr(detector, "FLUSH_TIMEOUT", 0.2)
    gate = threading.Event()
    detector._REPORTER.submit(gate.wait)
    yield
    gate.set()
""",
    )
    suite.file(
        "test_one",
        "import asyncio\nimport time\n\n\ndef test_blocks():\n    async def main():\n        time.sleep(0.2)\n\n"
        "    asyncio.run(main())\n",
    )
    result = suite.run()
    result.assert_outcomes(passed=1)
    assert NO_ANSWER in result.stdout.str()
