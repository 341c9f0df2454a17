"""WFA201 for an async method that falls back on its sync twin: which class the advice names,
and one finding per fallback call however many subclasses block."""

from __future__ import annotations

import textwrap

from flake8_wfasync.analysis import analyze_source


def findings(src: str):
    return analyze_source(textwrap.dedent(src), "mod.py")


def test_the_class_that_blocks_is_named_once():
    src = """\
        import time

        import requests


        class Base:
            def complete(self, prompt):
                raise NotImplementedError

            async def acomplete(self, prompt):
                return self.complete(prompt)


        class Slow(Base):
            def complete(self, prompt):
                time.sleep(1)


        class Remote(Base):
            def complete(self, prompt):
                return requests.post("https://example.invalid", data=prompt, timeout=5)
        """
    (f,) = findings(src)
    assert (f.code, f.line) == ("WFA201", 11)
    assert "through Slow.complete() -> time.sleep (mod.py:16)" in f.message
    assert f.advice == ("override acomplete in Slow with a real async implementation, or use await "
                        "asyncio.to_thread(self.complete, prompt)")


def test_an_override_of_the_coroutine_or_a_quiet_twin_is_no_finding():
    src = """\
        import asyncio
        import time


        class Base:
            def complete(self, prompt):
                return prompt

            async def acomplete(self, prompt):
                return self.complete(prompt)


        class Native(Base):
            def complete(self, prompt):
                time.sleep(1)

            async def acomplete(self, prompt):
                await asyncio.sleep(0)
                return prompt


        class Child(Native):
            def complete(self, prompt):
                time.sleep(2)
        """
    # Native and its Child replace the fallback; Base's own twin blocks nothing.
    assert findings(src) == []


def test_the_own_twin_of_the_class_names_the_coroutine():
    src = """\
        import requests


        class Retriever:
            def _retrieve(self, q):
                return requests.get(q, timeout=5).json()

            async def _aretrieve(self, q):
                return self._retrieve(q)
        """
    (f,) = findings(src)
    assert f.advice == ("give _aretrieve a real async implementation, or use await "
                        "asyncio.to_thread(self._retrieve, q)")
