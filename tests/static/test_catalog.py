"""The shared catalog: static matching, runtime frame matching against real frames."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from types import CodeType

import pytest

from flake8_wfasync.knowledge import catalog
from flake8_wfasync.knowledge.catalog import (
    match_qualname,
    match_runtime_frame,
    module_level_callables,
)


@pytest.mark.parametrize(
    "name, code",
    [
        ("requests.get", "WFA101"), ("requests.Session.post", "WFA101"),
        ("httpx.Client.get", "WFA101"), ("builtins.open", "WFA102"), ("open", "WFA102"),
        ("pathlib.Path.read_text", "WFA102"), ("time.sleep", "WFA103"),
        ("subprocess.run", "WFA104"), ("socket.getaddrinfo", "WFA105"),
        ("sqlite3.connect", "WFA106"), ("redis.Redis.hgetall", "WFA106"),
        ("queue.Queue.get", "WFA107"), ("builtins.input", "WFA108"),
        ("hashlib.pbkdf2_hmac", "WFA109"), ("llama_index.llms.openai.OpenAI.complete", "WFA110"),
        ("openai.OpenAI.create", "WFA110"),
    ],
)
def test_match_qualname(name, code):
    entry = match_qualname(name)
    assert entry is not None and entry.code == code


@pytest.mark.parametrize("name", ["dict.get", "asyncio.sleep", "httpx.AsyncClient.get",
                                  "requests.Session.headers", "os.path.join", "queue.Queue.put_nowait",
                                  "llama_index.llms.openai.OpenAI.acomplete", ""])
def test_not_blocking(name):
    assert match_qualname(name) is None


def test_twins():
    assert match_qualname("time.sleep").twin == "asyncio.sleep"
    assert match_qualname("llama_index.core.query_engine.RetrieverQueryEngine.query").twin == "aquery"
    assert match_qualname("requests.get").twin is None


def test_module_level_callables_exist():
    """Every plain callable the runtime's strict mode may wrap really is an attribute of its
    module (checked for the modules installed here: the standard library at least)."""
    pairs = module_level_callables()
    modules = {m for m, _, _ in pairs}
    assert {"time", "subprocess", "socket", "os", "urllib.request", "requests"} <= modules
    checked = 0
    for module, attr, entry in pairs:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if not hasattr(mod, attr):
            continue  # platform-specific (os.spawnvpe, os.wait3 ...)
        assert callable(getattr(mod, attr)), (module, attr)
        assert match_qualname(f"{module}.{attr}") is entry
        checked += 1
    assert checked > 40
    assert ("time", "sleep") in {(m, a) for m, a, _ in pairs}
    assert not any(m == "builtins" for m, _, _ in pairs)


# Internals that only some Python versions have: os._walk (3.11), and
# threading.Thread._wait_for_tstate_lock (up to 3.12; Thread.join covers the later ones).
_VERSIONED = {"os._walk", "threading.Thread._wait_for_tstate_lock"}


def test_runtime_names_of_the_stdlib_are_real():
    """Runtime names are what a stack shows; for stdlib modules each one must name a real
    function (a renamed internal would silently stop matching)."""
    stdlib = sys.stdlib_module_names
    checked = 0
    for entry in catalog.ENTRIES:
        for name in entry.runtime_names:
            if name.endswith(".*"):
                continue
            parts = name.split(".")
            if parts[0] not in stdlib:
                continue
            for i in range(len(parts) - 1, 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                except ImportError:
                    continue
                for attr in parts[i:]:
                    obj = getattr(obj, attr, None)
                if obj is not None:
                    break
            if name.startswith(("pathlib._", "getpass.win")) or name in _VERSIONED:
                continue  # other Python versions / platforms
            assert obj is not None, name
            checked += 1
    assert checked > 30


def _block_in_queue_get() -> tuple[Callable[[], None], Callable[[], None]]:
    import queue

    q: queue.Queue[int] = queue.Queue()
    return (lambda: q.get(timeout=5)), (lambda: q.put(1))


def _block_in_copyfileobj() -> tuple[Callable[[], None], Callable[[], None]]:
    import io
    import shutil

    r, w = os.pipe()

    def block() -> None:
        with os.fdopen(r, "rb") as src:
            shutil.copyfileobj(src, io.BytesIO())  # reads until the pipe is closed

    return block, lambda: os.close(w)


def _block_in_run_path() -> tuple[Callable[[], None], Callable[[], None]]:
    import runpy
    import tempfile

    folder = tempfile.mkdtemp()
    fifo = os.path.join(folder, "script.py")
    os.mkfifo(fifo)  # runpy's reads wait until something writes to it
    done = threading.Event()

    def block() -> None:
        try:
            runpy.run_path(fifo)
        finally:
            done.set()

    def feed() -> None:
        # run_path may open the path more than once (an importer probes it first): answer
        # each open for reading until the script has run.
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader yet
                done.wait(0.005)
                continue
            try:
                os.write(fd, b"x = 1\n")
            except OSError:  # the reader went away first: it will open again
                pass
            finally:
                os.close(fd)

    return block, lambda: threading.Thread(target=feed, daemon=True).start()


def _frame_qualname(code: CodeType) -> str:
    # What the runtime sees: co_qualname from Python 3.11, only the bare name before.
    return getattr(code, "co_qualname", code.co_name)


@pytest.mark.parametrize("blocker, code", [
    pytest.param(_block_in_queue_get, "WFA107", id="method-queue.Queue.get", marks=pytest.mark.skipif(
        sys.version_info < (3, 11), reason="a method's frame names its class only from Python 3.11 "
                                           "(co_qualname); before, the runtime classifies the source line")),
    pytest.param(_block_in_copyfileobj, "WFA102", id="function-shutil.copyfileobj"),
    pytest.param(_block_in_run_path, "WFA102", id="function-runpy.run_path", marks=pytest.mark.skipif(
        not hasattr(os, "mkfifo"), reason="needs a named pipe")),
])
def test_match_runtime_frame_on_a_real_stack(blocker, code):
    """Block a real thread in a catalogued callable and classify its live frames."""
    block, release = blocker()
    started = threading.Event()

    def worker():
        started.set()
        block()

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    entry = None
    try:
        for _ in range(200):
            frame = sys._current_frames().get(t.ident)
            while frame is not None:
                entry = match_runtime_frame(frame.f_globals["__name__"], _frame_qualname(frame.f_code))
                if entry is not None:
                    break
                frame = frame.f_back
            if entry is not None:
                break
            threading.Event().wait(0.01)
    finally:
        release()
        t.join()
    assert entry is not None and entry.code == code


def test_match_runtime_frame_names():
    assert match_runtime_frame("requests.sessions", "Session.request").code == "WFA101"
    assert match_runtime_frame("requests.api", "get").code == "WFA101"
    assert match_runtime_frame("subprocess", "run").code == "WFA104"
    assert match_runtime_frame("smtplib", "SMTP.sendmail").code == "WFA105"
    assert match_runtime_frame("asyncio.events", "Handle._run") is None
    assert match_runtime_frame("myapp", "get") is None


def test_llama_index_runtime_names():
    """Names as llama-index-core 0.14 shows them in a stack (module + co_qualname)."""
    def code(module, qualname):
        entry = match_runtime_frame(module, qualname)
        return (entry.code, entry.twin) if entry is not None else None

    assert code("llama_index.core.indices.base", "BaseIndex.from_documents") == ("WFA110", None)
    assert code("llama_index.core.indices.vector_store.base", "VectorStoreIndex.__init__") == ("WFA110", None)
    assert code("llama_index.core.readers.file.base", "SimpleDirectoryReader.load_data") == ("WFA110", None)
    assert code("llama_index.core.ingestion.pipeline", "IngestionPipeline.run") == ("WFA110", "arun")
    assert code("llama_index.core.ingestion.pipeline", "run_transformations") == (
        "WFA110", "llama_index.core.ingestion.arun_transformations")
    assert code("llama_index.core.base.base_retriever", "BaseRetriever.retrieve") == ("WFA110", "aretrieve")
    assert code("llama_index.core.llms.callbacks",
                "llm_completion_callback.<locals>.wrap.<locals>.wrapped_llm_predict")[0] == "WFA110"
    fallback = match_runtime_frame("llama_index.core.llms.custom", "CustomLLM.acomplete")
    assert fallback.code == "WFA110" and "to_thread(llm.complete" in fallback.advice
    # The async twins themselves are no blocking frames.
    assert code("llama_index.core.ingestion.pipeline", "IngestionPipeline.arun") is None
    assert code("llama_index.core.llms.callbacks",
                "llm_completion_callback.<locals>.wrap.<locals>.wrapped_async_llm_predict") is None


def _runtime_target(name: str) -> object | None:
    """The function a runtime name (module + co_qualname) names, or None."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object | None = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
        if obj is not None:
            return obj
    return None


