"""The project index does bounded work on project shapes that used to make it quadratic.

A package whose ``__init__`` (or any module) offers hundreds of names, each asked for by
another module, was summarised once per name, each time for all the names asked so far; a
name the analysis asks late (through a type) linked the whole project again each time. Both
are counted here, not timed: the counts are the work."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from flake8_wfasync.analysis import summaries
from flake8_wfasync.analysis.project_index import ProjectIndex
from flake8_wfasync.app import runner
from flake8_wfasync.config import Config
from fixture_tools import write_package

NAMES = 60  # names asked of one module, one round of the index at a time


@pytest.fixture
def summarised(monkeypatch) -> Counter[str]:
    """How many times each file is summarised from now on (file names)."""
    seen: Counter[str] = Counter()
    real = summaries.summarize

    def spy(text, path, *args, **kwargs):
        seen[Path(path).name] += 1
        return real(text, path, *args, **kwargs)

    monkeypatch.setattr(summaries, "summarize", spy)
    return seen


def _hub(blocking: int) -> str:
    """A module of many small functions; one of them blocks."""
    out = ["import time\n"]
    for i in range(NAMES):
        body = "time.sleep(x)" if i == blocking else "x + 1"
        out.append(f"\ndef f{i}(x):\n    return {body}\n")
    return "".join(out)


def test_a_module_asked_for_many_names_one_at_a_time_is_summarised_a_bounded_number_of_times(
        tmp_path, summarised):
    # The coroutine asks for hub.f0 in the first round; each relay asks for one more name of
    # the hub in the next round, when the hub has a (partial) summary already.
    files = {"pkg/hub.py": _hub(blocking=37)}
    for i in range(1, NAMES):
        files[f"pkg/relay{i}.py"] = f"from pkg import hub\n\n\ndef go(x):\n    return hub.f{i}(x)\n"
    calls = "".join(f"    relay{i}.go(x)\n" for i in range(1, NAMES))
    imports = ", ".join(f"relay{i}" for i in range(1, NAMES))
    files["pkg/steps.py"] = f"from pkg import hub, {imports}\n\n\nasync def step(x):\n    hub.f0(x)\n{calls}"
    paths = write_package(tmp_path, files)

    result, index = runner.check_project(paths, paths, Config(), jobs=1)

    assert index is not None
    assert summarised["hub.py"] <= 12, summarised["hub.py"]  # was 32 for the 60 names
    found = [(f.code, Path(f.path).name, f.line) for f in result.findings]
    assert found == [("WFA201", "steps.py", 5 + 37)], found  # relay37.go(x): the one that blocks
    (finding,) = result.findings
    assert "pkg.relay37.go() -> pkg.hub.f37() -> time.sleep (" in finding.message


def test_names_asked_late_through_a_type_do_not_link_the_project_again_each(tmp_path, monkeypatch):
    """The ``ast`` pass cannot see that ``self.repo`` is a ``Repo``: the analysis asks for each
    method once the build is over. Each used to summarise the repo module again and link the
    whole project again; past a few names the module is summarised in full, and a name that
    leads to what is summarised already needs no new link."""
    links: list[int] = []
    real_link = ProjectIndex._link

    def counting_link(self):
        links.append(1)
        return real_link(self)

    monkeypatch.setattr(ProjectIndex, "_link", counting_link)
    methods = "".join(f"\n    def m{i}(self, x):\n        return {'open(x).read()' if i == 23 else 'x'}\n"
                      for i in range(NAMES))
    coroutines = "".join(f"\n    async def run{i}(self, x):\n        return self.repo.m{i}(x)\n"
                         for i in range(NAMES))
    paths = write_package(tmp_path, {
        "pkg/repo.py": f"class Repo:{methods}",
        # (The sleep makes the pre-check send the file to the analysis, which asks late.)
        "pkg/steps.py": f"import time\n\nfrom pkg.repo import Repo\n\n\nclass Worker:\n"
                        f"    def __init__(self):\n        self.repo = Repo()\n{coroutines}"
                        f"\n    async def nap(self):\n        time.sleep(1)\n",
    })

    result, _ = runner.check_project(paths, paths, Config(), jobs=1)

    assert len(links) <= 16, len(links)  # was 61
    found = [(f.code, Path(f.path).name, f.line) for f in result.findings]
    assert found == [("WFA201", "steps.py", 9 + 3 * 23 + 2), ("WFA103", "steps.py", 9 + 3 * NAMES + 2)], found
