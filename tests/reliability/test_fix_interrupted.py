"""``wfasync fix`` killed half-way leaves every file either as it was or as fixed, never partial.

A real ``wfasync fix`` process works through many files; it is killed with SIGKILL (no
handler, no cleanup) as soon as it has rewritten its first few files. Every file must then be
byte-identical to its old or its new version, and a second run must finish the job and leave
no temporary file behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import libcst as cst
import pytest

from flake8_wfasync.config import Config
from flake8_wfasync.fix import fix_module

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

N_FILES = 60
# Each file is a few kB, so a write is not a single tiny syscall.
TEMPLATE = '''\
"""Module NUMBER."""
import time
from pathlib import Path


async def handler_NUMBER(path):
    time.sleep(NUMBER)
    data = "{padding}"
    return data
'''.replace("{padding}", "x" * 3000)


def _expected_new() -> str:
    fixed, applied, _, _ = fix_module(cst.parse_module(TEMPLATE), "t.py", Config())
    assert applied, "the template must need a fix"
    return fixed.code


def _tree(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def _start_fix(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flake8_wfasync", "fix", "--isolated", "."],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_after_changes(proc: subprocess.Popen[bytes], root: Path, old: dict[str, bytes], changes: int) -> None:
    """SIGKILL the process once at least ``changes`` files differ from their old content."""
    names = sorted(old)
    deadline = time.monotonic() + 90
    changed: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        for name in names:
            if name in changed:
                continue
            try:
                if (root / name).stat().st_size != len(old[name]):
                    changed.add(name)
            except FileNotFoundError:
                changed.add(name)  # replaced at this very moment
        if len(changed) >= changes:
            break
        time.sleep(0.002)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("changes", [1, pytest.param(N_FILES // 3, marks=pytest.mark.slow)])
def test_a_killed_fix_leaves_each_file_old_or_new(tmp_path: Path, changes: int) -> None:
    new_text = _expected_new()
    old: dict[str, bytes] = {}
    new: dict[str, bytes] = {}
    for i in range(N_FILES):
        name = f"mod_{i:04d}.py"
        old[name] = TEMPLATE.replace("NUMBER", str(i + 1)).encode()
        new[name] = new_text.replace("NUMBER", str(i + 1)).encode()
        (tmp_path / name).write_bytes(old[name])

    proc = _start_fix(tmp_path)
    _kill_after_changes(proc, tmp_path, old, changes)
    assert proc.returncode == -signal.SIGKILL, "the fix finished before it could be interrupted"

    after = _tree(tmp_path)
    py_files = {n: b for n, b in after.items() if n.endswith(".py")}
    assert set(py_files) == set(old), "a file went missing or a stray .py appeared"
    partial = [n for n, b in py_files.items() if b not in (old[n], new[n])]
    assert not partial, f"{len(partial)} files are neither old nor new, e.g. {partial[:3]}"
    done = sum(py_files[n] == new[n] for n in old)
    assert 0 < done < N_FILES, done

    # A kill between the temp file's creation and its rename could leave one behind; it
    # must never be a .py file (it would then be checked and fixed as code).
    leftovers = [n for n in after if n.endswith(".wfasync-tmp")]
    assert all(n.startswith(".") for n in leftovers), leftovers

    # A second, uninterrupted run completes the job and leaves nothing else in the folder.
    rerun = subprocess.run([sys.executable, "-m", "flake8_wfasync", "fix", "--isolated", "."],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in rerun.stderr, rerun.stderr
    final = {n: b for n, b in _tree(tmp_path).items() if n not in leftovers}
    assert final == new, sorted(set(final) ^ set(new))[:5]
