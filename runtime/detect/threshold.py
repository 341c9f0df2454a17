"""How long a loop callback may run before it counts as a block: the one default, and its check.

The detector, the detector a run attaches (``WFASYNC_BLOCKING_THRESHOLD``) and the pytest
plugin's flag, ini key and marker all read a threshold; they share this default and this
check, so one value means the same everywhere and a bad one gets the same message.
"""

from __future__ import annotations

import math
import os
from typing import Any

DEFAULT_THRESHOLD = 0.1
# Threshold (seconds) for the detector the engine attaches with Workflow(detect_blocking=True).
THRESHOLD_ENV = "WFASYNC_BLOCKING_THRESHOLD"


def check_threshold(value: Any, source: str = "threshold") -> float:
    """``value`` as seconds, or ValueError naming ``source``: a finite number above 0, not a bool."""
    number: float | None = None
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
    if number is None or not math.isfinite(number) or number <= 0:
        raise ValueError(f"{source} must be a positive number of seconds, got {value!r}")
    return number


def threshold_from_env() -> float:
    """``WFASYNC_BLOCKING_THRESHOLD`` when set (checked), else the default."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    return check_threshold(raw, THRESHOLD_ENV) if raw else DEFAULT_THRESHOLD
