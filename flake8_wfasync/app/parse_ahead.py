"""Analysis workers that parse their files while the project index is still being built.

A cold ``wfasync check`` knows which files it will analyse as soon as the scan is done, but
cannot analyse them before the project index (WFA201 across modules) is linked. Parsing them
with libcst is most of the analysis, and needs no index: :class:`ParseAhead` forks the workers
right after the scan, they parse, and the index reaches them when it is ready. Building the
index leaves a core idle for stretches (rounds of one or two modules); the parsing fills them.

Each worker takes the next file to parse from a shared counter (largest files first), so the
workers end together however long each file turns out to take, and keeps what it parsed: the
libcst modules never leave the process that parsed them. A worker that dies costs nothing but
time: what it held is analysed in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..source import SourceParseError, cst_parse, decode_source
from .file_check import FileJob, analyse_job

if TYPE_CHECKING:
    from ..analysis.project_index import ProjectIndex

# Set in the parent just before the workers fork: they inherit config, jobs and the shared
# counters, not pickles.
_fork_state: tuple[Config, list[FileJob], list[int], Any, Any] | None = None


class ParseAhead:
    """Workers holding parsed files; :meth:`results` hands them the index and collects."""

    def __init__(self, config: Config, jobs: list[FileJob], workers: int) -> None:
        self.config = config
        self.jobs = jobs
        self.workers = min(workers, max(1, len(jobs)))
        # Largest first: the last files a worker takes are small, so both end together.
        self.order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].source))
        self.conns: list[Connection | None] = []
        self.procs: list[Any] = []
        self.counters: tuple[Any, ...] = ()  # shared with the workers: next to parse, next extra

    @classmethod
    def start(cls, config: Config, jobs: list[FileJob], workers: int) -> ParseAhead | None:
        """Fork ``workers`` processes that take the files of ``jobs`` one at a time and parse
        them; None where processes cannot be forked."""
        global _fork_state
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        ahead = cls(config, jobs, workers)
        ctx = multiprocessing.get_context("fork")
        try:
            # The next file to parse, and the next file the index added to analyse: each
            # worker takes the next one when it is free, whatever the sizes turn out to cost.
            ahead.counters = (ctx.Value("i", 0), ctx.Value("i", 0))
            _fork_state = (config, jobs, ahead.order, *ahead.counters)
            for _ in range(ahead.workers):
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(theirs,), daemon=True)
                proc.start()
                theirs.close()  # so that a worker that dies reads as end of file here
                ahead.conns.append(mine)
                ahead.procs.append(proc)
        except OSError:
            ahead.close()
            return None
        finally:
            _fork_state = None
        return ahead

    def results(self, wanted: list[FileJob], index: ProjectIndex | None) -> dict[int, dict[str, Any]]:
        """Outcomes (by ``id`` of the job) of analysing ``wanted`` with ``index``: each file a
        worker parsed is analysed by that worker, the others by whichever worker is free; what
        a dead worker held is analysed here."""
        position = {id(job): i for i, job in enumerate(self.jobs)}
        asked: set[int] = set()
        extra: list[FileJob] = []
        for job in wanted:
            i = position.get(id(job))
            if i is not None:
                asked.add(i)
            else:
                extra.append(job)
        extra.sort(key=lambda j: -len(j.source))
        message = pickle.dumps((asked, extra), protocol=pickle.HIGHEST_PROTOCOL)
        blob = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
        sent: list[Connection] = []
        for conn in self.conns:
            try:
                assert conn is not None
                conn.send_bytes(message)
                conn.send_bytes(blob)
                sent.append(conn)
            except (OSError, EOFError, AssertionError):
                pass
        out: dict[int, dict[str, Any]] = {}
        for conn in sent:
            try:
                got: list[tuple[int, dict[str, Any]]] = pickle.loads(conn.recv_bytes())
            except (OSError, EOFError, pickle.UnpicklingError):
                continue  # the worker is gone: what it held is done below
            for key, outcome in got:
                job = self.jobs[key] if key >= 0 else extra[-1 - key]
                out[id(job)] = outcome
        for job in wanted:
            if id(job) not in out:
                out[id(job)] = analyse_job(job, self.config, index)
        self.close()
        return out

    def close(self) -> None:
        for conn in self.conns:
            if conn is not None:
                conn.close()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self.conns, self.procs = [], []


# How long a worker waits for the shared counter's lock before taking the next number without
# it: the lock is held for a few instructions, so only a sibling killed while holding it (an
# out-of-memory kill) keeps it longer, and then for ever.
_LOCK_WAIT = 2.0
_lock_lost = False


def _take(counter: Any) -> int:
    """The next number of ``counter``. Once its lock is lost, without it: two workers may
    then take the same file, which costs time, never a result."""
    global _lock_lost
    lock = counter.get_lock()
    held = False if _lock_lost else lock.acquire(timeout=_LOCK_WAIT)
    _lock_lost = not held
    raw = counter.get_obj()  # (``counter.value`` would take the lock itself)
    try:
        taken = raw.value
        raw.value = taken + 1
    finally:
        if held:
            lock.release()
    return taken


def _worker(conn: Connection) -> None:
    try:
        _work(conn)
    except BaseException:  # noqa: BLE001 - the parent sees end of file and does the work itself
        pass
    finally:
        conn.close()


def _work(conn: Connection) -> None:
    assert _fork_state is not None
    config, jobs, order, next_parse, next_extra = _fork_state
    try:
        # Building the index is what the run waits for: parsing ahead takes the CPU it leaves.
        os.nice(10)
    except OSError:
        pass
    mine: list[int] = []
    # The trees parsed now are acyclic and live until the end: collections would walk them
    # over and over and free nothing. Freezing them afterwards keeps later collections (during
    # the analysis) to what the analysis makes. (Nothing else has been made here yet.)
    gc.disable()
    try:
        while (k := _take(next_parse)) < len(order):  # parse now; the index comes when ready
            job = jobs[order[k]]
            mine.append(order[k])
            try:
                text = job.text if job.text is not None else decode_source(job.source)
                job.text, job.module = text, cst_parse(text, job.path)
            except (SourceParseError, RecursionError, MemoryError):
                pass  # analysing it again reports the error the same way as everywhere else
    finally:
        gc.freeze()
        gc.enable()
    asked, extra = pickle.loads(conn.recv_bytes())  # end of file: the run was abandoned
    index = pickle.loads(conn.recv_bytes())
    out = [(i, analyse_job(jobs[i], config, index)) for i in mine if i in asked]
    while (k := _take(next_extra)) < len(extra):
        out.append((-1 - k, analyse_job(extra[k], config, index)))
    conn.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
