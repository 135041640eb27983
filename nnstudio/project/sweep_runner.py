"""Where a sweep's trials run: a local pool of processes (one per core) or a Dask cluster.

Both hand a trial over as JSON text and get JSON text back (sweep.run_trial), and both report
each trial as it finishes, so a caller can print it and keep it before the next one ends::

    outcome = run_trials(trials, on_result=print)                  # this machine
    outcome = run_trials(trials, scheduler="tcp://10.0.0.5:8786")  # a Dask cluster

A stop (the ``stop`` event, or Ctrl+C) cancels the trials not yet finished and returns those
that did. On a cluster, a trial whose worker dies is run again on another worker: the
scheduler reschedules it, and ``retries`` covers a trial that raised for another reason.
``distributed`` is imported only for ``scheduler=``; it is the optional ``cluster`` extra.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nnstudio.engine.fit.helper_process import signals_held_back
from nnstudio.project.sweep import SweepError, run_trial
from nnstudio.safe_read import shorten

CLUSTER_HINT = "pip install 'nnstudio[cluster]'"
RETRIES = 2
WAIT_SECONDS = 0.2  # how soon a stop request is seen while every trial is still running
CHECK_SECONDS = 2.0  # how often a sweep on a cluster asks whether it still has one
NO_WORKER_SECONDS = 60.0  # a scheduler without workers this long: its trials cannot run
CONNECT_SECONDS = 3.0  # a scheduler answers a TCP connection with its handshake well within this


@dataclass
class SweepOutcome:
    records: list[dict] = field(default_factory=list)  # in the order they finished
    interrupted: bool = False


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_trials(
    trials: list[dict],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    on_result: Callable[[dict], None] | None = None,
    stop: threading.Event | None = None,
) -> SweepOutcome:
    """Run every trial; see the module docstring. ``workers``: local processes (default one
    per core, never more than there are trials)."""
    texts = [json.dumps(trial, allow_nan=False) for trial in trials]
    runner = _DaskRunner(scheduler) if scheduler else _PoolRunner(workers or cores(), len(texts))
    outcome = SweepOutcome()
    cancel = True  # unless every trial came back: a lost cluster must not keep trials queued
    try:
        runner.submit(texts)
        _collect(runner, len(texts), outcome, on_result, stop or threading.Event())
        cancel = outcome.interrupted
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        runner.close(cancel=cancel)
    return outcome


def _collect(runner, count: int, outcome: SweepOutcome, on_result, stop) -> None:
    """Take finished trials until every trial number has reported once. Counting records
    would end a sweep early if a trial reported twice (a cluster that lost a finished result
    with its worker and ran the trial again) and leave another trial out while the sweep
    claimed success; a trial that reports again is ignored."""
    reported: set[int] = set()
    while len(reported) < count:
        if stop.is_set():
            outcome.interrupted = True
            return
        runner.check()  # a cluster without workers or scheduler: say so, never wait forever
        try:
            record = runner.finished.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            continue
        if record is None:  # a trial the cluster dropped: check() names why
            continue
        if isinstance(record, _Retry):  # its worker process died: run it again elsewhere
            runner.resubmit(record.text)
            continue
        if record["trial"] in reported:
            continue
        reported.add(record["trial"])
        outcome.records.append(record)
        if on_result is not None:
            on_result(record)


def _failed(trial_text: str, message: str) -> dict:
    trial = json.loads(trial_text)
    record = {key: trial[key] for key in ("trial", "settings", "seed")}
    return {**record, "error": message, "seconds": None, "worker": None}


def _report_when_done(runner, future, text: str) -> None:
    """A future's done-callback: put the trial's record on ``runner.finished``, whatever
    happens. A callback that raised (a result lost with its worker, a record that is not
    JSON) would put nothing, and the sweep would wait for that trial for ever."""
    try:
        record = runner.record(future, text)
    except Exception as error:  # any failure becomes the trial's error
        kind = type(error).__name__
        record = _failed(text, f"the trial's result could not be read: {kind}: {error}")
    runner.finished.put(record)


# -- this machine ---------------------------------------------------------------------------------


def _pool_worker_init() -> None:
    # Ctrl+C (or a SIGTERM) reaches the whole process group: only the parent acts on it (it
    # keeps the finished trials and ends the pool), so a trial is never cut short by the
    # signal, nor recorded as failed because its process ended. The parent ends the workers
    # with SIGKILL when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@dataclass
class _Retry:
    """A trial whose worker process died (the OOM killer, a kill): to be submitted again."""

    text: str


class _PoolRunner:
    """One process per core, started fresh (spawn): no state of the caller — a window's Qt
    threads, a loaded dataset — is inherited, and the same on Linux, macOS and Windows."""

    def __init__(self, workers: int, trials: int):
        self.workers = max(1, min(workers, trials))
        self.finished: queue.Queue = queue.Queue()
        self.pool = self._new_pool()
        self.futures = []
        self.attempts: dict[str, int] = {}

    def _new_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_pool_worker_init,
        )

    def submit(self, texts: list[str]) -> None:
        for text in texts:
            self.attempts[text] = self.attempts.get(text, 0) + 1
            with signals_held_back():  # the pool starts its worker processes in submit()
                future = self.pool.submit(run_trial, text)
            future.add_done_callback(lambda f, text=text: _report_when_done(self, f, text))
            self.futures.append(future)

    def check(self) -> None:
        """Nothing to watch: the pool's processes are this machine's own."""

    def resubmit(self, text: str) -> None:
        """Run a trial again; a pool broken by a dead worker is replaced first (every trial
        it still held comes back here one by one, as Dask reschedules a lost worker's)."""
        if getattr(self.pool, "_broken", False):
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
        self.submit([text])

    def record(self, future, text: str):
        from concurrent.futures.process import BrokenProcessPool

        if future.cancelled():
            return _failed(text, "cancelled")
        error = future.exception()
        if isinstance(error, BrokenProcessPool) and self.attempts[text] <= RETRIES:
            return _Retry(text)
        if error is not None:  # a worker that died again and again, or a bug
            return _failed(text, f"the trial's process failed: {type(error).__name__}: {error}")
        return json.loads(future.result())

    def close(self, cancel: bool) -> None:
        if cancel:
            # A running trial cannot be cancelled: end its process rather than wait for it
            # (SIGKILL: the workers ignore SIGTERM, see _pool_worker_init). The pool keeps its
            # processes in a private mapping; without it, waiting is the fallback.
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                process.kill()
        # The trials still waiting are cancelled by the pool's own thread (cancel_futures), or
        # marked failed by it when their processes end; never cancelled from here. Both from
        # two threads raced: the pool's found a trial cancelled that it was marking failed (a
        # worker ended by a SIGTERM to the process group while it started) and printed an
        # InvalidStateError traceback.
        self.pool.shutdown(wait=True, cancel_futures=cancel)


# -- a Dask cluster -------------------------------------------------------------------------------


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise SweepError(f"--scheduler needs Dask's distributed package: {CLUSTER_HINT}") from None
    return distributed


_ADDRESS = re.compile(r"(?:tcp://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})")


def scheduler_address(address: str) -> tuple[str, int]:
    """(host, port) of a --scheduler address, checked before anything connects: nnstudio
    talks to a scheduler over plain TCP (``tcp://HOST:PORT`` or ``HOST:PORT``)."""
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or not 0 < int(match["port"]) < 65536:
        scheme = address.split("://", 1)[0] if "://" in address else ""
        why = f"the {scheme}:// protocol is not supported" if scheme and scheme != "tcp" else ""
        raise SweepError(
            f"--scheduler {shorten(address, 80)}: {why or 'not an address'}; give "
            "tcp://HOST:PORT, the address `dask scheduler` prints"
        )
    return match["host"].strip("[]"), int(match["port"])


def _reachable(address: str, host: str, port: int) -> None:
    """A refused port, or one where something other than a Dask scheduler listens, is said
    at once: Dask's client would wait forever on a server that never answers its protocol.

    A scheduler speaks first: its handshake starts with the 8-byte length of its frame
    header (a small number); a web server says nothing, an SSH server sends text."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS) as connection:
            first = connection.recv(8)
    except TimeoutError:
        first = b""
    except OSError as error:
        raise SweepError(
            f"cannot reach the Dask scheduler at {address} ({error.strerror or error}); start "
            "one with `dask scheduler` and workers with `dask worker ADDRESS`"
        ) from None
    if len(first) < 8 or int.from_bytes(first, "little") > 1 << 20:
        raise SweepError(
            f"{address} does not answer as a Dask scheduler (something else listens on that "
            "port); give the address `dask scheduler` prints"
        )


class _DaskRunner:
    """Trials as tasks on an existing cluster (``dask scheduler`` + ``dask worker``).

    The cluster is watched while the trials run: a scheduler that goes away, or no worker
    for NO_WORKER_SECONDS, ends the sweep with a SweepError (the finished trials are kept)
    rather than an exit 0 with trials "cancelled", or a wait that never ends."""

    def __init__(self, address: str):
        host, port = scheduler_address(address)
        distributed = _import_distributed()
        self.address = address
        self.finished: queue.Queue = queue.Queue()
        _reachable(address, host, port)
        _quiet_dask_logs()
        try:
            self.client = distributed.Client(
                f"tcp://{host}:{port}", timeout="10s", set_as_default=False
            )
        except Exception as error:  # noqa: BLE001 - a server that is no Dask scheduler raises anything
            raise SweepError(
                f"cannot reach the Dask scheduler at {address} ({shorten(error, 120)}); start "
                "one with `dask scheduler` and workers with `dask worker ADDRESS`"
            ) from None
        self.futures = []
        self.closing = False
        self._checked_at = self._workers_seen_at = time.monotonic()

    def submit(self, texts: list[str]) -> None:
        for text in texts:
            number = json.loads(text)["trial"]
            future = self.client.submit(
                run_trial,
                text,
                key=f"nnstudio-trial-{number}-{os.urandom(4).hex()}",
                pure=False,
                retries=RETRIES,
            )
            future.add_done_callback(lambda f, text=text: _report_when_done(self, f, text))
            self.futures.append(future)

    def record(self, future, text: str) -> dict | None:
        if future.status == "cancelled":
            # Not by us: the scheduler went away with it (check() ends the sweep, naming it).
            return _failed(text, "cancelled") if self.closing else None
        if future.status == "error":
            error = future.exception()
            if isinstance(error, ModuleNotFoundError) and "nnstudio" in str(error):
                return _failed(text, "nnstudio is not installed on the worker; install it there")
            kind = type(error).__name__
            return _failed(text, f"the trial failed on the cluster: {kind}: {error}")
        return json.loads(future.result())

    def check(self) -> None:
        """Every CHECK_SECONDS: the scheduler still answers, and it has a worker (or had one
        less than NO_WORKER_SECONDS ago)."""
        now = time.monotonic()
        if now - self._checked_at < CHECK_SECONDS:
            return
        self._checked_at = now
        try:
            running = self.client.status == "running"
            workers = self.client.scheduler_info().get("workers", {}) if running else {}
        except Exception:  # noqa: BLE001 - a lost connection raises what the comm layer has
            running = False
        if not running:
            raise SweepError(
                f"lost the Dask scheduler at {self.address} while trials ran; the finished "
                "trials were kept. Start it again and rerun the rest"
            )
        if workers:
            self._workers_seen_at = now
        elif now - self._workers_seen_at > NO_WORKER_SECONDS:
            raise SweepError(
                f"the Dask scheduler at {self.address} has had no worker for "
                f"{NO_WORKER_SECONDS:.0f} s, so the trials left cannot run; the finished trials "
                "were kept. Start workers with `dask worker ADDRESS`"
            )

    def close(self, cancel: bool) -> None:
        self.closing = True
        with contextlib.suppress(Exception):  # a scheduler already gone: nothing to cancel
            if cancel and self.futures:
                self.client.cancel(self.futures)
        with contextlib.suppress(Exception):
            self.client.close(timeout=CONNECT_SECONDS)


def _quiet_dask_logs() -> None:
    """Dask logs a lost connection as tracebacks on stderr; the sweep says it in one line."""
    import logging

    # Dask configures some of its loggers (distributed.client, ...) with their own levels.
    names = [name for name in logging.root.manager.loggerDict if name.startswith(_DASK_LOGS)]
    for name in {*names, *_DASK_LOGS}:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


_DASK_LOGS = ("distributed", "tornado", "asyncio")
