"""What a run imports: libcst costs a quarter of a second by itself, so the command, the scan
and a run answered from the cache do without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli_helpers import write

BAD = "import time\n\n\nasync def poll():\n    time.sleep(1)\n"
CLEAN = "import asyncio\n\n\nasync def poll():\n    await asyncio.sleep(1)\n"

_RUN = """
import sys
from flake8_wfasync.app.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("LIBCST", "libcst" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def _check(cwd: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-c", _RUN, "check", "--isolated", "-v", *args, "."], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr


def test_command_and_scan_modules_do_without_libcst() -> None:
    code = ("import sys\n"
            "import flake8_wfasync.app.cli, flake8_wfasync.app.runner, flake8_wfasync.analysis.precheck, "
            "flake8_wfasync.analysis.project_index, flake8_wfasync.app.output, flake8_wfasync.knowledge.rules\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'libcst'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_a_run_from_the_cache_or_the_precheck_alone_never_imports_libcst(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", CLEAN)
    write(tmp_path, "plain.py", "def f():\n    return 1\n")
    code, err = _check(tmp_path, "--no-cache")
    assert "2 skipped by the pre-check" in err and "LIBCST False" in err and code == 0
    write(tmp_path, "bad.py", BAD)
    code, err = _check(tmp_path)
    assert "1 analysed" in err and "LIBCST True" in err and code == 1
    code, err = _check(tmp_path)
    assert "3 from the cache" in err and "LIBCST False" in err and code == 1
