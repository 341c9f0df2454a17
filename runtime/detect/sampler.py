"""Stack samples of a blocked loop thread, and what they say: where, what, and who.

The watchdog thread reads the loop thread's frames with ``sys._current_frames()`` while a
callback overruns. This module turns those samples into the parts of a report:

- *where*: the blocking line (the caller of the outermost catalog match, else the hottest
  sampled line);
- *what*: the rule code and advice, from the catalog's runtime names for Python frames
  (``requests.api.get``) or, for a C call that leaves no frame (``time.sleep``, ``open``),
  from the static matcher run on the caller's source line;
- *who*: the workflow step (this engine's, or llama-index-workflows') found on the stack.

Everything here runs on the watchdog thread (or, in strict mode, right after the call), never
as part of the loop's own work.
"""

from __future__ import annotations

import inspect
import linecache
import logging
import os
import sys
import sysconfig
import threading
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from . import lines as lines_mod
from . import static_side
from .loop_hooks import all_subclasses
from .step_codes import step_for_code

logger = logging.getLogger("runtime")

# One frame of a sample: the code, the line it was on, and its module's __name__.
FrameInfo = tuple[CodeType, int, "str | None"]
Sample = tuple[FrameInfo, ...]  # innermost frame first

MAX_DEPTH = 256
_CORO_FLAGS = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE


def capture(thread_id: int, limit: int = MAX_DEPTH) -> tuple[Sample, list[FrameType]]:
    """The thread's stack right now, innermost first, with the live frames (for identity checks).

    Reading another thread's frames is safe under the GIL: the frames cannot change while
    this thread holds it.
    """
    frame = sys._current_frames().get(thread_id)
    infos: list[FrameInfo] = []
    live: list[FrameType] = []
    while frame is not None and len(infos) < limit:
        infos.append((frame.f_code, frame.f_lineno, frame.f_globals.get("__name__")))
        live.append(frame)
        frame = frame.f_back
    return tuple(infos), live


def cut_at_root(sample: Sample, root: CodeType | None) -> Sample:
    """The frames of the running callback: those inside the loop's dispatch frame.

    ``root`` is the code of the frame that calls loop callbacks (asyncio's ``Handle._run``, or
    for uvloop the Python frame that entered the loop). A sample without it was taken while
    the loop thread was in the loop's own machinery (waiting in select): no callback ran.
    When the root is not known yet, the frames up to the outermost coroutine are kept.
    """
    if root is not None:
        for index, (code, _, _) in enumerate(sample):
            if code is root:
                return sample[:index]
        return ()
    outermost = -1
    for index, (code, _, _) in enumerate(sample):
        if code.co_flags & _CORO_FLAGS:
            outermost = index
    return sample[: outermost + 1]


# -- where the standard library and installed packages live ---------------------------------

def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    prefixes = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(os.path.normcase(os.path.abspath(p)) + os.sep for p in prefixes)


