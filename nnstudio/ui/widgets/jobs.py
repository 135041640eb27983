"""Background jobs of the data and evaluation panels (their messages: ``message_bar``).

Loading MNIST or a big CSV takes seconds; it runs as a plain Python function on a
QThreadPool thread and reports back through queued signals, so the window keeps painting.
Each job carries a request number: when the user picks another dataset while one loads, the
late answer of the old request is ignored instead of replacing the newer choice.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal


class JobSignals(QObject):
    done = Signal(int, object)  # request, result
    failed = Signal(int, object)  # request, exception
    progress = Signal(int, object, object, str)  # request, done, total (or None), message


class Job(QRunnable):
    """Runs ``function(progress=..., cancel=...)`` (keywords it accepts) off the GUI thread."""

    def __init__(self, request: int, function, signals: JobSignals):
        super().__init__()
        self.request = request
        self.function = function
        self.signals = signals
        self.cancel_event = threading.Event()
        self.setAutoDelete(False)  # the panel keeps it until its answer arrived

    def report(self, done, total, message="") -> None:
        self.signals.progress.emit(self.request, done, total, str(message))

    def run(self) -> None:
        try:
            result = self.function(self)
        except Exception as error:  # noqa: BLE001 - every failure becomes a message in the panel
            error.details = traceback.format_exc()
            self.signals.failed.emit(self.request, error)
        else:
            self.signals.done.emit(self.request, result)


class JobRunner(QObject):
    """Starts jobs on a private pool; only the newest request's answers are passed on."""

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(object, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.signals = JobSignals(self)
        self.signals.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self.signals.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self.signals.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._request = 0
        self._jobs: dict[int, Job] = {}

    def start(self, function) -> Job:
        """Run ``function(job)``; the previous request, if still running, is asked to cancel."""
        self.cancel()
        self._request += 1
        job = Job(self._request, function, self.signals)
        self._jobs[job.request] = job
        self.pool.start(job)
        return job

    def busy(self) -> bool:
        return self._request in self._jobs

    def cancel(self) -> None:
        """Ask the running job to stop (if it listens) and forget its answer."""
        job = self._jobs.get(self._request)
        if job is not None:
            job.cancel_event.set()
        self._request += 1

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)

    def _finish(self, request: int) -> bool:
        self._jobs.pop(request, None)
        return request == self._request

    def _on_done(self, request, result) -> None:
        if self._finish(request):
            self.done.emit(result)

    def _on_failed(self, request, error) -> None:
        if self._finish(request):
            self.failed.emit(error)

    def _on_progress(self, request, done, total, message) -> None:
        if request == self._request:
            self.progress.emit(done, total, message)
