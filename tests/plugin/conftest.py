"""A user's test suite, written with pytester and run by real pytest.

Test modules here enable pytester themselves (``pytest_plugins = ["pytester"]``): pytest
only accepts that variable in the top-level conftest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Keeps pytest-asyncio quiet about its own defaults, so the inner runs' warnings are ours.
BASE_INI = "asyncio_default_fixture_loop_scope = function\n"


class Suite:
    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.ini("")

    def ini(self, extra: str) -> None:
        self.pytester.makeini("[pytest]\n" + BASE_INI + extra)

    def file(self, name: str, source: str) -> Path:
        return self.pytester.makepyfile(**{name: source})

    def run(self, *args: str) -> pytest.RunResult:
        """Run in a child process: each run gets its own interpreter, loops and patches."""
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=180)

    def run_inprocess(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("-p", "no:cacheprovider", *args)

    def json(self, name: str) -> dict[str, Any]:
        return json.loads((self.pytester.path / name).read_text(encoding="utf-8"))


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Suite:
    return Suite(pytester)