def test_runtime_names_of_installed_libraries_are_real():
    """The same for third-party libraries that happen to be installed: each exact runtime
    name is a real function of the installed version, each prefix a real module or class."""
    stdlib = sys.stdlib_module_names
    checked = 0
    for entry in catalog.ENTRIES:
        for name in entry.runtime_names:
            root = name.split(".")[0]
            if root in stdlib or importlib.util.find_spec(root) is None:
                continue
            target = _runtime_target(name[:-2] if name.endswith(".*") else name)
            assert target is not None, name
            checked += 1
    if not checked:
        pytest.skip("none of the catalogued third-party libraries is installed")


def test_quiet_methods_and_argument_conditions():
    """A client's close() and boto3's presign/paginator calls do no I/O; the rest of the
    client still blocks. Calls that block only on some arguments are wrapped by strict mode
    only when the catalog decides them from the real arguments' values."""
    for quiet in ("boto3.client.close", "boto3.client.generate_presigned_url", "docker.DockerClient.close",
                  "azure.storage.blob.BlobServiceClient.from_connection_string", "git.Repo.close"):
        assert match_qualname(quiet) is None, quiet
    for loud in ("boto3.client.get_object", "docker.DockerClient.info",
                 "azure.storage.blob.BlobClient.upload_blob", "git.Repo.is_dirty"):
        assert match_qualname(loud) is not None, loud
    wrapped = {f"{m}.{a}" for m, a, _ in module_level_callables()}
    by_value = {q for q, (kind, _, _) in catalog.ARGUMENT_CONDITIONS.items() if kind in catalog.VALUE_CONDITIONS}
    assert wrapped & set(catalog.ARGUMENT_CONDITIONS) == {"sqlite3.connect", "urllib.request.urlopen", "fsspec.open"}
    assert by_value == {"sqlite3.connect", "urllib.request.urlopen", "fsspec.open", "fsspec.filesystem"}
    assert {"subprocess.Popen", "tempfile.TemporaryDirectory"}.isdisjoint(wrapped)  # classes
    assert {"webbrowser.open", "shutil.which", "os.path.ismount"} <= wrapped


