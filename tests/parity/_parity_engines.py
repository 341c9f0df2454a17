"""Run one workflow source on both engines: as written (llama-index-workflows) and with its
``workflows`` imports pointed at ``runtime``, which is all a user changes when switching.

A scenario is a plain Python file under ``scenarios/`` written against llama-index-workflows'
public modules. It defines ``async def main()`` returning plain data that records what the
workflows did (results, streamed events, errors); whatever it prints is recorded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).parent / "scenarios"
ENGINES = ("llama-index-workflows", "runtime")

# `from workflows.events import X`, `import workflows.retry_policy as rp`, `from workflows import Y`:
# every public module of the peer maps to the one public module of ours, but for the testing
# helpers (`workflows.testing`, `workflows.testing.runner`), which live in `runtime.testing`.
_PEER_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)(?P<verb>from|import)[ \t]+workflows(?P<testing>\.testing)?(?:\.\w+)*\b", re.MULTILINE
)


@dataclass(frozen=True)
class Outcome:
    """What one engine did with one scenario."""

    result: Any
    printed: str


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.py"))


def source_for(engine: str, text: str) -> str:
    """The scenario's source as a user of ``engine`` writes it."""
    if engine == "llama-index-workflows":
        return text
    return _PEER_IMPORT.sub(lambda m: f"{m['indent']}{m['verb']} runtime{m['testing'] or ''}", text)


def run_scenario(name: str, engine: str) -> Outcome:
    """Import the scenario as a fresh module written for ``engine`` and run its ``main()``."""
    path = SCENARIOS / f"{name}.py"
    module_name = f"parity_{name}_{'peer' if engine != 'runtime' else 'ours'}"
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    # Registered while it runs: pydantic and the engines resolve annotations through sys.modules.
    sys.modules[module_name] = module
    printed = io.StringIO()
    try:
        code = compile(source_for(engine, path.read_text(encoding="utf-8")), str(path), "exec")
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(code, module.__dict__)  # noqa: S102 - the scenario files are part of this test suite
            result = asyncio.run(module.main())
    finally:
        del sys.modules[module_name]
    return Outcome(result=result, printed=printed.getvalue())
