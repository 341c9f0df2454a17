"""The analyzer's public functions: encodings, parse errors, the pre-pass, line lookups,
positions, messages and configuration."""

from __future__ import annotations

import libcst as cst
import pytest

from flake8_wfasync.analysis import (
    SourceParseError,
    analyze_module,
    analyze_source,
    blocking_calls_on_line,
    might_block,
)
from flake8_wfasync.config import Config

STEP = """\
import requests
from workflows import Workflow, step


class Flow(Workflow):
    @step
    async def fetch(self, ev):
        await self.other()
        return requests.get(ev.url)
"""


def test_message_names_call_step_and_concrete_fix():
    [f] = analyze_source(STEP)
    assert f.code == "WFA101"
    assert f.message == (
        "requests.get(ev.url) blocks the event loop in step 'fetch' of Flow: "
        "use await asyncio.to_thread(requests.get, ev.url), or make the step a plain def"
    )
    assert (f.line, f.col, f.end_line, f.end_col) == (9, 15, 9, 35)
    assert (f.qualname, f.function, f.step, f.workflow) == ("requests.get", "fetch", "fetch", "Flow")
    assert f.advice == "use await asyncio.to_thread(requests.get, ev.url), or make the step a plain def"
    assert f.twin is None


@pytest.mark.parametrize("module", ["runtime", "runtime.engine.steps", "workflows", "llama_index.core.workflow"])
def test_the_step_decorator_is_known_at_every_path_it_is_imported_from(module):
    """An aliased decorator on a free function: only the decorator's qualified name says "step"."""
    src = f"import time\nfrom {module} import step as st\n\n\n@st\nasync def go(ev):\n    time.sleep(1)\n"
    [f] = analyze_source(src, config=Config(scope="steps"))
    assert (f.line, f.step) == (7, "go")


def test_twin_is_filled():
    [f] = analyze_source("import time\nasync def f():\n    time.sleep(2)\n")
    assert f.twin == "asyncio.sleep"
    assert "use await asyncio.sleep(2)" in f.message


EXECUTOR_SOURCE = """\
import asyncio

import anyio
import requests


async def fetch(url, kw):
    loop = asyncio.get_running_loop()
    return await {offload}
"""


@pytest.mark.parametrize("offload, fixed", [
    ("loop.run_in_executor(None, requests.get(url, timeout=5))",
     "loop.run_in_executor(None, functools.partial(requests.get, url, timeout=5))"),
    ("loop.run_in_executor(None, requests.get(url, **kw))",
     "loop.run_in_executor(None, functools.partial(requests.get, url, **kw))"),
    ("anyio.to_thread.run_sync(requests.get(url, timeout=5))",
     "anyio.to_thread.run_sync(functools.partial(requests.get, url, timeout=5))"),
    ("loop.run_in_executor(None, requests.get(url))", "loop.run_in_executor(None, requests.get, url)"),
    ("asyncio.to_thread(requests.get(url, timeout=5))", "asyncio.to_thread(requests.get, url, timeout=5)"),
])
def test_wfa301_advice_is_a_call_that_works(offload, fixed):
    [f] = analyze_source(EXECUTOR_SOURCE.format(offload=offload))
    assert f.code == "WFA301"
    assert f.advice == f"pass the callable and its arguments: {fixed}"
    assert f.message.endswith(f.advice)

    # The advice runs as written on a real loop (run_in_executor takes no keyword arguments).
    if "anyio" in fixed:
        return  # anyio is not a dependency of the project
    import asyncio
    import functools
    import types

    calls: list[tuple[str, dict]] = []
    requests = types.SimpleNamespace(get=lambda url, **kw: calls.append((url, kw)))

    async def run() -> None:
        namespace = {"loop": asyncio.get_running_loop(), "functools": functools, "asyncio": asyncio,
                     "requests": requests, "url": "u", "kw": {"timeout": 5}}
        await eval(fixed, namespace)

    asyncio.run(run())
    assert calls == [("u", {"timeout": 5} if "=" in offload or "**" in offload else {})]


def test_bytes_with_bom_and_coding_cookie():
    src = "import time\nasync def f():\n    s = 'é'\n    time.sleep(1)\n"
    assert [f.line for f in analyze_source(b"\xef\xbb\xbf" + src.encode())] == [4]
    latin = ("# -*- coding: latin-1 -*-\n" + src).encode("latin-1")
    assert [f.line for f in analyze_source(latin)] == [5]


