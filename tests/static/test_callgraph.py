"""WFA201 within one module: chains, depth, recursion, offloading helpers, configuration."""

from __future__ import annotations

import textwrap

from flake8_wfasync.analysis import analyze_source
from flake8_wfasync.config import DEFAULT_CONFIG, Config


def findings(src: str, config: Config = DEFAULT_CONFIG):
    return analyze_source(textwrap.dedent(src), "mod.py", config)


CHAIN = """\
    import json


    def read_rows(path):
        with open(path) as fh:
            return json.load(fh)


    def parse(path):
        return read_rows(path)


    def load(path):
        return parse(path)


    async def step(path):
        return load(path)
    """


def test_depth_three_chain_in_the_message():
    (f,) = findings(CHAIN)
    assert (f.code, f.line, f.col) == ("WFA201", 18, 11)
    assert f.message == ("load(path) blocks the event loop in coroutine 'step' through load() -> parse() -> "
                         "read_rows() -> open (mod.py:5): use await asyncio.to_thread(load, path)")
    assert f.qualname == "load" and f.twin is None and f.function == "step"


def test_the_shortest_chain_is_named():
    src = CHAIN.replace("        return parse(path)", "        open(path)\n        return parse(path)")
    (f,) = findings(src)
    assert "through load() -> open (mod.py:14)" in f.message


def test_allowed_calls_do_not_make_a_helper_block():
    assert findings(CHAIN, Config(allow=frozenset({"open", "json.load"}))) == []


def test_configured_blocking_calls_do():
    src = """\
        import mylib


        def helper():
            return mylib.fetch()


        async def go():
            return helper()
        """
    assert findings(src) == []
    (f,) = findings(src, Config(extra_blocking={"mylib.fetch": "use mylib.afetch"}))
    assert f.code == "WFA201" and "helper() -> mylib.fetch (mod.py:5)" in f.message


def test_mutual_recursion_without_a_blocking_call_is_clean_and_with_one_is_found():
    src = """\
        import time


        def a(n):
            return b(n - 1) if n else 0


        def b(n):
            return a(n)


        def c(n):
            return d(n - 1) if n else 0


        def d(n):
            if n == 7:
                time.sleep(1)
            return c(n)


        async def go():
            return a(3), c(3)
        """
    (f,) = findings(src)
    assert (f.line, f.col) == (23, 17) and "c() -> d() -> time.sleep (mod.py:18)" in f.message


def test_awaited_and_offloaded_helpers_are_not_flagged():
    src = """\
        import asyncio

        import requests


        def get(url):
            return requests.get(url)


        def later(url):
            return asyncio.to_thread(get, url)


        async def go(url):
            await later(url)
            await asyncio.to_thread(get, url)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, get, url)
        """
    assert findings(src) == []


def test_scope_steps_reports_what_steps_reach():
    src = """\
        import time

        from workflows import Workflow, step
        from workflows.events import StartEvent, StopEvent


        def nap():
            time.sleep(1)


        async def unrelated():
            nap()


        class Flow(Workflow):
            @step
            async def run(self, ev: StartEvent) -> StopEvent:
                await self.helper()
                return StopEvent()

            async def helper(self):
                nap()
        """
    everything = findings(src)
    steps_only = findings(src, Config(scope="steps"))
    assert [(f.line, f.code) for f in everything] == [(12, "WFA201"), (22, "WFA201")]
    assert [(f.line, f.code) for f in steps_only] == [(22, "WFA201")]


def test_a_step_blocking_only_through_helpers_is_also_wfa401():
    src = """\
        from workflows import Workflow, step
        from workflows.events import StartEvent, StopEvent


        class Flow(Workflow):
            def config(self):
                return open("c").read()

            @step
            async def run(self, ev: StartEvent) -> StopEvent:
                return StopEvent(result=self.config())
        """
    assert [(f.line, f.code) for f in findings(src)] == [(10, "WFA401"), (11, "WFA201")]


def test_without_async_nothing():
    assert findings(CHAIN.replace("async def", "def")) == []


def test_building_an_instance_runs_its_init():
    src = """\
        class Config:
            def __init__(self, path):
                self.data = open(path).read()


        class Plain:
            def __init__(self, value):
                self.value = value


        async def go(path):
            return Config(path), Plain(path)
        """
    (f,) = findings(src)
    assert (f.line, f.code) == (12, "WFA201")
    assert "through Config.__init__() -> open (mod.py:3)" in f.message


def test_chain_names_the_strongest_reason_not_the_first_check():
    got = findings("""\
        import os
        from pathlib import Path


        def prepare(folder):
            target = Path(folder)
            if not target.exists():
                target.mkdir(parents=True)


        def save(folder, text):
            if os.path.isdir(folder):
                with open(os.path.join(folder, "out.txt"), "w") as fh:
                    fh.write(text)


        def probe(folder):
            return os.path.exists(folder)


        async def handler(folder, text):
            prepare(folder)
            save(folder, text)
            probe(folder)
    """)
    chains = [f.message.split(" through ")[1].rsplit(": use ", 1)[0] for f in got]
    assert chains == ["prepare() -> pathlib.Path.mkdir (mod.py:8)", "save() -> open (mod.py:13)",
                      "probe() -> os.path.exists (mod.py:18)"]


def test_guards_on_parameters_decide_only_on_what_the_call_site_shows():
    got = findings("""\
        def page(favicon=None):
            if favicon is None:
                return ""
            return open(favicon).read()


        async def handler(icon, options):
            page()
            page(None)
            page("")
            page(icon)
            page(*options)
            page(**options)
    """)
    assert [f.line for f in got] == [10, 11, 12, 13]
