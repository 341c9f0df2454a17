"""What one module hands over to another (a constant path, a settings field, a factory's
client) is learnt while the files are scanned: the same findings in one process and in many,
and no module parsed again only to answer those questions, in any process."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import REPO, write

from flake8_wfasync.analysis.value_sources import ValueSource
from flake8_wfasync.app import runner
from flake8_wfasync.config import Config

CROSSVALUES = REPO / "fixtures" / "callgraph" / "crossvalues"
FILLER = "import time\n\n\nasync def poll():\n    time.sleep(1)\n"
QUIET = "def add(a, b):\n    return a + b\n"


def _project(root: Path) -> list[Path]:
    """The cross-module values fixture in a project big enough for every pool of a run."""
    shutil.copytree(CROSSVALUES, root / "crossvalues")
    for i in range(30):  # enough files that might block for the parse-ahead workers
        write(root, f"filler/busy{i:02}.py", FILLER)
    for i in range(120):  # enough files for a pool of scanners
        write(root, f"filler/quiet{i:03}.py", QUIET)
    write(root, "filler/__init__.py", "")
    return sorted(root.rglob("*.py"))


def _expected(root: Path) -> set[tuple[str, int, str]]:
    out = set()
    server = root / "crossvalues" / "server.py"
    for n, line in enumerate(server.read_text().splitlines(), 1):
        m = re.search(r"# expect-project: (WFA\d+)", line)
        if m:
            out.add((str(server), n, m.group(1)))
    return out


@pytest.mark.parametrize("jobs", [1, 2])
def test_values_of_other_modules_come_from_the_scan(tmp_path: Path, monkeypatch, jobs: int) -> None:
    files = _project(tmp_path)
    marker = tmp_path / "read-again"
    real_read = ValueSource.read.__func__

    def read(cls, path: str, index):  # runs in forked workers too: it leaves a file behind
        with open(marker, "a") as fh:
            fh.write(path + "\n")
        return real_read(cls, path, index)

    monkeypatch.setattr(ValueSource, "read", classmethod(read))
    result, index = runner.check_project(files, files, Config(), jobs=jobs)
    assert index is not None and not result.errors
    server = str(tmp_path / "crossvalues" / "server.py")
    found = {(f.path, f.line, f.code) for f in result.findings if f.path == server}
    assert found == _expected(tmp_path) and len(found) >= 8
    busy = [f for f in result.findings if "busy" in f.path]
    assert len(busy) == 30 and {f.code for f in busy} == {"WFA103"}
    assert not marker.exists(), "modules parsed again for their values:\n" + marker.read_text()


def test_value_facts_travel_without_the_text_and_read_it_when_asked(tmp_path: Path) -> None:
    import pickle

    files = _project(tmp_path)
    _, index = runner.check_project(files, files, Config(), jobs=1)
    assert index is not None
    copy = pickle.loads(pickle.dumps(index))
    # The worker's copy answers from the facts, and reads config.py itself for the scope.
    assert copy.value("crossvalues.config.FILES_DIRECTORY") == index.value("crossvalues.config.FILES_DIRECTORY")
    assert copy.value("crossvalues.config.FILES_DIRECTORY") is not None
    assert copy.value("crossvalues.config.NAME") is None
    facts = pickle.loads(pickle.dumps(ValueSource.read(str(tmp_path / "crossvalues" / "config.py"), index)))
    assert facts.text is None and "FILES_DIRECTORY" in facts.holders and "get_client" in facts.factories