@pytest.mark.parametrize("src, line", [
    ("async def f(:\n    pass\n", 1),
    ("x = 1\nasync def f():\n    return (\n", 3),
    ("def f():\n\treturn 1\n        return 2\n", 3),
])
def test_parse_error_is_one_clear_line(src, line):
    with pytest.raises(SourceParseError) as info:
        analyze_source(src, "pkg/mod.py")
    err = info.value
    assert err.path == "pkg/mod.py" and err.line == line
    text = str(err)
    assert "\n" not in text and text.startswith(f"pkg/mod.py:{line}:") and "cannot parse" in text


_WATCH_CHECKS = """
import sys, threading
import libcst as cst
from flake8_wfasync.analysis import analyze_source

checked = []
check_node = cst.CSTNode.__post_init__
real_parse = cst.parse_module
def watched(text):
    checked.append(cst.CSTNode.__post_init__ is check_node)
    return real_parse(text)
cst.parse_module = watched
src = sys.stdin.read()
assert analyze_source(src)
release = threading.Event()
other = threading.Thread(target=release.wait, args=(5,))
other.start()
assert analyze_source(src + "\\n")
release.set()
other.join()
try:
    cst.Name("not a name")
except cst.CSTValidationError:
    checked.append("checked after")
print(checked)
"""


