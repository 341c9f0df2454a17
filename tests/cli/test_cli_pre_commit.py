"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on a temporary git repo.

pre-commit installs a ``language: python`` hook by pip-installing the hook repository into a
fresh virtualenv, which needs the package index. The default test therefore runs the very hook
definitions of .pre-commit-hooks.yaml (id, entry, file types, serial) as ``repo: local`` hooks
with ``language: system``, resolving ``wfasync`` from this environment: offline and fast. The
``slow`` test runs ``pre-commit try-repo`` against this checkout exactly as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import REPO, write

HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
BIN = str(Path(sys.executable).parent)

BAD = """\
import time


async def poll():
    time.sleep(1)
    return 1
"""
CLEAN = """\
import asyncio


async def poll():
    await asyncio.sleep(1)
    return 1
"""
FIXED = """\
import asyncio
import time


async def poll():
    await asyncio.sleep(1)
    return 1
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "NO_COLOR": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def _git(repo: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _repo(tmp_path: Path, env: dict[str, str]) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", env=env)
    write(repo, "app/flow.py", BAD)
    write(repo, "app/ok.py", CLEAN)
    write(repo, "notes.md", "time.sleep(1) in prose is not code\n")
    write(repo, "pyproject.toml", '[tool.wfasync]\nexclude = ["generated/"]\n')
    write(repo, "generated/out.py", BAD)
    return repo


def _pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


def test_hook_definitions() -> None:
    by_id = {hook["id"]: hook for hook in HOOKS}
    assert set(by_id) == {"wfasync", "wfasync-fix"}
    assert by_id["wfasync"]["entry"].split()[:2] == ["wfasync", "check"]
    assert by_id["wfasync-fix"]["entry"].split()[:2] == ["wfasync", "fix"]
    for hook in HOOKS:
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert "--force-exclude" in hook["entry"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_hooks_run_through_pre_commit(tmp_path: Path) -> None:
    env = _env(tmp_path)
    repo = _repo(tmp_path, env)
    local_hooks = []
    for hook in HOOKS:
        local = {k: v for k, v in hook.items() if k not in ("minimum_pre_commit_version",)}
        local["language"] = "system"
        local_hooks.append(local)
    (repo / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": local_hooks}]}, sort_keys=False)
    )
    _git(repo, "add", "-A", env=env)

    check = _pre_commit(repo, env, "run", "wfasync", "--all-files")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "WFA103" in check.stdout
    assert "app/flow.py" in check.stdout
    assert "generated/out.py" not in check.stdout  # [tool.wfasync] exclude holds for pre-commit
    assert "app/ok.py" not in check.stdout

    fix = _pre_commit(repo, env, "run", "wfasync-fix", "--all-files")
    assert fix.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in fix.stdout
    assert (repo / "app" / "flow.py").read_text() == FIXED
    assert (repo / "generated" / "out.py").read_text() == BAD

    _git(repo, "add", "-A", env=env)
    again = _pre_commit(repo, env, "run", "--all-files")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("Passed") == 2


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_try_repo_installs_and_runs_the_published_hook(tmp_path: Path) -> None:
    """pre-commit builds its own virtualenv from this checkout (needs the package index)."""
    env = _env(tmp_path)
    repo = _repo(tmp_path, env)
    _git(repo, "add", "-A", env=env)
    result = _pre_commit(repo, env, "try-repo", str(REPO), "wfasync", "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "WFA103" in result.stdout
    assert "generated/out.py" not in result.stdout
