"""The analysis: which calls block the event loop, where, and how to fix each.

:mod:`.precheck` is the cheap test on the ``ast`` tree that most files stop at; :mod:`.walker`
is the one libcst pass (with :mod:`.resolve` for names and :mod:`.origins` for LlamaIndex
values); :mod:`.callgraph`, :mod:`.summaries` and :mod:`.project_index` follow calls into the
project's own functions (WFA201). The walker's functions are imported, and libcst with them,
when first asked for: the pre-check alone never pays for libcst.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..source import SourceParseError
from .precheck import might_block, might_block_tree

if TYPE_CHECKING:
    from .walker import (
        analyze_module,
        analyze_source,
        analyze_text,
        blocking_calls_on_line,
    )

__all__ = ["SourceParseError", "analyze_module", "analyze_source", "analyze_text", "blocking_calls_on_line",
           "might_block", "might_block_tree"]

_FROM_WALKER = frozenset({"analyze_module", "analyze_source", "analyze_text", "blocking_calls_on_line"})


def __getattr__(name: str) -> Any:
    if name in _FROM_WALKER:
        from . import walker

        return getattr(walker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
