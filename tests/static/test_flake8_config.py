"""Real flake8 runs: ``[tool.wfasync]`` in pyproject.toml is the plugin's starting point, and
options given to flake8 override it key by key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = """\
import time

import mylib
from workflows import Workflow, step


class Flow(Workflow):
    @step
    async def go(self, ev):
        await self.helper()
        mylib.fetch()


async def elsewhere():
    time.sleep(1)
    mylib.fetch()
"""

PYPROJECT = """\
[project]
name = "demo"

[tool.wfasync]
scope = "steps"
extra-blocking = { "mylib.fetch" = "use await mylib.afetch()" }
allow = ["time.sleep"]
# flake8 has its own select/ignore/exclude: these must not hide anything from flake8
select = ["WFA2"]
ignore = ["WFA199"]
exclude = ["mod.py"]
"""


def flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "WFA", *args],
        check=False, cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def findings(out: str) -> list[str]:
    """``path:line:col: CODE message`` -> ``"line CODE"``."""
    return [f"{line.split(':', 3)[1]} {line.split(':', 3)[3].split()[0]}" for line in out.splitlines()]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "mod.py").write_text(SOURCE)
    return tmp_path


def test_without_a_table_the_defaults_apply(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (tmp_path / "mod.py").write_text(SOURCE)
    r = flake8(tmp_path, "mod.py")
    assert findings(r.stdout) == ["15 WFA103"], r.stderr


def test_pyproject_alone_applies(project):
    r = flake8(project, "mod.py")
    # scope "steps": only the step; extra-blocking: mylib.fetch is WFA199 with the table's
    # advice; the table's select/ignore/exclude do not filter what flake8 reports.
    assert r.returncode == 1, r.stderr
    assert findings(r.stdout) == ["11 WFA199"], r.stderr
    assert "use await mylib.afetch()" in r.stdout


def test_the_nearest_pyproject_is_found_from_a_subfolder(project):
    sub = project / "pkg" / "inner"
    sub.mkdir(parents=True)
    (sub / "mod.py").write_text(SOURCE)
    r = flake8(sub, "mod.py")
    assert findings(r.stdout) == ["11 WFA199"], r.stderr


def test_flake8_options_override_the_table(project):
    r = flake8(project, "--wfasync-scope=async", "mod.py")
    assert findings(r.stdout) == ["11 WFA199", "16 WFA199"], r.stderr  # time.sleep still allowed

    r = flake8(project, "--wfasync-scope=async", "--wfasync-allow=", "mod.py")
    assert findings(r.stdout) == ["11 WFA199", "15 WFA103", "16 WFA199"], r.stderr

    # extra-blocking given to flake8 replaces the table's list: mylib.fetch is no longer listed
    r = flake8(project, "--wfasync-extra-blocking=other.call", "mod.py")
    assert findings(r.stdout) == [], r.stderr


def test_flake8_config_file_overrides_the_table(project):
    (project / "setup.cfg").write_text("[flake8]\nwfasync-scope = async\nwfasync-allow = mylib.\n")
    r = flake8(project, "mod.py")
    # allow replaced: time.sleep is reported again, mylib.fetch allowed; scope widened
    assert findings(r.stdout) == ["15 WFA103"], r.stderr


def test_flake8_select_and_ignore_stay_flake8s_own(project):
    r = flake8(project, "--wfasync-scope=async", "--extend-ignore=WFA199", "mod.py")
    assert findings(r.stdout) == [], r.stderr


@pytest.mark.parametrize("table, needle", [
    ('scop = "steps"', "unknown key 'scop' (did you mean 'scope'?)"),
    ('scope = "everything"', "key 'scope': must be one of 'async', 'steps', got 'everything'"),
    ("allow = [1]", "key 'allow': must be a list of non-empty strings, got 1"),
    ('extra-blocking = ["not a name"]', "key 'extra-blocking': 'not a name' is not a dotted Python name"),
])
def test_broken_config_is_one_clear_line(tmp_path, table, needle):
    (tmp_path / "pyproject.toml").write_text(f"[tool.wfasync]\n{table}\n")
    (tmp_path / "mod.py").write_text(SOURCE)
    r = flake8(tmp_path, "mod.py")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.strip().splitlines() == [r.stderr.strip()], r.stderr
    assert r.stderr.startswith("flake8-wfasync: ")
    assert "pyproject.toml: [tool.wfasync]: " in r.stderr
    assert needle in r.stderr


def test_invalid_toml_is_one_clear_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.wfasync\nscope = 'steps'\n")
    (tmp_path / "mod.py").write_text(SOURCE)
    r = flake8(tmp_path, "mod.py")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "pyproject.toml: invalid TOML" in r.stderr


COUNTING_RUN = """\
import sys

from flake8.main import cli

from flake8_wfasync.app import project_config

reads = []
original = project_config.load_pyproject


def counting(path):
    reads.append(path)
    return original(path)


project_config.load_pyproject = counting
status = cli.main(sys.argv[1:])
print(f"reads={len(reads)}", file=sys.stderr)
sys.exit(status)
"""


def test_the_table_is_read_once_per_process_not_per_file(project):
    for name in ("a.py", "b.py", "c.py", "d.py"):
        (project / name).write_text(SOURCE)
    (project / "count.py").write_text(COUNTING_RUN)
    r = subprocess.run(
        [sys.executable, "count.py", "--select", "WFA", "-j", "1",
         "a.py", "b.py", "c.py", "d.py"],
        check=False, cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert findings(r.stdout) == ["11 WFA199"] * 4, r.stderr
    assert "reads=1" in r.stderr
