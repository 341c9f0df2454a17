"""``wfasync fix`` keeps quiet about the user's code and cleans up after a fix that was killed."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from cli_helpers import run_wfasync, write

# ``x is 1`` makes the compiler warn; the fix compiles each rewrite to check it.
WARNS = """\
import time


async def poll(x):
    if x is 1:
        pass
    time.sleep(1)
"""

FIXED = """\
import asyncio
import time


async def poll(x):
    if x is 1:
        pass
    await asyncio.sleep(1)
"""


def test_compiler_warnings_about_the_users_code_are_not_printed(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile(WARNS, "mod.py", "exec", dont_inherit=True)
    assert any(issubclass(w.category, SyntaxWarning) for w in caught), "this Python does not warn"

    path = write(tmp_path, "mod.py", WARNS)
    env = {"PYTHONWARNINGS": "always"}
    r = run_wfasync("fix", "--isolated", "mod.py", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert path.read_text() == FIXED
    assert "Warning" not in r.stderr, r.stderr

    r = run_wfasync("fix", "--isolated", "--diff", "mod.py", cwd=tmp_path, env=env)
    assert "Warning" not in r.stderr, r.stderr


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_fix_removes_stale_temp_files_of_the_files_it_fixes(tmp_path: Path) -> None:
    write(tmp_path, "mod.py", WARNS)
    write(tmp_path, "other.py", "x = 1\n")
    stale = tmp_path / ".mod.py.k3j_x9q2.wfasync-tmp"
    stale_of_other = tmp_path / ".other.py.abcd1234.wfasync-tmp"
    kept = {
        ".mod.py.fresh123.wfasync-tmp": "young: may belong to a fix running now",
        ".mod.py.short.wfasync-tmp": "not eight characters",
        ".mod.py.ABCD1234.wfasync-tmp": "upper case: not a mkstemp name",
        "mod.py.abcd1234.wfasync-tmp": "no leading dot",
        ".mod.py.abcd1234.wfasync-tmp.bak": "another suffix",
        ".notes.py.abcd1234.wfasync-tmp": "no such file is being fixed",
    }
    for name in (stale.name, stale_of_other.name, *kept):
        (tmp_path / name).write_bytes(b"half a file")
    folder = tmp_path / ".mod.py.dir12345.wfasync-tmp"
    folder.mkdir()
    for path in tmp_path.iterdir():
        if path.name != ".mod.py.fresh123.wfasync-tmp":
            _age(path, 3600)

    # --diff changes nothing, leftovers included.
    r = run_wfasync("fix", "--isolated", "--diff", "mod.py", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert stale.exists()

    r = run_wfasync("fix", "--isolated", "mod.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "mod.py").read_text() == FIXED
    assert not stale.exists()
    assert stale_of_other.exists(), "other.py was not being fixed"
    for name, why in kept.items():
        assert (tmp_path / name).exists(), why
    assert folder.is_dir()

    # Fixing the folder covers other.py too, which needs no change.
    r = run_wfasync("fix", "--isolated", ".", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not stale_of_other.exists()
    assert (tmp_path / "other.py").read_text() == "x = 1\n"


def test_temp_files_are_looked_for_beside_the_file_a_symlink_points_to(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write(real, "mod.py", WARNS)
    (tmp_path / "link.py").symlink_to(real / "mod.py")
    stale = real / ".mod.py.abcd1234.wfasync-tmp"
    stale.write_bytes(b"half a file")
    _age(stale, 3600)

    r = run_wfasync("fix", "--isolated", "link.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (real / "mod.py").read_text() == FIXED
    assert not stale.exists()
