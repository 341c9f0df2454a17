"""One record per rule code: what it finds, why it matters, a bad and a good example.

The examples are real code: the test suite runs every ``bad`` example through the analyzer and
expects the rule's code, and every ``good`` example and expects nothing at all.
This module imports nothing else of the project.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a rule's findings are, which decides the code sets the analysis and the fixer use:
KINDS: dict[str, str] = {
    "call": "a call named by the catalog that blocks where it runs",
    "configured": "a call the configuration names as blocking",
    "chain": "a call to a function of the project that blocks further down",
    "eager-offload": "a blocking call evaluated before it is offloaded",
    "process-pool": "an unpicklable callable sent to a process pool",
    "nested-loop": "a nested event loop started in a coroutine",
    "loop-lookup": "the event loop looked up the deprecated way",
    "never-awaits": "an async step that never awaits and blocks",
}
# Findings that say "the coroutine blocks the loop right here": a step that never awaits and
# holds one is a WFA401; each can be offloaded as it stands.
_BLOCKING_KINDS = frozenset({"call", "configured", "chain"})
# Calls that block right where a sync helper makes them: the helper blocks (WFA201 chains).
_SITE_KINDS = frozenset({"call", "configured", "eager-offload"})


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str  # a key of KINDS
    title: str
    # Message template; the analyzer fills {call}, {where} and {fix}.
    message: str
    why: str
    bad: str
    good: str
    fix: str
    # Off unless selected by its full code: a style rule, not a blocking call.
    opt_in: bool = False


_BLOCKING_MSG = "{call} blocks the event loop in {where}: {fix}"

_STEP_HEADER = """\
from workflows import Workflow, step
from workflows.events import StartEvent, StopEvent

"""


def _r(code: str, kind: str, title: str, why: str, bad: str, good: str, fix: str,
       message: str = _BLOCKING_MSG, opt_in: bool = False) -> Rule:
    if kind not in KINDS:
        raise ValueError(f"{code}: unknown rule kind {kind!r}")
    return Rule(code, kind, title, message, why, bad, good, fix, opt_in)


_RULES = [
    _r(
        "WFA101", "call", "Synchronous HTTP request in a coroutine",
        "A sync HTTP client (requests, httpx.Client, urllib, urllib3, http.client) waits for the "
        "network on the event-loop thread: every other step, timer and connection stalls until "
        "the server answers. (urlopen of a data: URL decodes the URL itself and is not flagged.)",
        _STEP_HEADER + """\
import requests


