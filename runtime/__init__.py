"""wfasync runtime: a workflow engine for asyncio and a detector for blocked event loops.

    from runtime import Workflow, step, Context, Event, StartEvent, StopEvent

The engine's names load on first use: the pytest plugin and the detector import this package
on every test run, and should not pay for the engine and pydantic when no workflow runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .detect.report import BlockingCallWarning, BlockingReport

if TYPE_CHECKING:
    from .detect.detector import BlockingDetector
    from .engine.public import *  # noqa: F403

# A library's logger stays silent until the application configures logging: reports already
# reach the user as BlockingCallWarning, and Python's last-resort handler would print them twice.
logging.getLogger(__name__).addHandler(logging.NullHandler())

_DETECT_NAMES = ("BlockingCallWarning", "BlockingDetector", "BlockingReport")


def __getattr__(name: str) -> Any:
    if name == "BlockingDetector":
        from .detect.detector import BlockingDetector

        return BlockingDetector
    # Probes for other dunders (pytest's __test__, doctest's __wrapped__...) must not load the engine.
    if name.startswith("__") and name != "__all__":
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    from .engine import public

    if name == "__all__":
        return sorted([*_DETECT_NAMES, *public.__all__], key=str.lower)
    if name not in public.__all__:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    value = getattr(public, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    from .engine import public

    return sorted({*globals(), *_DETECT_NAMES, *public.__all__})
