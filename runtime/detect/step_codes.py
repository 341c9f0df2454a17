"""Which workflow step a function's code belongs to, as engines register them.

The watchdog sees code objects on a blocked thread's stack and names the step from them. The
engine registers each step function here when its workflow class is defined, so the detector
never imports the engine. Entries go with their code objects.
"""

from __future__ import annotations

import types
import weakref

# code object -> (workflow class name, step name)
_STEP_BY_CODE: weakref.WeakKeyDictionary[types.CodeType, tuple[str, str]] = weakref.WeakKeyDictionary()


def remember_step_code(code: types.CodeType, workflow_name: str, step_name: str) -> None:
    """Say that ``code`` runs step ``step_name`` of the workflow class ``workflow_name``."""
    _STEP_BY_CODE[code] = (workflow_name, step_name)


def step_for_code(code: types.CodeType) -> tuple[str, str] | None:
    """(workflow class name, step name) for the code object of a step function, else None."""
    return _STEP_BY_CODE.get(code)