def test_parsing_skips_node_checks_only_while_alone():
    """The analyzer parses without libcst's per-node checks, but only while its thread is the
    process's one thread: nodes built afterwards, or by another thread meanwhile, are checked.
    (A fresh interpreter: the test process has threads of its own.)"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _WATCH_CHECKS], input=STEP, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[False, True, 'checked after']"
    with pytest.raises(SourceParseError):  # a bad file is still one clear error
        analyze_source("async def f(:\n    pass\n", "m.py")


def test_undecodable_bytes():
    with pytest.raises(SourceParseError, match="mod.py:1:0: cannot parse"):
        analyze_source(b"# coding: nope\nx = 1\n", "mod.py")


def test_might_block():
    assert might_block(STEP)
    assert not might_block("import requests\ndef f(u):\n    return requests.get(u)\n")
    assert not might_block("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n")
    assert not might_block("async def f(x):\n    return x.get('a')\n")
    assert might_block("async def f(p):\n    return open(p)\n")
    assert might_block("async def f(:\n")  # left for the analysis to report


def test_any_method_of_any_value_is_a_candidate_only_where_a_client_can_be_had():
    # A client every method of which blocks (an Engine, a boto3 client) comes only from
    # names that make or annotate one: not from any name of its package.
    call = "\n\nasync def f():\n    return make().scalars()\n"
    for imported in ("import sqlalchemy", "from sqlalchemy import create_engine", "from sqlalchemy.orm import Session",
                     "import boto3", "from mypy_boto3_s3 import S3Client", "from botocore.client import BaseClient"):
        assert might_block(imported + call), imported
    for imported in ("from sqlalchemy import Table", "from sqlalchemy.ext.asyncio import AsyncEngine",
                     "from openai import AsyncOpenAI"):
        assert not might_block(imported + call), imported


def test_might_block_lets_offloads_through_only_when_something_runs_or_pickles():
    plain = ("import asyncio, functools\n"
             "async def f(loop, fn, x):\n"
             "    await asyncio.to_thread(fn, x)\n"
             "    await loop.run_in_executor(None, fn, x)\n"
             "    return functools.partial(fn, x)\n")
    assert not might_block(plain)
    # A call handed to the offload runs on the loop first (WFA301).
    assert might_block(plain.replace("to_thread(fn, x)", "to_thread(fn(x))"))
    assert might_block(plain.replace("run_in_executor(None, fn, x)", "run_in_executor(None, fn(x))"))
    assert might_block(plain.replace("partial(fn, x)", "partial(fn(x))"))
    # With a process pool about, what run_in_executor sends may not pickle (WFA302).
    assert might_block("from concurrent.futures import ProcessPoolExecutor\n" + plain)
    # Without one, a lambda, or a call among the arguments, is evaluated in the thread.
    lambdas = plain.replace("run_in_executor(None, fn, x)", "run_in_executor(None, lambda: fn(x), str(x))")
    assert not might_block(lambdas)
    assert might_block("from concurrent.futures import ProcessPoolExecutor\n" + lambdas)


def test_blocking_calls_on_line_anywhere():
    src = (
        "import time\n"
        "time.sleep(1)\n"
        "def sync():\n"
        "    with open('x') as fh:\n"
        "        return fh.read()\n"
        "class A:\n"
        "    data = open('y').read()\n"
        "async def co(t):\n"
        "    await t.get()\n"
        "    return input()\n"
    )
    assert [f.code for f in blocking_calls_on_line(src, 2)] == ["WFA103"]
    assert [f.code for f in blocking_calls_on_line(src, 4)] == ["WFA102"]
    assert [f.qualname for f in blocking_calls_on_line(src, 5)] == ["io.IOBase.read"]
    assert [f.qualname for f in blocking_calls_on_line(src, 7)] == ["open"]
    assert blocking_calls_on_line(src, 9) == []
    assert [f.code for f in blocking_calls_on_line(src, 10)] == ["WFA108"]
    assert blocking_calls_on_line(src, 3) == []
    assert blocking_calls_on_line("def f(:\n", 1) == []


def test_multiline_call_matches_every_line_it_spans():
    src = "import requests\nrequests.post(\n    'u',\n)\n"
    assert [f.line for f in blocking_calls_on_line(src, 3)] == [2]


def test_analyze_module_nodes_are_identical():
    module = cst.parse_module(STEP)
    [f] = analyze_module(module)
    call = module.body[2].body.body[0].body.body[1].body[0].value
    assert f.node is call


def test_wfa401_points_at_async_def_line_and_node():
    src = (
        "import time\nfrom runtime import Workflow, step\n\n"
        "class F(Workflow):\n    @step\n    @other\n    async def go(self, ev):\n"
        "        open(ev.path)\n"
    )
    module = cst.parse_module(src)
    found = analyze_module(module)
    assert [(f.code, f.line, f.col) for f in found] == [("WFA401", 7, 4), ("WFA102", 8, 8)]
    assert isinstance(found[0].node, cst.FunctionDef) and found[0].node.name.value == "go"
    assert "step 'go' is async but never awaits and blocks (open)" in found[0].message


def test_config_allow_extra_and_select():
    src = "import mylib, time\nasync def f():\n    mylib.get()\n    time.sleep(1)\n"
    assert [f.code for f in analyze_source(src)] == ["WFA103"]
    cfg = Config(extra_blocking={"mylib.get": ""}, allow=frozenset({"time.sleep"}))
    [f] = analyze_source(src, config=cfg)
    assert f.code == "WFA199" and "asyncio.to_thread(mylib.get)" in f.message
    assert analyze_source(src, config=Config(allow=frozenset({"time."}))) == []
    assert analyze_source(src, config=Config(ignore=frozenset({"WFA1"}))) == []


def test_scope_steps_keeps_awaited_helpers_only():
    src = STEP + "\n    async def other(self):\n        open('x')\n\nasync def free():\n    open('y')\n"
    assert [f.line for f in analyze_source(src)] == [9, 12, 15]
    assert [f.line for f in analyze_source(src, config=Config(scope="steps"))] == [9, 12]


@pytest.mark.parametrize("src", [
    "async def f(requests):\n    requests.get(1)\n",
    "async def f():\n    requests = object()\n    requests.get(1)\n",
    "import requests\nasync def f():\n    requests = object()\n    requests.get(1)\n",
    "async def f(open):\n    open('x')\n",
    "from mymod import open\nasync def f():\n    open('x')\n",
    "from . import requests\nasync def f():\n    requests.get(1)\n",
    "import requests\nasync def f():\n    return [lambda: requests.get(1)]\n",
    "import requests\nasync def f(c):\n    await c.get(requests.Session)\n",
])
def test_not_flagged(src):
    assert analyze_source(src) == []


def test_very_long_expression_is_a_clear_error_or_a_result():
    src = "async def f():\n    return " + " + ".join(["'a'"] * 1200) + "\n"
    try:
        module = cst.parse_module(src)
    except Exception:
        pytest.skip("libcst cannot parse it here")
    for run in (lambda: analyze_module(module), lambda: analyze_source(src)):
        try:
            assert run() == []
        except SourceParseError as exc:
            assert "\n" not in str(exc)


LATER = """\
import contextlib
import tempfile
import time
from pathlib import Path


