"""A folder holding a FIFO, a socket or a broken link named ``*.py`` never hangs the command.

Opening a FIFO for reading waits until a writer comes, so a walked ``fifo.py`` used to hang
``wfasync check`` and ``wfasync fix`` forever. Such entries are not source files: they are
passed over; a broken symlink is still reported as unreadable.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "ok.py").write_text("import time\nasync def f():\n    time.sleep(1)\n")
    os.mkfifo(tmp_path / "fifo.py")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock.py"))
    finally:
        sock.close()
    (tmp_path / "broken.py").symlink_to(tmp_path / "nowhere.py")
    return tmp_path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flake8_wfasync", *args, "--isolated", "."],
                          cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_check_passes_over_special_files_and_reports_the_broken_link(folder: Path) -> None:
    proc = _run("check", "--no-cache", "--no-source", cwd=folder)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "ok.py" in proc.stdout and "WFA103" in proc.stdout
    assert "broken.py:1:1: error: cannot read" in proc.stdout + proc.stderr
    assert "fifo.py" not in proc.stdout + proc.stderr and "sock.py" not in proc.stdout + proc.stderr
    assert "2 files checked" in proc.stdout


def test_fix_passes_over_special_files(folder: Path) -> None:
    proc = _run("fix", cwd=folder)
    assert "Traceback" not in proc.stderr
    assert "await asyncio.sleep(1)" in (folder / "ok.py").read_text()
    assert "fifo.py" not in proc.stdout + proc.stderr
