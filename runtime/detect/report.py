"""What the blocking detector found: one :class:`BlockingReport` per blocked stretch of a loop.

A report speaks the static checker's language: the same rule code and the same advice, so
``WFA103`` at run time means exactly what ``WFA103`` means in ``flake8``.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
import traceback
from dataclasses import dataclass, field
from typing import Any

# Advice for blocking work that matches no catalog entry (a CPU loop, an unknown C call).
UNKNOWN_ADVICE = (
    "move the work off the event loop: await asyncio.to_thread(fn, ...), "
    "await loop.run_in_executor(pool, fn, ...) for CPU-heavy work, "
    "or make the step a plain def"
)
# Advice for a block spent in garbage collection.
GC_ADVICE = (
    "create fewer short-lived objects with reference cycles on the loop, call gc.freeze() "
    "after start-up, or move gc.collect() off the hot path"
)
# The one-line form keeps the blocking line and the advice this short.
MAX_LINE_SOURCE = 60
MAX_LINE_ADVICE = 60

# Advice clauses that only make sense inside a workflow step.
_STEP_CLAUSE = re.compile(r"(?:[;,]\s*|\s+)(?:or\s+)?make the step a plain def[^;]*")


def advice_for(advice: str, in_step: bool) -> str:
    """``advice`` without its "make the step a plain def" clause when the code is not a step."""
    return advice if in_step else _STEP_CLAUSE.sub("", advice).strip()


def format_duration(seconds: float) -> str:
    """``0.30 s``, ``4.2 ms``, ``35 µs``: short calls keep a readable figure."""
    if seconds >= 0.01:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{max(seconds * 1e6, 1):.0f} µs"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _short_advice(advice: str) -> str:
    """The first clause of the advice: what to do, without the alternatives."""
    first = advice.split("; ")[0]
    for mark in (" (", ": ", ", "):
        if len(first) <= MAX_LINE_ADVICE:
            break
        if mark in first:
            first = first[: first.index(mark)]
    return _short(first, MAX_LINE_ADVICE)


def _without_comment(line: str) -> str:
    """The code of a source line, so a trailing comment does not read as part of the advice."""
    code = line.strip()
    try:
        # Lazily: a line that opens a bracket fails only at its end, after its comment token.
        for tok in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
            if tok.type == tokenize.COMMENT:
                return code[: tok.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return code


class BlockingCallWarning(RuntimeWarning):
    """Issued when a coroutine or workflow step blocked the event loop.

    A ``RuntimeWarning`` subclass, so ``warnings.filterwarnings`` and ``-W`` select it, and the
    warning is located at the blocking line so per-module filters apply.
    """


@dataclass
class BlockingReport:
    """One stretch of time during which a loop callback did not give control back to the loop."""

    duration: float
    # The blocking line: the caller of the catalog match, else the hottest sampled line.
    filename: str | None = None
    lineno: int | None = None
    source_line: str | None = None
    # __name__ of the blocking line's module (for warnings filters by module).
    module: str | None = None
    # Rule code and advice from the shared catalog; ``code`` is None for unknown work.
    code: str | None = None
    advice: str = UNKNOWN_ADVICE
    # The blocking callable when the catalog named it ("time.sleep", "urllib.request.urlopen").
    call: str | None = None
    rule_title: str | None = None
    # Who was running: a workflow step when one was found, else the task and its coroutine.
    step: str | None = None
    workflow: str | None = None
    task: str | None = None
    coroutine: str | None = None
    # The callback's frames, outermost first (the innermost is where the loop thread was).
    stack: list[traceback.FrameSummary] = field(default_factory=list)
    thread_name: str | None = None
    thread_id: int | None = None
    # True when strict mode caught a known blocking call shorter than the threshold.
    strict: bool = False
    # CPU time the loop thread used during the block (None when unknown), and how many stack
    # samples the watchdog took while it lasted.
    cpu_time: float | None = None
    samples: int = 0
    # perf_counter() when the block started (an estimate within the heartbeat interval).
    started: float | None = None

    @property
    def site(self) -> tuple[str | None, int | None, str | None]:
        """Key that groups reports of the same blocking place: (filename, lineno, code)."""
        return (self.filename, self.lineno, self.code)

    @property
    def who(self) -> str:
        coroutine = self.coroutine.replace(".<locals>.", ".") if self.coroutine else None
        if self.step:
            return f"step '{self.step}' of {self.workflow}" if self.workflow else f"step '{self.step}'"
        if self.task and coroutine:
            return f"task '{self.task}' ({coroutine})"
        if coroutine:
            return f"coroutine {coroutine}"
        if self.task:
            return f"task '{self.task}'"
        return "a loop callback"

    def location(self) -> str:
        if not self.filename:
            return "an unknown place"
        return f"{_display_path(self.filename)}:{self.lineno}"

    def format(self) -> str:
        """One short line, e.g. ``WFA103 step 'fetch' of MyFlow blocked the event loop for
        1.02 s at app.py:14: time.sleep(1) -> use await asyncio.sleep(...)``; the rest of
        the advice and the stack are in :meth:`format_stack`."""
        head = f"{self.code} " if self.code else ""
        how = "called a blocking function" if self.strict else "blocked the event loop"
        text = f"{head}{self.who} {how} for {format_duration(self.duration)} at {self.location()}"
        line = _without_comment(self.source_line or "")
        if line:
            text += f": {_short(line, MAX_LINE_SOURCE)}"
        if self.code is None:
            text += f" ({self.call})" if self.call else " (CPU work or an unknown call)"
        if self.advice:
            text += f" -> {_imperative(_short_advice(self.advice))}"
        return text

    def explain(self) -> str:
        """What the one-line form leaves out: the rule, the whole advice."""
        if self.code is None and not self.call:
            what = (
                "no known blocking call: CPU work or a call the catalog lacks "
                "(the line is where the samples found the loop thread most often)"
            )
        elif self.code is None:
            what = str(self.call)
        else:
            what = self.code + (f" {self.rule_title}" if self.rule_title else "") + (f": {self.call}" if self.call else "")
        return f"{what}\nFix: {_imperative(self.advice)}" if self.advice else what

    def format_stack(self) -> str:
        """The report line, what it leaves out, and the sampled stack, like a traceback."""
        lines = [self.format(), self.explain()]
        if self.stack:
            lines.append("Stack of the loop thread while it was blocked (most recent call last):")
            lines.extend(traceback.format_list(self.stack))
        return "\n".join(line.rstrip("\n") for line in lines)

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "code": self.code,
            "duration": round(self.duration, 6),
            "filename": self.filename,
            "lineno": self.lineno,
            "source_line": self.source_line,
            "advice": self.advice,
            "call": self.call,
            "step": self.step,
            "workflow": self.workflow,
            "task": self.task,
            "coroutine": self.coroutine,
            "thread_name": self.thread_name,
            "thread_id": self.thread_id,
            "strict": self.strict,
            "cpu_time": None if self.cpu_time is None else round(self.cpu_time, 6),
            "samples": self.samples,
            "stack": [
                {"filename": f.filename, "lineno": f.lineno, "name": f.name, "line": f.line}
                for f in self.stack
            ],
            "message": self.format(),
        }


def _imperative(advice: str) -> str:
    """Catalog advice is written as the replacement ("await asyncio.sleep(...)"); read as a
    sentence it wants a verb."""
    return f"use {advice}" if advice.startswith(("await ", "asyncio.", "loop.")) else advice


def _display_path(filename: str) -> str:
    """Relative to the working directory when the file is under it, else as given."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if rel.startswith(os.pardir) else rel
