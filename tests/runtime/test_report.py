"""BlockingReport: the one line a user reads, the data a tool reads."""

from __future__ import annotations

import json
import traceback
import warnings

from runtime.detect.report import (
    MAX_LINE_ADVICE,
    MAX_LINE_SOURCE,
    UNKNOWN_ADVICE,
    BlockingCallWarning,
    BlockingReport,
    advice_for,
    format_duration,
)


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
    assert "task 'worker-1' (main.poll)" in make(tmp_path, step=None, task="worker-1", coroutine="main.<locals>.poll").format()
    assert " coroutine poll " in make(tmp_path, step=None, coroutine="poll").format()
    assert "a loop callback blocked" in make(tmp_path, step=None).format()
    assert "step 'fetch' blocked" in make(tmp_path, workflow=None).format()


def test_unknown_work_says_so_briefly_and_explains_in_the_long_form(tmp_path):
    report = make(tmp_path, code=None, advice=UNKNOWN_ADVICE, source_line="total += i * i", call=None)
    text = report.format()
    assert text.startswith("step 'fetch' of MyFlow blocked the event loop for 1.02 s at ")
    assert text.endswith("total += i * i (CPU work or an unknown call) -> move the work off the event loop")
    long = report.format_stack()
    assert "no known blocking call: CPU work or a call the catalog lacks" in long
    assert f"Fix: {UNKNOWN_ADVICE}" in long


def test_short_calls_keep_a_readable_duration(tmp_path):
    report = make(tmp_path, duration=0.0042, strict=True)
    assert "called a blocking function for 4.2 ms" in report.format()
    assert "for 35 µs" in make(tmp_path, duration=0.000035, strict=True).format()
    assert [format_duration(d) for d in (0.3, 0.01, 0.0099, 0.001, 0.00004, 1e-9)] == [
        "0.30 s", "0.01 s", "9.9 ms", "1.0 ms", "40 µs", "1 µs"
    ]


def test_the_line_stays_short_and_the_long_form_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    advice = "await asyncio.to_thread(...) for the I/O (or aiofiles / anyio.Path); make the step a plain def if it is all I/O"
    source = "result = store.write_everything(" + ", ".join(f"argument_{n}" for n in range(20)) + ")"
    report = make(tmp_path, code="WFA102", advice=advice, source_line=source, coroutine="a.<locals>.b", step=None)
    line = report.format()
    assert line == (
        "WFA102 coroutine a.b blocked the event loop for 1.02 s at app.py:14: "
        f"{source[:MAX_LINE_SOURCE - 3]}... -> use await asyncio.to_thread(...) for the I/O"
    )
    assert len(line) <= 180 and len(advice) > MAX_LINE_ADVICE
    assert f"Fix: use {advice}" in report.format_stack()


def test_step_advice_only_for_steps():
    advice = "await asyncio.to_thread(...) for the I/O (or aiofiles / anyio.Path); make the step a plain def if it is all I/O"
    assert advice_for(advice, True) == advice
    assert advice_for(advice, False) == "await asyncio.to_thread(...) for the I/O (or aiofiles / anyio.Path)"
    assert advice_for(UNKNOWN_ADVICE, False) == (
        "move the work off the event loop: await asyncio.to_thread(fn, ...), "
        "await loop.run_in_executor(pool, fn, ...) for CPU-heavy work"
    )
    assert advice_for("use await asyncio.to_thread(f), or make the step a plain def", False) == "use await asyncio.to_thread(f)"


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