def rows(path):
    with open(path) as fh:
        yield from fh


@contextlib.contextmanager
def slow_lock():
    time.sleep(1)
    yield


async def work(path: str, root: Path):
    with tempfile.TemporaryDirectory() as d:
        print(d)
    with slow_lock():
        pass
    first = list(rows(path))
    names = sorted(root.glob("*"))
    return first, names, requests_free(path)


def requests_free(path):
    return path
"""


def test_advice_for_calls_whose_work_runs_later_names_what_blocks():
    by_line = {f.line: f for f in analyze_source(LATER)}
    # Offloading the call alone would leave the with-block's exit, the iteration, on the loop.
    assert by_line[19].advice.startswith("used as a context manager: move the with-block into a sync helper")
    assert by_line[21].advice.startswith("entering it is what blocks: move the with-block")
    assert by_line[21].lazy == "context"
    assert by_line[23].advice == ("iterating it is what blocks: collect the items in a thread with "
                                  "await asyncio.to_thread(list, rows(path))")
    assert by_line[23].lazy == "iterator"
    assert by_line[24].advice == ("iterating it is what blocks: collect the items in a thread with "
                                  "await asyncio.to_thread(list, root.glob(\"*\"))")
    assert sorted(by_line) == [19, 21, 23, 24]


def test_a_generator_made_in_the_arguments_of_to_thread_is_not_a_finding():
    source = LATER.replace("first = list(rows(path))", "first = await asyncio.to_thread(list, rows(path))")
    source = source.replace("names = sorted(root.glob(\"*\"))", "names = await asyncio.to_thread(sorted, root.glob(\"*\"))")
    assert sorted(f.line for f in analyze_source("import asyncio\n" + source)) == [20, 22]


def test_a_with_block_that_awaits_is_not_sent_to_a_sync_helper():
    source = (
        "import tempfile\n"
        "async def fetch(ws, path):\n"
        "    with tempfile.TemporaryFile() as f:\n"
        "        await ws.download(path, f)\n"
        "    with tempfile.TemporaryDirectory() as d:\n"
        "        print(d)\n"
    )
    by_line = {f.line: f for f in analyze_source(source)}
    assert by_line[3].advice.startswith("used as a context manager around awaits: use aiofiles")
    assert "sync helper" not in by_line[3].advice
    assert by_line[5].advice.startswith("used as a context manager: move the with-block into a sync helper")


SELF_CALLS = """\
from llama_index.core import VectorStoreIndex


class Engine(Base):
    def query(self, q):
        return q.upper()

    async def aquery(self, q):
        self.retrieve(q)
        return self.query(q)
"""


def test_might_block_takes_self_calls_for_the_class_s_own_defs():
    # self.query() is the class's own def and self.retrieve() nothing the module defines
    # (the resolver finds no type for either): only the calls inside the def count.
    assert not might_block(SELF_CALLS)
    assert might_block(SELF_CALLS.replace("return q.upper()", "return VectorStoreIndex([]).as_query_engine().query(q)"))
    # Where self.query may be a value, a library's query is not ruled out.
    for other in ("    query = VectorStoreIndex([]).as_query_engine().query\n",
                  "    def __init__(self, index):\n        self.query = index.as_query_engine().query\n"):
        assert might_block(SELF_CALLS.replace("    def query(self, q):", other + "\n    def query(self, q):"))
    # Nor where self is not the instance everywhere: rebound, or the parameter of a static method.
    assert might_block(SELF_CALLS.replace("        self.retrieve(q)\n", "        self = q\n"))
    assert might_block(SELF_CALLS.replace("    async def aquery", "    @staticmethod\n    async def aquery"))
    # A def of a base class of the module is the one to look into.
    base = SELF_CALLS.replace("class Engine(Base):", "class Base:\n    def retrieve(self, q):\n"
                              "        return VectorStoreIndex([]).as_retriever().retrieve(q)\n\n\n"
                              "class Engine(Base):")
    assert might_block(base)
    # The coroutine falls back on its sync twin, which a subclass of the module overrides.
    sub = SELF_CALLS + ("\n\nclass Slow(Engine):\n    def query(self, q):\n"
                        "        return VectorStoreIndex([]).as_query_engine().query(q)\n")
    assert might_block(sub)
    assert not might_block(sub.replace("async def aquery", "async def afetch"))


def test_might_block_skips_what_only_makes_a_value():
    # Building a path or a client blocks nothing; what is called on it is what counts.
    assert not might_block("from pathlib import Path\nasync def f(p):\n    return Path(p)\n")
    assert might_block("from pathlib import Path\nasync def f(p):\n    return Path(p).read_text()\n")
    # ...unless a process pool may be handed it (WFA302).
    pool = ("import threading\nfrom concurrent.futures import ProcessPoolExecutor\n"
            "async def f(pool, fn):\n    lock = threading.Lock()\n    return pool.submit(fn, lock)\n")
    assert might_block(pool)
    assert not might_block(pool.replace("from concurrent.futures import ProcessPoolExecutor",
                                        "from concurrent.futures import Executor"))


def test_might_block_reads_every_compound_statement_of_a_class_body():
    src = ("import time\n"
           "class Router:\n"
           "    match MODE:\n"
           "        case 'fast':\n"
           "            def route(self):\n"
           "                return None\n"
           "        case _:\n"
           "            def route(self):\n"
           "                time.sleep(1)\n"
           "    async def aroute(self):\n"
           "        return self.route()\n")
    assert might_block(src)
    assert [f.code for f in analyze_source(src)] == ["WFA201"]


PLAIN = """\
import queue
from typing import List, Optional


