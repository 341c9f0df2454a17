"""pytest plugin: report event-loop blocking found while tests run.

Every event loop that runs during a test (pytest-asyncio's, ``asyncio.run`` in a sync test,
the engine's runs, a loop a fixture keeps running in a thread) gets a
:class:`runtime.BlockingDetector` from the start of the test's setup to the end of its
teardown. What the detectors report becomes, per ``--wfasync-mode``:

- ``warn`` (default): a ``BlockingCallWarning`` located at the blocking line, issued where
  the block happened (so ``pytest.warns`` and ``recwarn`` catch it) and listed in pytest's
  warnings summary; a warnings filter that makes it an error fails the test as ``error`` does;
- ``error``: the test fails with the report as its failure text. The failure is made here,
  after the phase, never raised into the step, so a step that swallows exceptions cannot
  hide it;
- ``off``: nothing is watched.

At the end of the session a summary lists each blocking site once; ``--wfasync-report``
writes the same as JSON. Under pytest-xdist the workers send their sites to the controller.

This module is loaded by every pytest run in an environment where the distribution is
installed, so it imports nothing heavy at import time and never lets its own trouble fail a
run that did not ask for it.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from runtime.detect import loop_hooks
from runtime.detect.threshold import DEFAULT_THRESHOLD
from runtime.pytest.options import (
    DEFAULT_MODE,
    MARKER_KEYS,
    MODES,
    SettingError,
    Settings,
    apply_marker,
    from_sources,
)
from runtime.pytest.summary import (
    SiteBook,
    report_document,
    summary_lines,
    write_json_atomically,
)

PLUGIN_NAME = "wfasync-session"
ALLOW_MARKER = "wfasync_allow_blocking"
SETTINGS_MARKER = "wfasync"
WORKER_OUTPUT_KEY = "wfasync_sites"

_settings_key = pytest.StashKey["Settings | None"]()
_blocked_key = pytest.StashKey["dict[str, list[Any]]"]()
_marker_error_key = pytest.StashKey[str]()
_watch_key = pytest.StashKey["LoopWatch"]()
_timeline_key = pytest.StashKey["TimelineRecorder"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wfasync", "wfasync: event-loop blocking in tests")
    group.addoption(
        "--wfasync-mode",
        dest="wfasync_mode",
        default=None,
        metavar="MODE",
        help=f"what a blocked event loop does to a test: {', '.join(MODES)} (default {DEFAULT_MODE})",
    )
    group.addoption(
        "--wfasync-threshold",
        dest="wfasync_threshold",
        default=None,
        metavar="SECONDS",
        help=f"report loop callbacks that run longer than this (default {DEFAULT_THRESHOLD})",
    )
    group.addoption(
        "--wfasync-strict",
        dest="wfasync_strict",
        default=None,
        metavar="on|off",
        help="also report known blocking calls shorter than the threshold (default off)",
    )
    group.addoption(
        "--wfasync-report",
        dest="wfasync_report",
        default=None,
        metavar="PATH",
        help="write every blocking site found in the session to this JSON file",
    )
    group.addoption(
        "--wfasync-timeline",
        dest="wfasync_timeline",
        default=None,
        metavar="DIR",
        help="write a timeline page (HTML) for each test that blocked the event loop into DIR",
    )
    parser.addini("wfasync_mode", f"wfasync: {', '.join(MODES)} (default {DEFAULT_MODE})", default="")
    parser.addini("wfasync_threshold", f"wfasync: seconds a loop callback may run (default {DEFAULT_THRESHOLD})", default="")
    parser.addini("wfasync_strict", "wfasync: report short known blocking calls too (on/off)", default="")
    parser.addini("wfasync_report", "wfasync: JSON file for the session's blocking sites", default="")
    parser.addini("wfasync_timeline", "wfasync: folder for a timeline page per test that blocked", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_MARKER}: this test blocks the event loop on purpose; wfasync reports nothing for it",
    )
    config.addinivalue_line(
        "markers",
        f"{SETTINGS_MARKER}({', '.join(f'{k}=...' for k in MARKER_KEYS)}): wfasync settings for this test",
    )
    try:
        settings = from_sources(
            {
                "mode": config.getoption("wfasync_mode"),
                "threshold": config.getoption("wfasync_threshold"),
                "strict": config.getoption("wfasync_strict"),
            },
            {
                "mode": config.getini("wfasync_mode"),
                "threshold": config.getini("wfasync_threshold"),
                "strict": config.getini("wfasync_strict"),
            },
        )
        report_path = _report_path(config)
        timeline_dir = _timeline_dir(config)
    except SettingError as exc:
        raise pytest.UsageError(f"wfasync: {exc}") from None
    config.pluginmanager.register(WfasyncSession(config, settings, report_path, timeline_dir), PLUGIN_NAME)


def _report_path(config: pytest.Config) -> Path | None:
    given = _path_setting(config, "report")
    if given is None:
        return None
    raw, path, source = given
    if path.is_dir():
        raise SettingError(f"{source}: {raw!r} is a directory; give a file name such as wfasync-report.json")
    return path


def _timeline_dir(config: pytest.Config) -> Path | None:
    given = _path_setting(config, "timeline")
    if given is None:
        return None
    raw, path, source = given
    if path.exists() and not path.is_dir():
        raise SettingError(f"{source}: {raw!r} is a file; give a folder for the timeline pages")
    return path


def _path_setting(config: pytest.Config, key: str) -> tuple[str, Path, str] | None:
    """(as given, absolute path, where it came from) for ``--wfasync-<key>`` or its ini key:
    a flag is relative to the invocation folder, an ini value to the ini file's."""
    raw = config.getoption(f"wfasync_{key}")
    base = config.invocation_params.dir
    source = f"--wfasync-{key}"
    if not raw:
        raw = config.getini(f"wfasync_{key}")
        base = config.inipath.parent if config.inipath else config.rootpath
        source = f"ini option wfasync_{key}"
    if not raw:
        return None
    path = Path(raw).expanduser()
    return raw, path if path.is_absolute() else base / path, source


class _DetectorKit:
    """The detector classes, imported once the plugin is actually needed."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.detector_cls: Any = None
        self.warning_cls: type[Warning] = RuntimeWarning
        try:
            from runtime.detect.detector import BlockingDetector
            from runtime.detect.report import BlockingCallWarning
        except Exception as exc:  # noqa: BLE001 - the plugin must not break unrelated test runs
            self.error = f"{type(exc).__name__}: {exc}"
        else:
            self.detector_cls = BlockingDetector
            self.warning_cls = BlockingCallWarning


class LoopWatch:
    """One test's detectors: one per loop that runs while the test is in progress.

    In warn mode each report becomes a warning where the block happened: on the loop's thread
    as soon as the loop is back, or when its run ends, so ``pytest.warns``, ``recwarn`` and
    ``warnings.catch_warnings`` around the blocking code see it. A warnings filter that turns
    it into an error (``filterwarnings = error``) makes it a failure of the test, as in error
    mode, instead of an exception inside the user's loop.
    """

    def __init__(self, settings: Settings, detector_cls: Any, warn: Callable[[Any], None]) -> None:
        self.settings = settings
        self._detector_cls = detector_cls
        self._warn = warn
        self._lock = threading.Lock()
        self._detectors: dict[int, tuple[Any, Any]] = {}
        self._reports: list[Any] = []
        # Reports whose warning a filter turned into an error: they fail the test.
        self._failing: list[Any] = []
        # Loops that ran since their reports were last collected (a stop collects them), with
        # when that run started.
        self._unflushed: dict[int, float] = {}
        self._closed = False
        self.errors: list[str] = []

    def start(self) -> None:
        loop_hooks.track()
        for loop in loop_hooks.subscribe(self._on_loop, self._on_loop_stopped):
            # Already running (a loop a fixture runs in a thread): watch it from here.
            self._on_loop(loop)

    def stop(self) -> None:
        """Detach from every loop; each detector delivers what is pending first."""
        loop_hooks.unsubscribe(self._on_loop)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            detectors = list(self._detectors.values())
            self._detectors.clear()
        for _loop, detector in detectors:
            if detector is None:
                continue
            try:
                answered = detector.uninstall()
                if not answered:
                    # Reports the watchdog had already handed on may still be on their way:
                    # take those (and only those) into the test's record.
                    detector.flush()
            except Exception as exc:  # noqa: BLE001 - reported in the summary, never fails a test
                self._note_error(f"could not detach from a loop: {type(exc).__name__}: {exc}")
            else:
                self._check_answered(answered)
        loop_hooks.untrack()

    def drain(self) -> tuple[list[Any], list[Any]]:
        """(every report so far, those that fail the test); blocks that already ended are
        delivered first (the detector reports from its watchdog thread, a moment after the
        block), and their warnings issued here if the loop did not issue them."""
        with self._lock:
            detectors = [
                detector
                for key, (loop, detector) in self._detectors.items()
                if detector is not None and (key in self._unflushed or loop.is_running())
            ]
        for detector in detectors:
            try:
                answered = detector.flush()
            except Exception as exc:  # noqa: BLE001 - reported in the summary, never fails a test
                self._note_error(f"could not collect reports: {type(exc).__name__}: {exc}")
            else:
                self._check_answered(answered)
        with self._lock:
            reports, self._reports = self._reports, []
            failing, self._failing = self._failing, []
        if self.settings.mode == "error":
            failing = reports
        return reports, failing

    def _on_loop(self, loop: Any) -> None:
        with self._lock:
            self._unflushed[id(loop)] = time.perf_counter()
            if self._closed or id(loop) in self._detectors:
                return
            self._detectors[id(loop)] = (loop, None)  # reserve: a loop is attached once
        try:
            detector = self._detector_cls(
                self.settings.threshold,
                strict=self.settings.strict,
                warn=False,
                log=False,
                on_report_in_context=self._on_report,
            ).install(loop)
        except Exception as exc:  # noqa: BLE001 - runs on the user's loop thread; reported later
            self._note_error(f"could not watch {type(loop).__name__}: {type(exc).__name__}: {exc}")
            return
        with self._lock:
            if not self._closed:
                self._detectors[id(loop)] = (loop, detector)
                return
        detector.uninstall()  # the test ended while this loop was starting

    def _on_loop_stopped(self, loop: Any) -> None:
        # A run just ended and the loop still exists (asyncio.run closes it next): collect its
        # reports now rather than after the close.
        with self._lock:
            entry = self._detectors.get(id(loop))
            started = self._unflushed.get(id(loop))
        # A run shorter than the threshold cannot hold a block: nothing to wait for. (Strict
        # reports are delivered at once, on the loop's thread.)
        short = started is not None and time.perf_counter() - started < self.settings.threshold / 2
        if entry is not None and entry[1] is not None and not short:
            try:
                answered = entry[1].flush()
            except Exception as exc:  # noqa: BLE001 - runs on the user's loop thread; reported later
                self._note_error(f"could not collect reports: {type(exc).__name__}: {exc}")
                return
            self._check_answered(answered)
        with self._lock:
            self._unflushed.pop(id(loop), None)

    def _on_report(self, report: Any) -> None:
        """Runs where the block happened (see the class docstring)."""
        with self._lock:
            self._reports.append(report)
        if self.settings.mode != "warn":
            return
        try:
            self._warn(report)
        except Exception:  # noqa: BLE001 - a filter made it an error: fail the test instead
            with self._lock:
                self._failing.append(report)

    def _check_answered(self, answered: bool) -> None:
        if not answered:
            self._note_error("the blocking watchdog did not answer in time: the test waited for it, and reports may be missing")

    def _note_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)


class WfasyncSession:
    """The plugin's state for one pytest session (one per config, so nested runs stay apart)."""

    def __init__(
        self, config: pytest.Config, settings: Settings, report_path: Path | None, timeline_dir: Path | None = None
    ) -> None:
        self.config = config
        self.settings = settings
        self.report_path = report_path
        self.timeline_dir = timeline_dir
        # (test id, page) for each timeline page written, in the order the tests ran.
        self.timelines: list[tuple[str, str]] = []
        self.book = SiteBook(config.rootpath)
        self.problems: list[str] = []
        self._kit: _DetectorKit | None = None
        self._tracking = False
        self._report_written = False

    # -- session ---------------------------------------------------------------------------

    def _detector_kit(self) -> _DetectorKit:
        if self._kit is None:
            self._kit = _DetectorKit()
            if self._kit.error:
                self._problem(f"the blocking detector could not be loaded ({self._kit.error}); nothing was checked")
        return self._kit

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Held for the whole session so that a loop started before a test (a fixture's loop in
        # a thread) is known to be running when that test begins.
        if self.settings.active and not _is_xdist_controller(self.config):
            loop_hooks.track()
            self._tracking = True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._tracking:
            self._tracking = False
            loop_hooks.untrack()

    def pytest_report_header(self, config: pytest.Config) -> str:
        return f"wfasync: {self.settings.describe()}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
        problems: list[str] = []
        for item in items:
            try:
                item.stash[_settings_key] = self._settings_for(item)
            except SettingError as exc:
                problems.append(str(exc))
                # An xdist worker cannot stop the session cleanly: the test errors instead.
                item.stash[_marker_error_key] = str(exc)
        if problems and not hasattr(config, "workerinput"):
            raise pytest.UsageError("wfasync: bad marker\n  " + "\n  ".join(problems))

    def _settings_for(self, item: pytest.Item) -> Settings | None:
        """The settings that apply to ``item``; None when it is not watched at all."""
        allow = item.get_closest_marker(ALLOW_MARKER)
        if allow is not None:
            extra = sorted(set(allow.kwargs) - {"reason"})
            if allow.args or extra:
                raise SettingError(
                    f"{item.nodeid}: @pytest.mark.{ALLOW_MARKER} takes only reason=..., got "
                    f"{', '.join([repr(a) for a in allow.args] + extra)}"
                )
            return None
        settings = self.settings
        for marker in reversed(list(item.iter_markers(SETTINGS_MARKER))):
            settings = apply_marker(settings, tuple(marker.args), marker.kwargs, item.nodeid)
        return settings if settings.active else None

    # -- one test --------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        settings = None
        if _marker_error_key not in item.stash:
            try:
                settings = item.stash[_settings_key] if _settings_key in item.stash else self._settings_for(item)
            except SettingError as exc:
                item.stash[_marker_error_key] = str(exc)
        if settings is not None:
            kit = self._detector_kit()
            if kit.detector_cls is not None:
                # Started before setup, so loops that fixtures start or run are watched too.
                warning_cls = kit.warning_cls
                item.stash[_watch_key] = watch = LoopWatch(
                    settings, kit.detector_cls, lambda report: _warn(report, warning_cls, item)
                )
                if self.timeline_dir is not None:
                    from runtime.pytest.timelines import TimelineRecorder

                    item.stash[_timeline_key] = TimelineRecorder(item.nodeid, settings.threshold)
                watch.start()
        try:
            return (yield)
        finally:
            if _watch_key in item.stash:  # teardown did not run: stop watching anyway
                self._stop_watch(item)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        try:
            return (yield)
        finally:
            self._end_phase(item, "setup")

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        try:
            return (yield)
        finally:
            self._end_phase(item, "call")

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        try:
            return (yield)
        finally:
            # Detach first: uninstalling waits for every pending report, so none is lost.
            self._stop_watch(item, when="teardown")

    def _stop_watch(self, item: pytest.Item, when: str | None = None) -> None:
        watch: LoopWatch | None = item.stash.get(_watch_key, None)
        if watch is None:
            return
        watch.stop()
        if when is not None:
            self._end_phase(item, when)
        for error in watch.errors:
            self._problem(error)
        del item.stash[_watch_key]
        self._write_timeline(item)

    def _write_timeline(self, item: pytest.Item) -> None:
        recorder = item.stash.get(_timeline_key, None)
        if recorder is None or self.timeline_dir is None:
            return
        del item.stash[_timeline_key]
        timeline = recorder.close()
        if timeline is None:
            return
        from runtime.pytest.timelines import write_page
        from runtime.timeline import TimelineError

        try:
            page = write_page(self.timeline_dir, item.nodeid, timeline)
        except (OSError, TimelineError) as exc:
            self._problem(f"could not write the timeline of {item.nodeid}: {exc}")
        else:
            self.timelines.append((item.nodeid, str(page)))

    def _end_phase(self, item: pytest.Item, when: str) -> None:
        watch: LoopWatch | None = item.stash.get(_watch_key, None)
        if watch is None:
            return
        reports, failing = watch.drain()
        for report in reports:
            self.book.add_report(report, item.nodeid)
        recorder = item.stash.get(_timeline_key, None)
        if recorder is not None:
            recorder.add_reports(reports)
        if failing:
            item.stash.setdefault(_blocked_key, {}).setdefault(when, []).extend(failing)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        rep = yield
        if call.when == "setup" and _marker_error_key in item.stash:
            rep.outcome = "failed"
            rep.longrepr = f"wfasync: {item.stash[_marker_error_key]}"
            return rep
        pending = item.stash.get(_blocked_key, None)
        if not pending:
            return rep
        reports = pending.pop(call.when, None)
        if not reports:
            return rep
        settings: Settings = item.stash.get(_settings_key, None) or self.settings
        text = _failure_text(reports, call.when, settings)
        if rep.passed:
            rep.outcome = "failed"
            rep.longrepr = text
        else:
            rep.sections.append((f"wfasync: event loop blocked during {call.when}", text))
        return rep

    # -- xdist -----------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        payload = output.get(WORKER_OUTPUT_KEY)
        if payload:
            self.book.merge_dicts(payload.get("sites", ()))
            self.timelines.extend((nodeid, page) for nodeid, page in payload.get("timelines", ()))
            for problem in payload.get("problems", ()):
                self._problem(problem)

    # -- end of session --------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_OUTPUT_KEY] = {
                "sites": self.book.to_dicts(),
                "problems": list(self.problems),
                "timelines": [list(entry) for entry in self.timelines],
            }
            return
        if self.report_path is None:
            return
        document = report_document(
            self.book,
            {"mode": self.settings.mode, "threshold": self.settings.threshold, "strict": self.settings.strict},
        )
        try:
            write_json_atomically(self.report_path, document)
        except OSError as exc:
            self._problem(f"could not write the report to {self.report_path}: {exc.strerror or exc}")
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
        else:
            self._report_written = True

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if hasattr(config, "workerinput"):
            return
        if len(self.book):
            terminalreporter.write_sep("=", "wfasync: event loop blocked")
            for line in summary_lines(self.book, self.settings.describe()):
                terminalreporter.write_line(line)
        for nodeid, page in self.timelines:
            shown = _relative(page, config.invocation_params.dir)
            terminalreporter.write_line(f"wfasync: timeline of {nodeid}: {shown}")
        for problem in self.problems:
            terminalreporter.write_line(f"wfasync: {problem}", red=True)
        if self._report_written:
            terminalreporter.write_line(f"wfasync: report written to {self.report_path}")


def _is_xdist_controller(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("dsession")


def _one_line(report: Any) -> str:
    text = _format(report)
    return text.splitlines()[0] if text else repr(report)


def _format(report: Any, *, stack: bool = False) -> str:
    try:
        if stack and hasattr(report, "format_stack"):
            return str(report.format_stack())
        return str(report.format())
    except Exception:  # noqa: BLE001 - a broken formatter must not hide the finding
        return f"{getattr(report, 'code', None)} blocked the event loop for {getattr(report, 'duration', 0):.2f} s"


def _warn(report: Any, warning_cls: type[Warning], item: pytest.Item) -> None:
    """Issue the report as a warning located at the blocking line (the test's, if unknown)."""
    filename = getattr(report, "filename", None)
    lineno = getattr(report, "lineno", None)
    module = getattr(report, "module", None)
    if not filename:
        path, line, _ = item.location
        filename, lineno, module = path, (line or 0) + 1, getattr(getattr(item, "module", None), "__name__", None)
    else:
        filename = _relative(filename, item.config.rootpath)
    # ``module`` makes -W / filterwarnings module patterns match the blocking code's module.
    warnings.warn_explicit(warning_cls(_one_line(report)), warning_cls, filename, lineno or 0, module=module)


def _relative(filename: str, root: Path) -> str:
    try:
        return Path(filename).relative_to(root).as_posix()
    except ValueError:
        return filename


def _failure_text(reports: list[Any], when: str, settings: Settings) -> str:
    during = {"setup": "setting up the test", "call": "the test", "teardown": "tearing down the test"}[when]
    how = settings.describe()
    if settings.mode == "warn":
        how += "; a warnings filter turns BlockingCallWarning into an error"
    head = (
        f"wfasync: the event loop was blocked {len(reports)} time{'s' if len(reports) != 1 else ''} "
        f"during {during} ({how})"
    )
    return "\n\n".join([head, *(_format(r, stack=True) for r in reports)])