class Fetch(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        data = requests.get(ev.url, timeout=10)
        return StopEvent(result=data.text)
""",
        _STEP_HEADER + """\
import asyncio

import requests


class Fetch(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        data = await asyncio.to_thread(requests.get, ev.url, timeout=10)
        return StopEvent(result=data.text)
""",
        "await asyncio.to_thread(requests.get, url) or use httpx.AsyncClient / aiohttp",
    ),
    _r(
        "WFA102", "call", "File-system I/O in a coroutine",
        "Disk access has no asyncio equivalent: open(), pathlib reads and writes, os and shutil "
        "calls, temporary files and directories, images, YAML read from a file, fsspec "
        "filesystems run on the loop thread and a slow or network disk freezes the whole workflow.",
        """\
async def load(path):
    with open(path) as fh:
        return fh.read()
""",
        """\
import asyncio
from pathlib import Path


async def load(path):
    return await asyncio.to_thread(Path(path).read_text)
""",
        "await asyncio.to_thread(...) for the I/O, or make the step a plain def",
    ),
    _r(
        "WFA103", "call", "time.sleep in a coroutine",
        "time.sleep stops the event loop itself; asyncio.sleep suspends only this coroutine.",
        """\
import time


async def poll():
    time.sleep(1)
""",
        """\
import asyncio


async def poll():
    await asyncio.sleep(1)
""",
        "await asyncio.sleep(...)",
    ),
    _r(
        "WFA104", "call", "Subprocess call in a coroutine",
        "subprocess.run and friends wait for the child process on the loop thread; Popen itself "
        "forks and execs there, and so do webbrowser.open and GitPython's git commands.",
        """\
import subprocess


async def build():
    subprocess.run(["make"], check=True)
""",
        """\
import asyncio


async def build():
    proc = await asyncio.create_subprocess_exec("make")
    await proc.wait()
""",
        "await asyncio.create_subprocess_exec(...) or await asyncio.to_thread(subprocess.run, ...)",
    ),
    _r(
        "WFA105", "call", "Blocking socket or DNS call in a coroutine",
        "Plain sockets, DNS lookups, ssl, smtplib and ftplib wait on the network on the loop thread.",
        """\
import socket


async def resolve(host):
    return socket.getaddrinfo(host, 443)
""",
        """\
import asyncio


async def resolve(host):
    return await asyncio.get_running_loop().getaddrinfo(host, 443)
""",
        "use asyncio streams / loop.getaddrinfo, or await asyncio.to_thread(...)",
    ),
    _r(
        "WFA106", "call", "Synchronous database driver in a coroutine",
        "sqlite3, psycopg2, pymysql, sync redis, pymongo and a sync SQLAlchemy engine wait for "
        "the database on the loop thread. (An SQLite database in memory, sqlite3.connect(\":memory:\"), "
        "touches no disk and is not flagged.)",
        """\
import sqlite3


async def count(db):
    conn = sqlite3.connect(db)
    return conn.execute("select count(*) from t").fetchone()
""",
        """\
import aiosqlite


async def count(db):
    async with aiosqlite.connect(db) as conn:
        cur = await conn.execute("select count(*) from t")
        return await cur.fetchone()
""",
        "use the async driver, or await asyncio.to_thread(...)",
    ),
    _r(
        "WFA107", "call", "Wait on a thread primitive in a coroutine",
        "threading locks and events, queue.Queue, Thread.join and Future.result park the loop "
        "thread until another thread lets go. (put on an unbounded queue, queue.Queue() or a "
        "SimpleQueue, and get or put with block=False never wait and are not flagged.)",
        """\
from concurrent.futures import ThreadPoolExecutor

pool = ThreadPoolExecutor()


async def run(job):
    fut = pool.submit(job)
    return fut.result()
""",
        """\
import asyncio
from concurrent.futures import ThreadPoolExecutor

pool = ThreadPoolExecutor()


async def run(job):
    fut = pool.submit(job)
    return await asyncio.wrap_future(fut)
""",
        "use asyncio primitives, or await asyncio.wrap_future(fut)",
    ),
    _r(
        "WFA108", "call", "Console input in a coroutine",
        "input() waits for a human on the loop thread; in a workflow, ask with an "
        "InputRequiredEvent and wait for the HumanResponseEvent instead.",
        """\
async def ask():
    return input("name? ")
""",
        """\
import asyncio


async def ask():
    return await asyncio.to_thread(input, "name? ")
""",
        "await asyncio.to_thread(input, ...) or a human-in-the-loop event",
    ),
    _r(
        "WFA109", "call", "CPU-heavy call in a coroutine",
        "Key derivation (pbkdf2_hmac, scrypt, bcrypt, argon2) is slow by design, and compression "
        "of data the code does not spell out runs at tens of MB/s: they hold the loop thread for "
        "as long as they compute; a dedicated executor keeps the loop responsive. Plain digests "
        "(hashlib.sha256, md5, blake2, hmac) and checksums (zlib.crc32) are not reported: they run "
        "at hundreds of MB/s and the size of the data is not known before the code runs, so a "
        "finding would be a guess; compression of a literal is not reported either.",
        """\
import hashlib


async def derive(pw, salt):
    return hashlib.pbkdf2_hmac("sha256", pw, salt, 600_000)
""",
        """\
import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor

cpu_pool = ThreadPoolExecutor(max_workers=2)


async def derive(pw, salt):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(cpu_pool, hashlib.pbkdf2_hmac, "sha256", pw, salt, 600_000)
""",
        "await loop.run_in_executor(dedicated_pool, fn, *args)",
    ),
    _r(
        "WFA110", "call", "Synchronous SDK or LLM client call in a coroutine",
        "LlamaIndex LLMs, embeddings, query engines and retrievers, the sync OpenAI and "
        "Anthropic clients, boto3, docker, the Google API client and Azure Blob Storage's sync "
        "clients wait on the network on the loop thread; most have an async twin. Building a LlamaIndex index from documents or nodes "
        "(VectorStoreIndex.from_documents, VectorStoreIndex(nodes)) embeds them, and "
        "use_async=True does not help: it runs the embedding on a second event loop and waits "
        "for it on the calling thread. Ingestion (IngestionPipeline.run, run_transformations), "
        "SimpleDirectoryReader.load_data, query pipelines, response synthesizers, metadata "
        "extractors and the HyDE and decompose query transforms block too. Where no full async twin exists "
        "(SimpleDirectoryReader.aload_data still reads plain-text files on the loop thread), the "
        "advice is asyncio.to_thread.",
        """\
from llama_index.llms.openai import OpenAI


async def answer(q):
    llm = OpenAI(model="gpt-4o-mini")
    return llm.complete(q)
""",
        """\
from llama_index.llms.openai import OpenAI


async def answer(q):
    llm = OpenAI(model="gpt-4o-mini")
    return await llm.acomplete(q)
""",
        "await the async twin (await llm.acomplete(...)) or use the async client",
    ),
    _r(
        "WFA199", "configured", "Call configured as blocking",
        "The project listed this callable as blocking (--wfasync-extra-blocking or "
        "[tool.wfasync] extra-blocking).",
        # The test configures "mylib.fetch" as blocking for this example.
        """\
import mylib


async def go():
    mylib.fetch()
""",
        """\
import asyncio

import mylib


async def go():
    await asyncio.to_thread(mylib.fetch)
""",
        "as configured",
    ),
    _r(
        "WFA201", "chain", "Call to a project function that blocks",
        "A sync helper of the project that blocks (directly or further down) blocks the loop just "
        "the same when a coroutine calls it. That includes an async method that falls back on "
        "its sync twin (async def acomplete(self, ...): return self.complete(...), "
        "_aretrieve calling self._retrieve): it blocks whenever the twin does, the class's own "
        "or the override of a subclass in the same module that keeps the fallback; the message "
        "names the class to give a real async implementation. It is reported on evidence only: "
        "a twin that is abstract, or inherited from a library, blocks nothing in sight, and base "
        "classes such as LlamaIndex's BaseRetriever and CustomLLM fall back on purpose so that "
        "every subclass has a working async method (the runtime detector names CustomLLM's "
        "fallback when it blocks).",
        """\
import requests


def load(url):
    return requests.get(url).json()


async def step_body(url):
    return load(url)


class Source:
    def fetch(self, url):
        return requests.get(url).json()

    async def afetch(self, url):
        return self.fetch(url)
""",
        """\
import asyncio

import requests


def load(url):
    return requests.get(url).json()


async def step_body(url):
    return await asyncio.to_thread(load, url)


class Source:
    def fetch(self, url):
        return requests.get(url).json()

    async def afetch(self, url):
        return await asyncio.to_thread(self.fetch, url)
""",
        "await asyncio.to_thread(helper, ...) or make the helper async",
        message="{call} blocks the event loop in {where} through {chain}: {fix}",
    ),
    _r(
        "WFA301", "eager-offload", "Blocking call evaluated before it is offloaded",
        "to_thread(requests.get(url)) calls requests.get on the loop thread and then hands its "
        "result to the thread: the offload does nothing.",
        """\
import asyncio

import requests


async def fetch(url):
    return await asyncio.to_thread(requests.get(url))
""",
        """\
import asyncio

import requests


async def fetch(url):
    return await asyncio.to_thread(requests.get, url)
""",
        "pass the callable and its arguments: to_thread(fn, *args)",
        message="{call} runs on the event loop before {offload} gets it in {where}: {fix}",
    ),
    _r(
        "WFA302", "process-pool", "Unpicklable callable sent to another process",
        "A ProcessPoolExecutor pickles the callable and its arguments: a lambda or nested "
        "function fails at run time. A Dask cluster (client.submit, client.map, "
        "client.get_executor()) carries lambdas and closures by value, but no pickler carries "
        "a lock, a socket, an open connection or a client, passed or captured.",
        """\
import asyncio
from concurrent.futures import ProcessPoolExecutor


async def square(x):
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        return await loop.run_in_executor(pool, lambda: x * x)
""",
        """\
import asyncio
from concurrent.futures import ProcessPoolExecutor


def _square(x):
    return x * x


async def square(x):
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        return await loop.run_in_executor(pool, _square, x)
""",
        "pass a top-level function",
        message="{call} sends {callable} to {receiver} in {where}: {fix}",
    ),
    _r(
        "WFA303", "nested-loop", "Nested event loop in a coroutine",
        "asyncio.run or loop.run_until_complete inside a running loop fails, or deadlocks when "
        "patched to allow it.",
        """\
import asyncio


async def inner():
    return 1


async def outer():
    return asyncio.run(inner())
""",
        """\
async def inner():
    return 1


async def outer():
    return await inner()
""",
        "await the coroutine",
        message="{call} starts a nested event loop in {where}: {fix}",
    ),
    _r(
        "WFA304", "loop-lookup", "asyncio.get_event_loop() in a coroutine (opt-in style rule)",
        "Not a blocking call: inside a coroutine get_event_loop() returns the running loop. "
        "get_running_loop() says what is meant, and get_event_loop() outside a running loop is "
        "deprecated and may create a new one; so this is a style rule, off by default.",
        """\
import asyncio


async def later(cb):
    asyncio.get_event_loop().call_later(1, cb)
""",
        """\
import asyncio


async def later(cb):
    asyncio.get_running_loop().call_later(1, cb)
""",
        "asyncio.get_running_loop()",
        message="{call} in {where}: {fix}",
        opt_in=True,
    ),
    _r(
        "WFA401", "never-awaits", "Async step that never awaits and blocks",
        "An async def step that never awaits runs start to finish on the loop thread; as a plain "
        "def step the runtime runs it in a worker thread instead.",
        _STEP_HEADER + """\
import requests


class Fetch(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=requests.get(ev.url).text)
""",
        _STEP_HEADER + """\
import requests


class Fetch(Workflow):
    @step
    def fetch(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=requests.get(ev.url).text)
""",
        "make the step a plain def: the runtime runs it in a thread",
        message="step '{step}' is async but never awaits and blocks ({calls}): {fix}",
    ),
]

RULES: dict[str, Rule] = {r.code: r for r in _RULES}
# Codes of findings that block the loop where the coroutine makes the call.
BLOCKING_CODES: frozenset[str] = frozenset(r.code for r in _RULES if r.kind in _BLOCKING_KINDS)
# Codes of calls that make the sync function holding them block.
SITE_CODES: frozenset[str] = frozenset(r.code for r in _RULES if r.kind in _SITE_KINDS)
# Codes reported only when selected by their full code (``select = ["WFA", "WFA304"]``).
OPT_IN_CODES: frozenset[str] = frozenset(r.code for r in _RULES if r.opt_in)
# Codes whose rule is told by catalog entries alone.
CATALOG_CODES: frozenset[str] = frozenset(r.code for r in _RULES if r.kind == "call")


def get_rule(code: str) -> Rule:
    """The rule for ``code`` ("WFA101"); KeyError naming the known codes otherwise."""
    try:
        return RULES[code.strip().upper()]
    except KeyError:
        raise KeyError(
            f"unknown rule code {code!r}; known codes: {', '.join(sorted(RULES))}"
        ) from None