@pytest.mark.parametrize("name, args, kwargs, quiet", [
    ("fsspec.open", ("memory://scratch/a.bin", "wb"), {}, True),
    ("fsspec.open", ("file:///tmp/a.bin", "wb"), {}, False),
    ("fsspec.open", (), {"urlpath": "s3://bucket/a.bin"}, False),
    ("sqlite3.connect", (":memory:",), {}, True),
    ("sqlite3.connect", (), {"database": ":memory:", "check_same_thread": False}, True),
    ("sqlite3.connect", ("file::memory:?cache=shared",), {"uri": True}, True),
    ("sqlite3.connect", ("file:mem1?mode=memory&cache=shared", 5.0, 0, "", True, None, 128, True), {}, True),
    ("sqlite3.connect", ("file::memory:",), {}, False),  # without uri=True: a file of that name
    ("sqlite3.connect", ("file:app.db?mode=ro",), {"uri": True}, False),
    ("sqlite3.connect", ("",), {}, False),  # a temporary database on the disk
    ("sqlite3.connect", ("app.db",), {}, False),
    ("sqlite3.connect", (), {}, False),
    ("urllib.request.urlopen", ("data:,hello",), {}, True),
    ("urllib.request.urlopen", ("DATA:text/plain,hi",), {}, True),
    ("urllib.request.urlopen", ("https://example.org/data:",), {}, False),
    ("time.sleep", (0,), {}, False),
])
def test_quiet_call_reads_the_real_arguments(name, args, kwargs, quiet):
    assert catalog.quiet_call(name, args, kwargs) is quiet


def test_quiet_call_reads_a_request_for_a_data_url():
    import urllib.request

    assert catalog.quiet_call("urllib.request.urlopen", (urllib.request.Request("data:,x"),), {})
    assert not catalog.quiet_call("urllib.request.urlopen", (urllib.request.Request("http://h/"),), {})
