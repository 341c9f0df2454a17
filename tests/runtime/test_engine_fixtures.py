"""Each example workflow under fixtures/workflows runs, the HTTP ones against a local server,
and keeps the loop free while its blocking work happens elsewhere."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "workflows"
PAYLOAD = {"slideshow": {"title": "local", "slides": [1, 2, 3]}}


def load(name: str) -> ModuleType:
    module_name = f"wfasync_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # process pools find top-level functions by module name
    spec.loader.exec_module(module)
    return module


class _JsonHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(PAYLOAD).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/json"
    server.shutdown()
    server.server_close()


async def with_ticker(coro):
    """Run ``coro`` while a task ticks every 5 ms; returns its result and the times of the
    ticks: a free loop keeps ticking, a blocked one does not tick at all."""
    ticks: list[float] = []

    async def tick():
        while True:
            await asyncio.sleep(0.005)
            ticks.append(time.perf_counter())

    ticker = asyncio.create_task(tick())
    try:
        return await coro, ticks
    finally:
        ticker.cancel()


def test_every_example_is_covered_here():
    assert {p.stem for p in EXAMPLES.glob("*.py")} == {
        "sync_http_step",
        "to_thread_http",
        "json_file_in_thread",
        "cpu_thread_pool",
        "cpu_process_pool",
    }


def test_plain_def_step_with_a_blocking_http_call(server_url):
    result = asyncio.run(load("sync_http_step").run(server_url))
    assert result == {"status": 200, "data": PAYLOAD}


def test_async_step_with_to_thread(server_url):
    assert asyncio.run(load("to_thread_http").run(server_url)) == PAYLOAD


def test_async_step_parsing_a_large_json_file_in_a_thread(tmp_path, monkeypatch):
    records = [{"id": i, "value": i % 7, "text": "x" * 40} for i in range(150_000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"records": records}))
    module = load("json_file_in_thread")
    spans: list[tuple[float, float]] = []
    real = module.load_records

    def timed(p: str) -> list:
        start = time.perf_counter()
        try:
            return real(p)
        finally:
            spans.append((start, time.perf_counter()))

    monkeypatch.setattr(module, "load_records", timed)
    result, ticks = asyncio.run(with_ticker(module.run(str(path))))
    assert result == {"count": 150_000, "total": sum(r["value"] for r in records)}
    # The loop ticked while the thread read and parsed. (Not every 5 ms: json.loads holds the
    # GIL while it parses, so the reading is where the loop gets its turns.)
    ((start, end),) = spans
    assert any(start < t < end for t in ticks), (start, end, ticks)


def test_cpu_work_on_a_dedicated_thread_pool():
    module = load("cpu_thread_pool")
    expected = hashlib.pbkdf2_hmac("sha256", b"pw", b"wfasync-salt", 300_000).hex()
    key, ticks = asyncio.run(with_ticker(module.run(b"pw", rounds=300_000)))
    assert key == expected
    assert len(ticks) >= 3  # the loop ticked while the pool hashed


def test_cpu_work_on_a_process_pool_with_a_top_level_function():
    module = load("cpu_process_pool")
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert asyncio.run(module.run(pool, 100_000)) == 9592
    assert module.count_primes(100) == 25
