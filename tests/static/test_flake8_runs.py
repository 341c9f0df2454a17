"""Real flake8 runs (subprocess) with the plugin: findings, noqa, options and config files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fixture_tools import FIXTURES, expected

SOURCE = """\
import time

import mylib


async def poll():
    time.sleep(1)
    time.sleep(2)  # noqa: WFA103
    time.sleep(3)  # noqa
    time.sleep(4)  # noqa: E501
    mylib.fetch()
"""


def flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "WFA", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "mod.py").write_text(SOURCE)
    return tmp_path


def lines_of(out: str) -> list[str]:
    return [line.split(":", 3)[1] + " " + line.split(":", 3)[3].split()[0] for line in out.splitlines()]


def test_findings_and_noqa(project):
    r = flake8(project, "mod.py")
    assert r.returncode == 1, r.stderr
    assert lines_of(r.stdout) == ["7 WFA103", "10 WFA103"]
    assert "mod.py:7:5: WFA103 time.sleep(1) blocks the event loop in coroutine 'poll': " \
           "use await asyncio.sleep(1)" in r.stdout


def test_extra_blocking_and_allow_on_the_command_line(project):
    r = flake8(project, "--wfasync-extra-blocking=mylib.fetch=use mylib.afetch, or a thread",
               "--wfasync-allow=time.sleep", "mod.py")
    assert lines_of(r.stdout) == ["11 WFA199"], r.stderr
    assert "use mylib.afetch, or a thread" in r.stdout


@pytest.mark.parametrize("cfg_name", ["setup.cfg", "tox.ini", ".flake8"])
def test_options_from_config_files(project, cfg_name):
    (project / cfg_name).write_text(
        "[flake8]\n"
        "wfasync-extra-blocking =\n"
        "    other.thing,\n"
        "    mylib.fetch = await mylib.afetch() instead\n"
        "wfasync-allow = time.sleep\n"
    )
    r = flake8(project, "mod.py")
    assert lines_of(r.stdout) == ["11 WFA199"], r.stderr
    assert "await mylib.afetch() instead" in r.stdout


def test_scope_steps_option(tmp_path):
    (tmp_path / "flow.py").write_text(
        "import time\nfrom workflows import Workflow, step\n\n\n"
        "class Flow(Workflow):\n    @step\n    async def go(self, ev):\n        await self.x()\n"
        "        time.sleep(1)\n\n    async def x(self):\n        pass\n\n\n"
        "async def elsewhere():\n    time.sleep(2)\n"
    )
    assert lines_of(flake8(tmp_path, "flow.py").stdout) == ["9 WFA103", "16 WFA103"]
    assert lines_of(flake8(tmp_path, "--wfasync-scope=steps", "flow.py").stdout) == ["9 WFA103"]


@pytest.mark.parametrize("args, cfg, needle", [
    (["--wfasync-scope=everything"], None, "--wfasync-scope: must be one of async, steps, got 'everything'"),
    (["--wfasync-extra-blocking=not a name"], None,
     "--wfasync-extra-blocking: 'not a name' is not a qualified name"),
    ([], "[flake8]\nwfasync-allow = ok.name, 1bad\n", "--wfasync-allow: '1bad' is not a qualified name"),
    ([], "[flake8]\nwfasync-scope = nope\n", "--wfasync-scope: must be one of async, steps, got 'nope'"),
])
def test_bad_option_values_are_one_clear_line(project, args, cfg, needle):
    if cfg:
        (project / "setup.cfg").write_text(cfg)
    r = flake8(project, *args, "mod.py")
    assert r.returncode != 0
    assert needle in r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_flake8_on_the_fixtures_matches_the_annotations():
    """flake8 over the analyzer fixtures that need no configuration finds what they expect."""
    files = [p for p in sorted((FIXTURES / "static").glob("*.py")) if "fixture-config" not in p.read_text()]
    names = [str(p.relative_to(FIXTURES.parent)) for p in files]
    r = flake8(FIXTURES.parent, "--max-line-length=200", *names)
    got: dict[tuple[str, int], set[str]] = {}
    for line in r.stdout.splitlines():
        path, lineno, _col, rest = line.split(":", 3)
        got.setdefault((Path(path).name, int(lineno)), set()).add(rest.split()[0])
    want = {
        (p.name, n): codes for p in files for n, codes in expected(p.read_text()).items()
    }
    assert got == want, r.stderr


def test_opt_in_rule_only_when_named_in_full(tmp_path: Path):
    (tmp_path / "loop.py").write_text(
        "import asyncio\n\n\nasync def f():\n    return asyncio.get_event_loop()\n")
    assert flake8(tmp_path, "loop.py").stdout == ""
    assert lines_of(flake8(tmp_path, "--extend-select", "WFA304", "loop.py").stdout) == ["5 WFA304"]
    (tmp_path / "setup.cfg").write_text("[flake8]\nextend-select = WFA304\n")
    assert lines_of(flake8(tmp_path, "loop.py").stdout) == ["5 WFA304"]
    # flake8 without --select: flake8's default ignore holds it back as well.
    (tmp_path / "setup.cfg").unlink()
    plain = subprocess.run([sys.executable, "-m", "flake8", "loop.py"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert "WFA304" not in plain.stdout


def test_wfasync_check_opt_in_rule(tmp_path: Path):
    (tmp_path / "loop.py").write_text(
        "import asyncio\n\n\nasync def f():\n    return asyncio.get_event_loop()\n")
    run = [sys.executable, "-m", "flake8_wfasync", "check", "--isolated", "--no-cache", "--no-source"]
    assert "WFA304" not in subprocess.run(run + ["."], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "WFA304" not in subprocess.run(run + ["--select", "WFA3", "."], cwd=tmp_path,
                                          capture_output=True, text=True).stdout
    named = subprocess.run(run + ["--select", "WFA,WFA304", "."], cwd=tmp_path, capture_output=True, text=True)
    assert "5:12  WFA304" in named.stdout
