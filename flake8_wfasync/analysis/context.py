"""What the walk keeps per function, and the findings it collects before they get positions."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .resolve import ClassInfo, LocalDef

__all__ = ["FunctionContext", "RawFinding"]


@dataclass(eq=False)
class FunctionContext:
    """One coroutine (or, in line mode, any function) being analysed."""

    fn: cst.FunctionDef | None
    name: str
    cls: ClassInfo | None
    step: bool
    has_await: bool = False
    awaited: set[int] = field(default_factory=set)
    suppressed: set[int] = field(default_factory=set)
    # Calls that are the items of a sync with -> whether its block awaits.
    entered: dict[int, bool] = field(default_factory=dict)
    inlined: set[int] = field(default_factory=set)
    local_calls: list[LocalDef] = field(default_factory=list)
    raws: list[RawFinding] = field(default_factory=list)

    @property
    def where(self) -> str:
        if self.step:
            wf = f" of {self.cls.name}" if self.cls is not None else ""
            return f"step '{self.name}'{wf}"
        if self.fn is None:
            return "module code"
        kind = "coroutine" if self.fn.asynchronous is not None else "function"
        owner = f"{self.cls.name}." if self.cls is not None else ""
        return f"{kind} '{owner}{self.name}'"


@dataclass(eq=False)
class RawFinding:
    code: str
    node: cst.CSTNode
    # Node whose position is reported (the inner call for WFA301), and its enclosing def.
    pos_node: cst.CSTNode
    owner: cst.FunctionDef | None
    message: str
    qualname: str | None
    advice: str
    twin: str | None
    ctx: FunctionContext
    feeds: str | None = None
    lazy: str | None = None  # Finding.lazy
