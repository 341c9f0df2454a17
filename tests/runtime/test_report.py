"""BlockingReport: the one line a user reads, the data a tool reads."""

from __future__ import annotations

import json
import traceback
import warnings

from runtime.detect.report import UNKNOWN_ADVICE, BlockingCallWarning, BlockingReport


def make(tmp_path, **fields):
    base = dict(
        duration=1.02,
        code="WFA103",
        step="fetch",
        workflow="MyFlow",
        filename=str(tmp_path / "app.py"),
        lineno=14,
        source_line="    time.sleep(1)\n",
        advice="await asyncio.sleep(...)",
        call="time.sleep",
    )
    base.update(fields)
    return BlockingReport(**base)


def test_the_line_reads_like_the_static_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = make(tmp_path)
    assert report.format() == (
        "WFA103 step 'fetch' of MyFlow blocked the event loop for 1.02 s at app.py:14: "
        "time.sleep(1) -> use await asyncio.sleep(...)"
    )
    assert str(report) == report.format()


def test_a_trailing_comment_is_not_part_of_the_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = make(tmp_path, source_line='        time.sleep(1)  # wait for "#1" -> retry\n')
    assert report.format() == (
        "WFA103 step 'fetch' of MyFlow blocked the event loop for 1.02 s at app.py:14: "
        "time.sleep(1) -> use await asyncio.sleep(...)"
    )
    report = make(tmp_path, source_line='print("a # b")  # note')
    assert ': print("a # b") -> ' in report.format()


def test_advice_already_in_words_is_kept_as_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = make(tmp_path, code="WFA101", advice="use an async HTTP client (httpx.AsyncClient, aiohttp)")
    assert report.format().endswith("-> use an async HTTP client (httpx.AsyncClient, aiohttp)")


def test_who_falls_back_from_step_to_task_to_callback(tmp_path):
    assert "task 'worker-1' (main.<locals>.poll)" in make(tmp_path, step=None, task="worker-1", coroutine="main.<locals>.poll").format()
    assert " coroutine poll " in make(tmp_path, step=None, coroutine="poll").format()
    assert "a loop callback blocked" in make(tmp_path, step=None).format()
    assert "step 'fetch' blocked" in make(tmp_path, workflow=None).format()


def test_unknown_work_says_so_and_gives_generic_advice(tmp_path):
    report = make(tmp_path, code=None, advice=UNKNOWN_ADVICE, source_line="total += i * i", call=None)
    text = report.format()
    assert text.startswith("step 'fetch' of MyFlow blocked the event loop for 1.02 s at ")
    assert "total += i * i (no known blocking call" in text
    assert text.endswith(UNKNOWN_ADVICE)


def test_short_strict_calls_are_in_milliseconds_and_say_what_happened(tmp_path):
    report = make(tmp_path, duration=0.0042, strict=True)
    assert "called a blocking function for 4.2 ms" in report.format()


def test_a_report_without_a_place(tmp_path):
    report = BlockingReport(duration=0.5)
    assert report.format().startswith("a loop callback blocked the event loop for 0.50 s at an unknown place")
    assert report.site == (None, None, None)


def test_site_groups_by_place_and_code(tmp_path):
    one, two = make(tmp_path), make(tmp_path, duration=3.0, step="other")
    assert one.site == two.site == (str(tmp_path / "app.py"), 14, "WFA103")


def test_to_dict_is_json_and_carries_the_stack(tmp_path):
    frame = traceback.FrameSummary(str(tmp_path / "app.py"), 14, "fetch", lookup_line=False, line="time.sleep(1)")
    data = json.loads(json.dumps(make(tmp_path, stack=[frame], cpu_time=0.001).to_dict()))
    assert data["code"] == "WFA103" and data["step"] == "fetch" and data["lineno"] == 14
    assert data["stack"] == [{"filename": str(tmp_path / "app.py"), "lineno": 14, "name": "fetch", "line": "time.sleep(1)"}]
    assert data["message"].startswith("WFA103 step 'fetch'")


def test_format_stack_lists_the_frames(tmp_path):
    frame = traceback.FrameSummary(str(tmp_path / "app.py"), 14, "fetch", lookup_line=False, line="time.sleep(1)")
    text = make(tmp_path, stack=[frame]).format_stack()
    assert "most recent call last" in text and 'line 14, in fetch' in text and "time.sleep(1)" in text


def test_the_warning_class_is_filterable_as_a_runtime_warning():
    assert issubclass(BlockingCallWarning, RuntimeWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.warn_explicit(BlockingCallWarning("x"), BlockingCallWarning, "app.py", 1)
    assert caught == []
