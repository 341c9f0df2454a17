"""Generated programs: the analyzer returns findings or raises SourceParseError, nothing else."""

from __future__ import annotations

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_wfasync.analysis import (
    SourceParseError,
    analyze_source,
    blocking_calls_on_line,
)

PRELUDE = "import time, requests, asyncio\nfrom workflows import Workflow, step\n"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_grammar_generated_modules(source):
    for text in (source, "async def _w():\n    pass\n" + source):
        try:
            findings = analyze_source(text)
        except SourceParseError as exc:
            assert "\n" not in str(exc)
            continue
        assert all(f.line >= 1 for f in findings)
        blocking_calls_on_line(text, 1)


CALLS = st.sampled_from([
    "time.sleep(1)", "requests.get(u)", "open(u).read()", "asyncio.run(f())", "await g()",
    "asyncio.to_thread(requests.get(u))", "x.get(u)", "lambda: time.sleep(1)",
])


@settings(max_examples=60, deadline=None)
@given(st.lists(CALLS, min_size=1, max_size=6), st.booleans(), st.booleans())
def test_generated_coroutines(calls, in_class, as_step):
    body = "\n".join(f"        {c}" for c in calls)
    deco = "    @step\n" if as_step else ""
    head = "class Flow(Workflow):\n" if in_class else "class _C:\n"
    src = f"{PRELUDE}{head}{deco}    async def s(self, u):\n{body}\n"
    findings = analyze_source(src)
    lines = src.splitlines()
    for f in findings:
        text = lines[f.line - 1]
        if f.code == "WFA401":
            assert text.lstrip().startswith("async def s")
        else:
            assert text.startswith("        ")
    awaited_only = all(c.startswith("await") or c.startswith("x.") or c.startswith("lambda")
                       for c in calls)
    if awaited_only:
        assert findings == []