_LIBRARY_PREFIXES = _library_prefixes()
_OWN_DIR = os.path.normcase(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_user_file(filename: str) -> bool:
    """True for the application's own files: not the standard library, an installed package,
    a frozen module, or this runtime package itself."""
    if not filename or filename.startswith("<"):
        return False
    path = os.path.normcase(os.path.abspath(filename))
    return not path.startswith(_LIBRARY_PREFIXES) and not path.startswith(_OWN_DIR)


# -- classification ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    code: str | None
    advice: str | None
    call: str | None
    title: str | None


_STATIC_LOADERS = {
    "catalog": static_side.load_catalog,
    "rules": static_side.load_rules,
    "line_matcher": static_side.load_line_matcher,
}


class Classifier:
    """Catalog lookups with caches; thread-safe enough for one watchdog plus strict callers."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str | None, str], Any] = {}
        self._lines: dict[tuple[str, int, str | None], tuple[float | None, Verdict | None]] = {}
        self._lock = threading.Lock()
        # What the static side offers, loaded on first use; a failed load is not retried.
        self._loaded: dict[str, Any] = {}

    def _load(self, part: str) -> Any:
        try:
            return self._loaded[part]
        except KeyError:
            pass
        loaded = _STATIC_LOADERS[part]()
        self._loaded[part] = loaded
        return loaded

    def warm_up(self, parts: Iterable[str] = ("catalog", "rules", "line_matcher")) -> None:
        """Import parts of the static side ahead of the first report."""
        for part in parts:
            self._load(part)

    def title(self, code: str | None) -> str | None:
        rules = self._load("rules")
        if code is None or rules is None:
            return None
        rule = getattr(rules, "RULES", {}).get(code)
        return getattr(rule, "title", None) if rule is not None else None

    def frame_entry(self, module: str | None, qualname: str) -> Any:
        """The catalog entry for a Python frame (``requests.api``, ``get``), or None."""
        key = (module, qualname)
        try:
            return self._frames[key]
        except KeyError:
            pass
        catalog = self._load("catalog")
        entry = None
        if catalog is not None and module:
            try:
                entry = catalog.match_runtime_frame(module, qualname)
            except Exception:  # noqa: BLE001
                logger.debug("catalog.match_runtime_frame(%r, %r) failed", module, qualname, exc_info=True)
        self._frames[key] = entry
        return entry

    def entry_verdict(self, entry: Any, call: str | None) -> Verdict:
        code = getattr(entry, "code", None)
        return Verdict(code, getattr(entry, "advice", None), call, self.title(code))

    def line_verdict(self, filename: str, lineno: int, module: str | None = None) -> Verdict | None:
        """Classify a source line (for blocking C calls that leave no Python frame)."""
        if not filename or filename.startswith("<"):
            return None
        try:
            mtime: float | None = os.stat(filename).st_mtime
        except OSError:
            mtime = None
        key = (filename, lineno, module)
        cached = self._lines.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            verdict = self._classify_line(filename, lineno, module)
        except Exception:  # noqa: BLE001 - an unreadable line is simply unknown
            logger.debug("classifying %s:%s failed", filename, lineno, exc_info=True)
            verdict = None
        self._lines[key] = (mtime, verdict)
        return verdict

    def _classify_line(self, filename: str, lineno: int, module: str | None) -> Verdict | None:
        catalog = self._load("catalog")
        lines = linecache.getlines(filename)
        if catalog is None or not lines:
            return None
        for entry, name in lines_mod.live_entries(lines, lineno, module, catalog.match_qualname):
            return self.entry_verdict(entry, name)
        match_line = self._load("line_matcher")
        cut = lines_mod.excerpt(lines, lineno)
        if match_line is None or cut is None:
            return None
        source, line_in_cut = cut
        for finding in match_line(source, line_in_cut, filename) or ():
            code = getattr(finding, "code", None)
            if not code:
                continue
            name = getattr(finding, "qualname", None)
            entry = catalog.match_qualname(name) if name else None
            if entry is not None and entry.code == code:
                return self.entry_verdict(entry, name)
            return Verdict(code, getattr(finding, "advice", None), name, self.title(code))
        return None


CLASSIFIER = Classifier()


# -- who was running ------------------------------------------------------------------------

class StepFinder:
    """Maps code objects to (workflow class name, step name) for both engines."""

    def __init__(self) -> None:
        self._llama: dict[CodeType, tuple[str, str]] = {}
        self._llama_key: tuple[int, int] | None = None

    def step_of(self, code: CodeType) -> tuple[str, str] | None:
        return step_for_code(code) or self._llama_steps().get(code)

    def _llama_steps(self) -> dict[CodeType, tuple[str, str]]:
        module = sys.modules.get("workflows.workflow") or sys.modules.get("workflows")
        base = getattr(module, "Workflow", None)
        if base is None:
            return {}
        classes = all_subclasses(base)
        versions = sum(getattr(c, "__dict__", {}).get("_step_functions_version", 0) or 0 for c in classes)
        key = (len(classes), versions)
        if key != self._llama_key:
            self._llama = _llama_step_codes(classes)
            self._llama_key = key
        return self._llama


def _llama_step_codes(classes: Iterable[type]) -> dict[CodeType, tuple[str, str]]:
    """llama-index-workflows marks a step function with ``_step_config`` (methods and free
    functions added with ``add_step`` alike)."""
    found: dict[CodeType, tuple[str, str]] = {}
    for cls in classes:
        members = dict(vars(cls))
        extra = vars(cls).get("_step_functions")
        if isinstance(extra, dict):
            members.update(extra)
        for name, value in members.items():
            func = getattr(value, "__func__", value)
            if getattr(func, "_step_config", None) is None:
                continue
            try:
                code = inspect.unwrap(func).__code__
            except (AttributeError, ValueError):
                continue
            found.setdefault(code, (cls.__name__, getattr(func, "__name__", name)))
    return found


STEPS = StepFinder()


# -- putting a block together ---------------------------------------------------------------

@dataclass
class Analysis:
    frames: Sample  # the representative stack, innermost first
    site: FrameInfo | None
    verdict: Verdict | None
    step: tuple[str, str] | None
    coroutine: str | None
    samples: int


def analyze(samples: Sequence[Sample], root: CodeType | None) -> Analysis | None:
    """Pick the representative stack of a block and classify it; None when no sample showed a
    callback running (the loop thread was inside the loop's own machinery)."""
    cut = [cut_at_root(s, root) for s in samples]
    busy = [s for s in cut if s and not starting_a_thread(s)]
    if not busy:
        return None
    # The callback that held the loop: the most sampled outermost frame.
    roots = Counter(s[-1][0] for s in busy)
    main_root = roots.most_common(1)[0][0]
    mine = [s for s in busy if s[-1][0] is main_root]
    hottest = Counter((s[0][0], s[0][1]) for s in mine).most_common(1)[0][0]
    at_hottest = [s for s in mine if (s[0][0], s[0][1]) == hottest]
    frames = Counter(at_hottest).most_common(1)[0][0]
    site, verdict = classify(frames)
    return Analysis(
        frames=frames,
        site=site,
        verdict=verdict,
        step=find_step(frames),
        coroutine=outermost_coroutine(frames),
        samples=len(busy),
    )


# ``Thread.start`` waits until the new thread has run its first lines. That wait is the
# operating system scheduling a thread (a thread pool's first worker, under CPU load it can
# take longer than the threshold), not a blocking call the code chose: nothing to advise.
_THREAD_START: CodeType = threading.Thread.start.__code__


def starting_a_thread(sample: Sample) -> bool:
    """True when the sampled callback was waiting inside ``Thread.start``."""
    return any(code is _THREAD_START for code, _, _ in sample)


def classify(frames: Sample) -> tuple[FrameInfo | None, Verdict | None]:
    """The blocking line and its verdict for one stack (innermost first)."""
    if not frames:
        return None, None
    # The outermost catalog match is what the application called; the line is its caller's.
    for index in range(len(frames) - 1, -1, -1):
        code, _, module = frames[index]
        qualname = qualname_of(code)
        entry = CLASSIFIER.frame_entry(module, qualname)
        if entry is not None:
            site = frames[index + 1] if index + 1 < len(frames) else frames[index]
            return site, CLASSIFIER.entry_verdict(entry, f"{module}.{qualname}")
    # No Python frame for the blocking call: ask the static matcher about the line itself.
    innermost = frames[0]
    verdict = CLASSIFIER.line_verdict(innermost[0].co_filename, innermost[1], innermost[2])
    if verdict is not None:
        return innermost, verdict
    user = first_user_frame(frames)
    if user is not None and user is not innermost:
        verdict = CLASSIFIER.line_verdict(user[0].co_filename, user[1], user[2])
        if verdict is not None:
            return user, verdict
    return (user or innermost), None


# Code objects of their own for a comprehension (before Python 3.12) or a generator expression.
_ANONYMOUS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})


