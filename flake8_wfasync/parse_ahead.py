"""Analysis workers that parse their files while the project index is still being built.

A cold ``wfasync check`` knows which files it will analyse as soon as the scan is done, but
cannot analyse them before the project index (WFA201 across modules) is linked. Parsing them
with libcst is most of the analysis, and needs no index: :class:`ParseAhead` forks the workers
right after the scan, each parses its share, and the index reaches them when it is ready.
Building the index leaves a core idle for stretches (rounds of one or two modules); the
parsing fills them.

Each worker owns its files for the whole run (a pipe per worker, not a shared queue), so the
libcst modules never leave the process that parsed them. A worker that dies costs nothing
but time: its files are analysed in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
from multiprocessing.connection import Connection
from typing import Any

from .config import Config

# Set in the parent just before the workers fork: they inherit config and jobs, not pickles.
_fork_state: tuple[Config, list[Any]] | None = None


class ParseAhead:
    """Workers holding parsed files; :meth:`results` hands them the index and collects."""

    def __init__(self, config: Config, jobs: list[Any], workers: int) -> None:
        self.config = config
        self.jobs = jobs
        self.shares = _shares(jobs, workers)
        self.conns: list[Connection | None] = []
        self.procs: list[Any] = []

    @classmethod
    def start(cls, config: Config, jobs: list[Any], workers: int) -> ParseAhead | None:
        """Fork ``workers`` processes that start parsing ``jobs`` (runner ``_Job`` objects)
        now; None when processes cannot be made here."""
        global _fork_state
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        ahead = cls(config, jobs, workers)
        ctx = multiprocessing.get_context("fork")
        _fork_state = (config, jobs)
        try:
            for share in ahead.shares:
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(theirs, share), daemon=True)
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

    def results(self, wanted: list[Any], index: Any) -> dict[int, dict[str, Any]]:
        """Outcomes (by ``id`` of the job) of analysing ``wanted`` with ``index``: the files
        the workers parsed go to the worker that holds them, others to the least loaded."""
        from .runner import _analyse

        position = {id(job): i for i, job in enumerate(self.jobs)}
        asks: list[list[int]] = [[] for _ in self.shares]
        extra: list[list[Any]] = [[] for _ in self.shares]
        load = [0] * len(self.shares)
        owner = {i: w for w, share in enumerate(self.shares) for i in share}
        for job in sorted(wanted, key=lambda j: -len(j.source)):
            i = position.get(id(job))
            if i is not None:
                w = owner[i]
                asks[w].append(i)
            else:
                w = min(range(len(load)), key=load.__getitem__)
                extra[w].append(job)
            load[w] += len(job.source)
        blob = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
        out: dict[int, dict[str, Any]] = {}
        sent: list[bool] = []
        for w, conn in enumerate(self.conns):
            try:
                assert conn is not None
                conn.send_bytes(pickle.dumps((asks[w], extra[w]), protocol=pickle.HIGHEST_PROTOCOL))
                conn.send_bytes(blob)
                sent.append(True)
            except (OSError, EOFError, AssertionError):
                sent.append(False)
        for w, conn in enumerate(self.conns):
            got: list[dict[str, Any]] | None = None
            if sent[w] and conn is not None:
                try:
                    got = pickle.loads(conn.recv_bytes())
                except (OSError, EOFError, pickle.UnpicklingError):
                    got = None
            mine = [self.jobs[i] for i in asks[w]] + extra[w]
            if got is None or len(got) != len(mine):  # the worker is gone: do its share here
                got = [_analyse(job, self.config, index) for job in mine]
            for job, outcome in zip(mine, got, strict=True):
                out[id(job)] = outcome
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


def _shares(jobs: list[Any], workers: int) -> list[list[int]]:
    """Job positions per worker, largest file first to the least loaded: parse time follows
    size closely enough."""
    shares: list[list[int]] = [[] for _ in range(min(workers, max(1, len(jobs))))]
    load = [0] * len(shares)
    for i in sorted(range(len(jobs)), key=lambda i: -len(jobs[i].source)):
        w = min(range(len(shares)), key=load.__getitem__)
        shares[w].append(i)
        load[w] += len(jobs[i].source)
    return shares


def _worker(conn: Connection, share: list[int]) -> None:
    try:
        _work(conn, share)
    except BaseException:  # noqa: BLE001 - the parent sees end of file and does the share itself
        pass
    finally:
        conn.close()


def _work(conn: Connection, share: list[int]) -> None:
    from .analyzer import SourceParseError, _cst_parse, decode_source
    from .runner import _analyse

    assert _fork_state is not None
    config, jobs = _fork_state
    try:
        # Building the index is what the run waits for: parsing ahead takes the CPU it leaves.
        os.nice(10)
    except OSError:
        pass
    # The trees parsed now are acyclic and live until the end: collections would walk them
    # over and over and free nothing. Freezing them afterwards keeps later collections (during
    # the analysis) to what the analysis makes. (Nothing else has been made here yet.)
    gc.disable()
    try:
        for i in share:  # parse now; the index comes when it is ready
            job = jobs[i]
            try:
                text = job.text if job.text is not None else decode_source(job.source)
                job.text, job.module = text, _cst_parse(text, job.path)
            except (SourceParseError, RecursionError, MemoryError):
                pass  # analysing it again reports the error the same way as everywhere else
    finally:
        gc.freeze()
        gc.enable()
    asks, extra = pickle.loads(conn.recv_bytes())  # end of file: the run was abandoned
    index = pickle.loads(conn.recv_bytes())
    outcomes = [_analyse(jobs[i], config, index) for i in asks]
    outcomes += [_analyse(job, config, index) for job in extra]
    conn.send_bytes(pickle.dumps(outcomes, protocol=pickle.HIGHEST_PROTOCOL))
