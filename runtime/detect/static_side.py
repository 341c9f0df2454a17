"""The static side's knowledge, as the detector sees it: imported on first use, never required.

The runtime reads the shared catalog (which callables block, under which code, with which
advice), the rule titles, and the analysis' line matcher for blocking C calls that leave no
Python frame. Importing them costs libcst and a few hundred milliseconds, so nothing here runs
until a report needs it; and classification is best effort, so each loader returns None (and
logs why at debug level) when its part of the static side cannot be imported.

This is the only module of the runtime that imports ``flake8_wfasync``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

logger = logging.getLogger("runtime")

LineMatcher = Callable[[str, int, str], Any]


def load_catalog() -> ModuleType | None:
    """The shared catalog of blocking callables, or None when it cannot be imported."""
    try:
        from flake8_wfasync.knowledge import catalog
    except Exception as exc:  # noqa: BLE001 - classification is best effort
        logger.debug("the catalog is unavailable: %s", exc, exc_info=True)
        return None
    return catalog


def load_rules() -> ModuleType | None:
    """The rule records (titles by code), or None when they cannot be imported."""
    try:
        from flake8_wfasync.knowledge import rules
    except Exception as exc:  # noqa: BLE001 - classification is best effort
        logger.debug("the rules are unavailable: %s", exc, exc_info=True)
        return None
    return rules


def load_line_matcher() -> LineMatcher | None:
    """The analysis' matcher for the blocking calls on one source line, or None."""
    try:
        from flake8_wfasync.analysis import blocking_calls_on_line
    except Exception as exc:  # noqa: BLE001 - classification is best effort
        logger.debug("the line matcher is unavailable: %s", exc, exc_info=True)
        return None
    return blocking_calls_on_line
