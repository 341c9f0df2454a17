"""What a timeline holds: step executions and blocked-loop spans on one clock.

Times are seconds from the timeline's origin (the start of the run, or of the test). The
data is plain dataclasses, so recording a run costs little; reading a timeline back from
JSON goes through pydantic, which checks every field and names the one that is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FORMAT_VERSION = 1

Mode = Literal["async", "thread", "process"]
Outcome = Literal["ok", "error", "cancelled"]


class TimelineError(ValueError):
    """A timeline that cannot be read or written; the message is one line for the user."""


@dataclass
class StepSpan:
    """One execution of a step by one of its workers."""

    workflow: str
    run_id: str
    step: str
    # Which of the step's workers ran it (0-based: num_workers=4 gives slots 0 to 3).
    worker: int
    mode: Mode
    # Where the step's code ran: the loop's thread, a pool thread, or "process".
    where: str
    start: float
    end: float
    event_in: str
    event_out: str | None = None
    outcome: Outcome = "ok"
    error: str | None = None


@dataclass
class Frame:
    filename: str
    lineno: int | None
    name: str
    line: str | None = None


@dataclass
class BlockedSpan:
    """A stretch of time during which the event loop ran nothing else."""

    start: float
    end: float
    code: str | None = None
    title: str | None = None
    call: str | None = None
    filename: str | None = None
    lineno: int | None = None
    source_line: str | None = None
    advice: str = ""
    workflow: str | None = None
    step: str | None = None
    task: str | None = None
    message: str = ""
    stack: list[Frame] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Timeline:
    """Everything one page draws."""

    title: str
    # Wall-clock time of the origin (ISO 8601), for the reader; spans are relative to it.
    started_at: str
    duration: float
    steps: list[StepSpan] = field(default_factory=list)
    blocks: list[BlockedSpan] = field(default_factory=list)
    # Whether a blocking detector watched the loop, and its threshold in seconds: a page
    # without red spans then says whether nothing blocked or nothing was looking.
    detector: bool = False
    threshold: float | None = None
    # Step executions left out: a run keeps its first spans only (runtime.engine.trace).
    dropped: int = 0
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what ``save_json`` writes)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "timeline") -> Timeline:
        """Check and load data written by ``to_dict``; a TimelineError names what is wrong."""
        from pydantic import TypeAdapter, ValidationError

        if not isinstance(data, dict):
            raise TimelineError(f"{source}: expected a JSON object with 'steps' and 'blocks', got {type(data).__name__}")
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise TimelineError(f"{source}: timeline format version {version!r}; this version reads {FORMAT_VERSION}")
        try:
            return TypeAdapter(cls).validate_python(data, strict=False)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "top level"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise TimelineError(f"{source}: {where}: {first['msg']}{more}") from None

    @classmethod
    def load_json(cls, path: str | os.PathLike[str]) -> Timeline:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise TimelineError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise TimelineError(f"{path}: not a UTF-8 text file") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TimelineError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        return cls.from_dict(data, str(path))


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` in one step: readers see the old file or the whole new one."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the mode, as for any file the user writes.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise TimelineError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise TimelineError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise
