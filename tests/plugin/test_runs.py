"""A user's suite with blocking coroutines, run by real pytest in a child process.

Each inner test blocks for 0.3 s against a 0.1 s threshold, so a report is unambiguous,
while the clean tests (which sleep asynchronously or in a thread) never hold the loop for
more than a few milliseconds.
"""

from __future__ import annotations

import re
import textwrap

import pytest

pytest_plugins = ["pytester"]

BLOCKING = """
import asyncio
import time

import pytest


async def fetch():
    time.sleep(0.3)
    return 1


async def swallowing_step():
    try:
        time.sleep(0.3)
    except Exception:
        pass  # a step that swallows everything cannot hide the block
    return 2


@pytest.mark.asyncio
async def test_blocks():
    assert await fetch() == 1


def test_blocks_in_asyncio_run():
    assert asyncio.run(fetch()) == 1


def test_swallowed():
    assert asyncio.run(swallowing_step()) == 2


@pytest.mark.asyncio
@pytest.mark.wfasync_allow_blocking
async def test_allowed():
    await fetch()


@pytest.mark.asyncio
async def test_clean():
    await asyncio.sleep(0.3)
    await asyncio.to_thread(time.sleep, 0.2)
"""

CLEAN = """
import asyncio
import time

import pytest


@pytest.mark.asyncio
async def test_async_sleep():
    await asyncio.sleep(0.3)


def test_thread_offload():
    async def main():
        await asyncio.to_thread(time.sleep, 0.2)

    asyncio.run(main())


def test_sync_sleep_outside_any_loop():
    time.sleep(0.3)


@pytest.mark.asyncio
async def test_short_blocking_call():
    time.sleep(0.001)  # far below the threshold: only strict mode reports it
"""



def line_of(source: str, text: str, occurrence: int = 1) -> int:
    """1-based line of ``text`` in ``source`` as pytester writes it (dedented, stripped)."""
    lines = textwrap.dedent(source).strip().splitlines()
    hits = [number for number, line in enumerate(lines, 1) if text in line]
    return hits[occurrence - 1]