def display_name(code: CodeType) -> str:
    """The function a person wrote: a comprehension is named after the function holding it."""
    if code.co_name not in _ANONYMOUS:
        return code.co_name
    parts = [p for p in qualname_of(code).split(".") if p != "<locals>"]
    outer = [p for p in parts[:-1] if p not in _ANONYMOUS]
    return outer[-1] if outer else code.co_name  # Python 3.10 keeps no qualified name


def display_qualname(code: CodeType) -> str:
    """``qualname_of`` with comprehension frames folded into the function holding them."""
    qualname = qualname_of(code)
    if code.co_name not in _ANONYMOUS:
        return qualname
    parts = qualname.split(".")
    while parts and parts[-1] in _ANONYMOUS:
        parts.pop()
        if parts and parts[-1] == "<locals>":
            parts.pop()
    return ".".join(parts) or "<module>"


def qualname_of(code: CodeType) -> str:
    """``co_qualname`` (Python 3.11+), else the plain function name."""
    return getattr(code, "co_qualname", code.co_name)


def first_user_frame(frames: Sample) -> FrameInfo | None:
    for info in frames:
        if is_user_file(info[0].co_filename):
            return info
    return None


def find_step(frames: Sample) -> tuple[str, str] | None:
    for code, _, _ in frames:
        found = STEPS.step_of(code)
        if found:
            return found
    return None


def outermost_coroutine(frames: Sample) -> str | None:
    for code, _, _ in reversed(frames):
        if code.co_flags & _CORO_FLAGS:
            return display_qualname(code)
    return None


def summaries(frames: Sample) -> list[traceback.FrameSummary]:
    """Frames as ``traceback.FrameSummary``, outermost first like a traceback."""
    out = []
    for code, lineno, _ in reversed(frames):
        line = linecache.getline(code.co_filename, lineno).strip()
        out.append(traceback.FrameSummary(code.co_filename, lineno, display_name(code), lookup_line=False, line=line))
    return out


def source_line(info: FrameInfo | None) -> str | None:
    if info is None:
        return None
    return linecache.getline(info[0].co_filename, info[1]).strip() or None


def task_owning(frames: list[FrameType], task: Any) -> bool:
    """True when ``task``'s coroutine is one of ``frames`` (so the task really is running)."""
    coro = getattr(task, "get_coro", lambda: None)()
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    return frame is not None and any(f is frame for f in frames)
