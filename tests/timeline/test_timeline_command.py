"""``wfasync timeline RUN.json -o RUN.html``, run as the installed command.

The static package offers the command through the ``wfasync.commands`` entry point group
without importing the runtime; these tests run the real console script.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from runtime import StartEvent, StopEvent, Workflow, WorkflowHandler, step

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "timeline"
GROUP = "wfasync.commands"


def _declared() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    return project.get("entry-points", {}).get(GROUP, {})


@pytest.fixture(scope="module")
def wfasync() -> list[str]:
    """The console script, once the installed metadata knows the command."""
    assert COMMAND in _declared(), f"pyproject.toml declares no {COMMAND!r} in [project.entry-points.{GROUP!r}]"
    if COMMAND not in {ep.name for ep in entry_points(group=GROUP)}:
        reason = f"the installed metadata predates the {GROUP} entry points: pip install -e ."
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    script = Path(sys.executable).with_name("wfasync")
    assert script.is_file(), script
    return [str(script)]


class Tiny(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(0.005)
        return StopEvent(result=1)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    async def main() -> WorkflowHandler:
        handler = Tiny(trace=True).run()
        await handler
        return handler

    return asyncio.run(main()).save_timeline(tmp_path_factory.mktemp("saved") / "run.json")


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_draws_saved_json_as_a_page(wfasync: list[str], saved: Path, tmp_path: Path) -> None:
    done = run([*wfasync, "timeline", str(saved), "-o", "out.html"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "wrote out.html: 1 step execution, 0 blocked spans\n"
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'data-step="only"' in page


def test_default_output_is_beside_the_source(wfasync: list[str], saved: Path, tmp_path: Path) -> None:
    source = tmp_path / "copy.json"
    source.write_bytes(saved.read_bytes())
    done = run([*wfasync, "timeline", "copy.json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "copy.html").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"wfasync: error: missing\.json: cannot read: No such file or directory"),
        ("{oops", r"wfasync: error: missing\.json: not JSON: "),
        (json.dumps({"title": "t", "started_at": "", "duration": 1, "steps": [{"step": 3}]}), r"steps\.0\.workflow: Field required"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_page(wfasync: list[str], tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "missing.json").write_text(content, encoding="utf-8")
    done = run([*wfasync, "timeline", "missing.json", "-o", "out.html"], tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), done.stderr
    assert not (tmp_path / "out.html").exists()


def test_refuses_to_write_over_its_source(wfasync: list[str], saved: Path, tmp_path: Path) -> None:
    source = tmp_path / "run.json"
    source.write_bytes(saved.read_bytes())
    done = run([*wfasync, "timeline", "run.json", "-o", "run.json"], tmp_path)
    assert done.returncode == 2 and "would replace the source" in done.stderr
    assert source.read_bytes() == saved.read_bytes()


def test_help_lists_the_command(wfasync: list[str], tmp_path: Path) -> None:
    done = run([*wfasync, "--help"], tmp_path)
    assert done.returncode == 0
    assert "timeline" in done.stdout and "check" in done.stdout