async def handler(items: List[str], extra: Optional[dict] = None, *rest):
    seen = {}
    seen.get("a")
    items.copy()
    return extra
"""


def test_might_block_skips_methods_of_plain_locals():
    # A dict literal, a parameter annotated as a list: the resolver gives them no type, so
    # queue's get is not theirs.
    assert not might_block(PLAIN)
    # Bound to a queue somewhere, annotated with one, an item of something, or not bound in
    # the function at all: maybe a queue.
    for changed in (PLAIN.replace("seen = {}", "seen = {}\n    seen = queue.Queue(1)"),
                    PLAIN.replace("*rest", "seen: queue.Queue"),
                    PLAIN.replace("seen = {}", "for seen in items:\n        pass"),
                    PLAIN.replace("seen = {}", "global seen"),
                    PLAIN.replace("    seen = {}\n", "")):
        assert might_block(changed), changed
    assert might_block(PLAIN.replace("items.copy()", "extra.get('c')").replace("Optional[dict]", "Optional[queue.Queue]"))


ON_SELF = """\
import pathlib
import ssl
from typing import Any, Coroutine


class Wrapper:
    def __init__(self, coro: Coroutine[Any, Any, int], tags: list):
        self._coro: Coroutine[Any, Any, int] = coro
        self._tags = tags
        self._done = None

    def send(self, arg):
        return self._coro.send(arg)

    async def run(self, value: str):
        self._tags.copy()
        return self.send(value.strip().lower().replace("a", "b"))
"""


def test_might_block_skips_methods_of_plain_attributes_and_of_what_plain_values_return():
    # self._coro holds a parameter annotated as a coroutine, self._tags one annotated list:
    # no socket's send, no queue's copy; nor is value.strip().lower() a path to replace.
    assert not might_block(ON_SELF)
    for changed in (ON_SELF.replace("coro: Coroutine[Any, Any, int], tags", "coro: ssl.SSLSocket, tags")
                    .replace("self._coro: Coroutine[Any, Any, int] = coro", "self._coro = coro"),
                    ON_SELF.replace("self._done = None", "self._done = None\n        self._coro = make()"),
                    ON_SELF.replace("class Wrapper:", "class Wrapper:\n    _coro: ssl.SSLSocket"),
                    ON_SELF.replace("    def send(self, arg):", "    @property\n    def _coro(self):\n"
                                    "        return ssl.create_default_context().wrap_socket(None)\n\n"
                                    "    def send(self, arg):"),
                    ON_SELF.replace("class Wrapper:", "class Base:\n    def __init__(self, sock: ssl.SSLSocket):\n"
                                    "        self._coro = sock\n\n\nclass Wrapper(Base):"),
                    ON_SELF.replace("value: str", "value: pathlib.Path")):
        assert might_block(changed), changed