FETCH_LINE = line_of(BLOCKING, "time.sleep(0.3)")
SWALLOW_LINE = line_of(BLOCKING, "time.sleep(0.3)", 2)


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Test name -> PASSED/FAILED/ERROR, from the ``-rA`` short summary."""
    found: dict[str, str] = {}
    for line in result.outlines:
        match = re.match(r"(PASSED|FAILED|ERROR) \S+::(\w+)", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def test_warn_mode_warns_with_step_line_code_and_advice(suite):
    suite.file("test_flow", BLOCKING)
    result = suite.run("--wfasync-threshold=0.1", "-rA", "--wfasync-report=out/report.json")
    assert result.ret == 0
    assert outcomes(result) == {
        "test_blocks": "PASSED",
        "test_blocks_in_asyncio_run": "PASSED",
        "test_swallowed": "PASSED",
        "test_allowed": "PASSED",
        "test_clean": "PASSED",
    }
    out = result.stdout.str()
    # One warning per blocking test, located at the blocking line, carrying code and advice.
    result.stdout.fnmatch_lines(
        [
            "*warnings summary*",
            (
                f"*test_flow.py:{FETCH_LINE}: BlockingCallWarning: WFA103 * blocked the event loop for * s at "
                f"*test_flow.py:{FETCH_LINE}: time.sleep(0.3) -> *asyncio.sleep*"
            ),
        ]
    )
    assert out.count("BlockingCallWarning: WFA103") == 3
    # The session summary: each site once, with its tests and its longest block (worst first,
    # and these two blocks last equally long, so each site is matched on its own).
    summary = out[out.index("= wfasync: event loop blocked =") :]
    summary_lines = summary.splitlines()
    fetch_head = summary_lines.index(f"test_flow.py:{FETCH_LINE} WFA103 in fetch(): time.sleep(0.3)")
    assert re.fullmatch(r"    2 tests, longest block \d\.\d\d s; .*asyncio\.sleep.*", summary_lines[fetch_head + 1])
    swallow_head = summary_lines.index(f"test_flow.py:{SWALLOW_LINE} WFA103 in swallowing_step(): time.sleep(0.3)")
    assert re.fullmatch(r"    1 test, longest block \d\.\d\d s; .*asyncio\.sleep.*", summary_lines[swallow_head + 1])
    assert summary_lines[max(fetch_head, swallow_head) + 2] == (
        "2 blocking sites in 3 tests (mode warn, threshold 0.1 s, strict off)"
    )
    report = suite.json("out/report.json")
    assert report["settings"] == {"mode": "warn", "threshold": 0.1, "strict": False}
    assert report["tests_blocked"] == [
        "test_flow.py::test_blocks",
        "test_flow.py::test_blocks_in_asyncio_run",
        "test_flow.py::test_swallowed",
    ]
    sites = {(s["file"], s["line"]): s for s in report["sites"]}
    assert set(sites) == {("test_flow.py", FETCH_LINE), ("test_flow.py", SWALLOW_LINE)}
    fetch = sites["test_flow.py", FETCH_LINE]
    assert fetch["code"] == "WFA103"
    assert fetch["test_count"] == 2 and fetch["hits"] == 2
    assert 0.28 <= fetch["longest_seconds"] <= 0.6
    assert fetch["source"] == "time.sleep(0.3)"


def test_error_mode_fails_the_blocking_tests_even_when_the_step_swallows(suite):
    suite.file("test_flow", BLOCKING)
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=error", "-rA")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes(result) == {
        "test_blocks": "FAILED",
        "test_blocks_in_asyncio_run": "FAILED",
        "test_swallowed": "FAILED",
        "test_allowed": "PASSED",
        "test_clean": "PASSED",
    }
    result.stdout.fnmatch_lines(
        [
            "*_ test_swallowed _*",
            "wfasync: the event loop was blocked 1 time during the test (mode error, threshold 0.1 s, strict off)",
            "",
            f"WFA103 * blocked the event loop for * s at *test_flow.py:{SWALLOW_LINE}: time.sleep(0.3) -> *",
        ]
    )
    assert "BlockingCallWarning" not in result.stdout.str()


def test_clean_suite_reports_nothing(suite):
    suite.file("test_clean", CLEAN)
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=error", "--wfasync-report=report.json")
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    assert "event loop blocked" not in out
    assert "BlockingCallWarning" not in out
    assert suite.json("report.json")["sites"] == []


def test_off_mode_watches_nothing(suite):
    suite.file("test_flow", BLOCKING)
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=off")
    result.assert_outcomes(passed=5)
    assert "BlockingCallWarning" not in result.stdout.str()
    assert "event loop blocked" not in result.stdout.str()


def test_marker_tunes_one_test(suite):
    suite.ini("wfasync_threshold = 5\n")
    suite.file(
        "test_marked",
        """
        import asyncio, time, pytest

        async def block():
            time.sleep(0.3)

        def test_default_threshold_is_too_high_to_notice():
            asyncio.run(block())

        @pytest.mark.wfasync(threshold=0.1, mode="error")
        def test_tightened():
            asyncio.run(block())

        @pytest.mark.wfasync(mode="error")
        class TestClassLevel:
            @pytest.mark.wfasync(threshold=0.1)
            def test_method_adds_threshold(self):
                asyncio.run(block())
        """,
    )
    result = suite.run("-rA")
    assert outcomes(result) == {
        "test_default_threshold_is_too_high_to_notice": "PASSED",
        "test_tightened": "FAILED",
        "test_method_adds_threshold": "FAILED",
    }


def test_under_xdist_workers_warn_fail_and_report_to_the_controller(suite):
    suite.file("test_flow", BLOCKING)  # warn mode
    more = """
        import asyncio, time
        import pytest

        pytestmark = pytest.mark.wfasync(mode="error")

        async def slow_sync_helper():
            time.sleep(0.3)

        def test_one():
            asyncio.run(slow_sync_helper())

        def test_two():
            asyncio.run(slow_sync_helper())
        """
    suite.file("test_more", more)
    # Workers collect, and a worker cannot end the session: a bad marker errors its test.
    suite.file(
        "test_marker",
        """
        import pytest

        @pytest.mark.wfasync(mode="loud")
        def test_bad_marker():
            pass
        """,
    )
    result = suite.run("-p", "xdist", "-n", "2", "--wfasync-threshold=0.1", "--wfasync-report=report.json", "-rA", "-v")
    workers = {m.group(1) for m in re.finditer(r"\[(gw\d)\]", result.stdout.str())}
    assert workers == {"gw0", "gw1"}
    assert outcomes(result) == {
        "test_blocks": "PASSED",
        "test_blocks_in_asyncio_run": "PASSED",
        "test_swallowed": "PASSED",
        "test_allowed": "PASSED",
        "test_clean": "PASSED",
        "test_one": "FAILED",
        "test_two": "FAILED",
        "test_bad_marker": "ERROR",
    }
    # Warnings travel from the workers: one per blocking test in warn mode.
    assert result.stdout.str().count("BlockingCallWarning: WFA103") == 3
    result.stdout.fnmatch_lines(
        [
            "*_ test_one _*",
            "wfasync: the event loop was blocked 1 time during the test (mode error, threshold 0.1 s, strict off)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            (
                "wfasync: test_marker.py::test_bad_marker: @pytest.mark.wfasync: "
                "mode must be one of warn, error, off; got 'loud'"
            )
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str()
    # The controller's summary and report hold every worker's sites.
    result.stdout.fnmatch_lines(["*= wfasync: event loop blocked =*"])
    result.stdout.fnmatch_lines(["3 blocking sites in 5 tests (mode warn, threshold 0.1 s, strict off)"])
    report = suite.json("report.json")
    assert report["tests_blocked"] == [
        "test_flow.py::test_blocks",
        "test_flow.py::test_blocks_in_asyncio_run",
        "test_flow.py::test_swallowed",
        "test_more.py::test_one",
        "test_more.py::test_two",
    ]
    assert {(s["file"], s["line"], s["test_count"]) for s in report["sites"]} == {
        ("test_flow.py", FETCH_LINE, 2),
        ("test_flow.py", SWALLOW_LINE, 1),
        ("test_more.py", line_of(more, "time.sleep"), 2),
    }


def test_loops_that_outlive_a_test(suite):
    """A module-scoped pytest-asyncio loop, and a loop a module fixture runs in a thread: both
    exist before the test starts; each test is charged only with its own blocking."""
    suite.file(
        "test_scoped",
        """
        import asyncio, threading, time
        import pytest
        import pytest_asyncio

        pytestmark = pytest.mark.asyncio(loop_scope="module")

        @pytest_asyncio.fixture(loop_scope="module", scope="module")
        async def module_loop():
            return asyncio.get_running_loop()

        async def test_first_blocks(module_loop):
            assert asyncio.get_running_loop() is module_loop
            time.sleep(0.3)

        async def test_second_is_clean(module_loop):
            assert asyncio.get_running_loop() is module_loop
            await asyncio.sleep(0.3)

        async def test_third_blocks(module_loop):
            assert asyncio.get_running_loop() is module_loop
            time.sleep(0.3)
        """,
    )
    threaded = """
        import asyncio, threading, time
        import pytest

        @pytest.fixture(scope="module")
        def background_loop():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="background-loop", daemon=True)
            thread.start()
            yield loop
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()

        async def block():
            time.sleep(0.3)

        def test_starts_the_loop_cleanly(background_loop):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.3), background_loop).result(5)

        def test_blocks_the_running_loop(background_loop):
            asyncio.run_coroutine_threadsafe(block(), background_loop).result(5)

        def test_after_it_is_clean(background_loop):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.3), background_loop).result(5)
        """
    suite.file("test_threaded", threaded)
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=error", "-rA")
    assert outcomes(result) == {
        "test_first_blocks": "FAILED",
        "test_second_is_clean": "PASSED",
        "test_third_blocks": "FAILED",
        "test_starts_the_loop_cleanly": "PASSED",
        "test_blocks_the_running_loop": "FAILED",
        "test_after_it_is_clean": "PASSED",
    }
    result.stdout.fnmatch_lines(
        [f"*WFA103 * at *test_threaded.py:{line_of(threaded, 'time.sleep(0.3)')}: time.sleep(0.3) -> *"]
    )


def test_pytest_asyncio_auto_mode_on_uvloop(suite):
    pytest.importorskip("uvloop")
    suite.ini("asyncio_mode = auto\n")
    suite.file(
        "conftest",
        """
        import uvloop

        def pytest_asyncio_loop_factories(config, item):
            return {"uvloop": uvloop.new_event_loop}
        """,
    )
    auto = """
        import asyncio, time

        async def test_unmarked_coroutine_blocks():
            assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
            time.sleep(0.3)

        async def test_unmarked_coroutine_is_clean():
            assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
            await asyncio.sleep(0.3)
        """
    suite.file("test_auto", auto)
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=error", "-rA")
    assert outcomes(result) == {
        "test_unmarked_coroutine_blocks": "FAILED",
        "test_unmarked_coroutine_is_clean": "PASSED",
    }
    result.stdout.fnmatch_lines([f"*WFA103 * at *test_auto.py:{line_of(auto, 'time.sleep')}: time.sleep(0.3) -> *"])


def test_blocking_in_an_async_fixture_is_an_error_at_setup_or_teardown(suite):
    suite.file(
        "test_fixture",
        """
        import time
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def slow_to_open():
            time.sleep(0.3)
            yield 1

        @pytest_asyncio.fixture
        async def slow_to_close():
            yield 2
            time.sleep(0.3)

        @pytest.mark.asyncio
        async def test_opens(slow_to_open):
            assert slow_to_open == 1

        @pytest.mark.asyncio
        async def test_closes(slow_to_close):
            assert slow_to_close == 2
        """,
    )
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=error", "-rA")
    summary = [line.split(" - ")[0] for line in result.outlines if re.match(r"(PASSED|FAILED|ERROR) ", line)]
    # The test body itself was clean: the setup (or teardown) is what fails.
    assert sorted(summary) == [
        "ERROR test_fixture.py::test_closes",
        "ERROR test_fixture.py::test_opens",
        "PASSED test_fixture.py::test_closes",
    ]
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_opens*",
            "wfasync: the event loop was blocked 1 time during setting up the test*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_closes*",
            "wfasync: the event loop was blocked 1 time during tearing down the test*",
        ]
    )


def test_unwritable_report_is_a_clear_error(suite):
    suite.file("test_clean", CLEAN)
    suite.pytester.path.joinpath("blocker").write_text("a file, not a directory")
    result = suite.run("--wfasync-report=blocker/report.json")
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["wfasync: could not write the report to *blocker*report.json: *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_engine_steps_are_named(suite):
    flow = """
        import time
        import pytest
        from runtime import StartEvent, StopEvent, Workflow, step

        class Fetcher(Workflow):
            @step
            async def fetch(self, ev: StartEvent) -> StopEvent:
                try:
                    time.sleep(0.3)
                except Exception:
                    pass
                return StopEvent(result="done")

        class Offloaded(Workflow):
            @step
            def fetch(self, ev: StartEvent) -> StopEvent:
                time.sleep(0.3)  # a plain def step runs in a thread
                return StopEvent(result="done")

        @pytest.mark.asyncio
        async def test_blocking_step():
            assert await Fetcher().run() == "done"

        @pytest.mark.asyncio
        async def test_sync_step_in_a_thread():
            assert await Offloaded().run() == "done"
        """
    suite.file("test_engine_flow", flow)
    result = suite.run("--wfasync-threshold=0.1", "--wfasync-mode=error", "-rA")
    assert outcomes(result) == {"test_blocking_step": "FAILED", "test_sync_step_in_a_thread": "PASSED"}
    line = line_of(flow, "time.sleep(0.3)")
    result.stdout.fnmatch_lines(
        [
            (
                f"WFA103 step 'fetch' of Fetcher blocked the event loop for * s at *test_engine_flow.py:{line}: "
                "time.sleep(0.3) -> *asyncio.sleep*"
            ),
        ]
    )
    result.stdout.fnmatch_lines(
        [f"test_engine_flow.py:{line} WFA103 in step 'fetch' of Fetcher: time.sleep(0.3)"]
    )


def test_strict_mode_catches_calls_shorter_than_the_threshold(suite):
    short = """
        import asyncio, time
        import pytest

        @pytest.mark.asyncio
        async def test_short_sleep():
            time.sleep(0.001)

        @pytest.mark.asyncio
        async def test_short_sleep_in_a_thread():
            await asyncio.to_thread(time.sleep, 0.001)
        """
    suite.file("test_short", short)
    # Without strict mode the same short call passes: see test_clean_suite_reports_nothing.
    strict = suite.run("--wfasync-mode=error", "--wfasync-strict=on", "-rA")
    assert outcomes(strict) == {"test_short_sleep": "FAILED", "test_short_sleep_in_a_thread": "PASSED"}
    strict.stdout.fnmatch_lines(
        [f"WFA103 * called a blocking function for * at *test_short.py:{line_of(short, 'time.sleep')}: *"]
    )
