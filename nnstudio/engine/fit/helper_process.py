"""The helper process that trains the second half of each batch (half_process.py), and
the memory it shares with its parent.

The parent starts it as a fresh Python running :func:`serve` on one end of a socket pair
(the bundled app: its own executable with ``--half-batch-helper FD``), and keeps a
:class:`HelperProcess` handle on it. Requests and answers go over the socket as small pickled
tuples between these two processes of ours (never a file); the arrays go through
:class:`SharedArrays`, whose descriptor is passed over the same socket.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import mmap
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from multiprocessing.connection import Connection

import numpy as np

from nnstudio.engine.fit.halves import augmented
from nnstudio.engine.flat import views_like

#: A shared array starts on a 64-byte boundary (a cache line; NumPy's own alignment is 16).
_ALIGN = 64


class WorkerLost(RuntimeError):
    """The helper process ended, or could not be started or reached."""


# -- memory both processes map -----------------------------------------------------------------


class SharedArrays:
    """Named arrays in one block of memory that two processes map.

    ``layout`` is [(name, shape, dtype name)]. The process that makes them
    (``descriptor=None``) gets a file with no name (memfd; elsewhere a temporary file removed
    at once) and keeps its descriptor open in ``descriptor`` until it has passed it to the
    other process (``close_descriptor``), which maps it from there: no named file exists
    that a killed process could leave behind. The memory lives on until both let go of
    their arrays.
    """

    def __init__(self, layout: list[tuple[str, tuple, str]], descriptor: int | None = None):
        self.layout = layout
        places, total = [], 0
        for _name, shape, dtype in layout:
            places.append(total)
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            total += -(-max(nbytes, 1) // _ALIGN) * _ALIGN
        made = descriptor is None
        if made:
            descriptor = _nameless_file(total)
        try:
            memory = mmap.mmap(descriptor, total)
        except OSError:
            os.close(descriptor)
            raise
        if not made:
            os.close(descriptor)
        self.descriptor = descriptor if made else None
        # The mapping is released when the last of these arrays is gone.
        self.arrays = {
            name: np.ndarray(shape, dtype, buffer=memory, offset=place)
            for (name, shape, dtype), place in zip(layout, places, strict=True)
        }

    def fits(self, layout) -> bool:
        """Whether ``layout``'s arrays fit in these: same names, shapes after the first axis
        and dtypes, and no more rows."""
        if [name for name, _, _ in layout] != [name for name, _, _ in self.layout]:
            return False
        for (_, shape, dtype), (_, mine, my_dtype) in zip(layout, self.layout, strict=True):
            if dtype != my_dtype or tuple(shape[1:]) != tuple(mine[1:]) or shape[0] > mine[0]:
                return False
        return True

    def close_descriptor(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


def _nameless_file(size: int) -> int:
    """An open descriptor of ``size`` bytes of memory that has no name in any folder."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("nnstudio-halves")
    else:
        descriptor, path = tempfile.mkstemp(prefix="nnstudio-halves-")
        os.unlink(path)
    try:
        os.ftruncate(descriptor, size)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


# -- the helper process ------------------------------------------------------------------------


class _Twin:
    """The helper process's side: a copy of the model whose weights and gradients are views
    of the shared arrays."""

    REQUESTS = ("setup", "map", "reseed", "run", "forward")  # what the parent may ask

    def __init__(self, channel: socket.socket):
        self.channel = channel  # the pipe's socket, for the shared memory's descriptor
        self.model = self.loss = self.augment = self.shared = None

    def setup(self, config, seed, dtype, input_shape, loss, augment):
        from nnstudio.engine.model import Sequential

        self.model = Sequential.from_config(config, seed=seed, dtype=dtype)
        self.model.build(tuple(input_shape))
        self.loss, self.augment, self.shared = loss, augment, None
        return ("ready",)

    def map(self, layout):
        _, descriptors, _, _ = socket.recv_fds(self.channel, 1, 1)
        self.shared = SharedArrays(layout, descriptors[0])
        for kind, flat in (("params", "weights"), ("grads", "gradients")):
            groups = [getattr(layer, kind) for layer in self.model.layers]
            place = 0
            for group in groups:
                size = sum(array.size for array in group.values())
                group.update(views_like(self.shared.arrays[flat][place : place + size], group))
                place += size
        return ("mapped",)

    def reseed(self, words):
        for index, layer in enumerate(self.model.layers):
            if isinstance(getattr(layer, "rng", None), np.random.Generator):
                layer.rng = np.random.default_rng([*words, index])
        return ("reseeded",)

    def run(self, rows, errors, augment_seed):
        arrays = self.shared.arrays
        with np.errstate(**errors):
            x = augmented(self.augment, arrays["x"][:rows], augment_seed, 1)
            outputs = self.model.forward(x, training=True)
            value, grad_outputs = self.loss.value_and_grad(outputs, arrays["y"][:rows])
            self.model.backward(grad_outputs, need_input_grad=False)  # no input gradient
        np.copyto(arrays["outputs"][:rows], outputs)
        return ("done", float(value))

    def forward(self, rows, errors, _augment_seed):
        """Eval-mode outputs only (the validation pass)."""
        arrays = self.shared.arrays
        with np.errstate(**errors):
            outputs = self.model.forward(arrays["x"][:rows], training=False)
        np.copyto(arrays["outputs"][:rows], outputs)
        return ("done", None)


def serve(descriptor: int) -> None:
    """The helper process's loop on the socket its parent passed down: do what each message
    asks and answer it, until told to close or the pipe closes (the parent ended)."""
    # Ctrl+C reaches the whole process group: the parent decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    from nnstudio.engine.blas import single_threaded_blas

    connection = Connection(descriptor)
    twin = _Twin(socket.socket(fileno=os.dup(descriptor)))
    with single_threaded_blas():  # the other half has the other core
        while True:
            try:
                kind, *arguments = connection.recv()
            except (EOFError, OSError):
                return
            if kind == "close":
                return
            try:
                if kind not in _Twin.REQUESTS:
                    raise ValueError(f"unknown request {kind!r}")
                reply = getattr(twin, kind)(*arguments)
            except Exception as error:  # noqa: BLE001 - sent back, raised in the parent
                reply = ("error", type(error).__name__, str(error), traceback.format_exc())
            connection.send(reply)


#: How the bundled app (PyInstaller, no ``python -c``) is told to be a helper instead.
HELPER_ARGUMENT = "--half-batch-helper"


def serve_if_asked(arguments: list[str]) -> bool:
    """The bundled app's first step: when started as a helper (``app --half-batch-helper
    FD``), serve and return True; otherwise return False at once."""
    if len(arguments) != 3 or arguments[1] != HELPER_ARGUMENT or not arguments[2].isdigit():
        return False
    serve(int(arguments[2]))
    return True


def _helper_command(descriptor: int) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, HELPER_ARGUMENT, str(descriptor)]
    code = "import sys; from {} import serve; serve(int(sys.argv[1]))"
    return [sys.executable, "-c", code.format(__name__), str(descriptor)]


def _helper_environment() -> dict[str, str]:
    """This environment, with nnstudio importable however this process found it."""
    package_parent = os.path.dirname(os.path.dirname(sys.modules["nnstudio"].__file__))
    paths = [package_parent, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class HelperProcess:
    """The parent's handle on one helper process.

    Started as a fresh Python running :func:`serve`, not with multiprocessing's
    spawn: that runs the parent's main script again in the child, and a script without an
    ``if __name__ == "__main__":`` guard would then train twice."""

    def __init__(self):
        if os.name != "posix" or not sys.executable:
            raise WorkerLost("helper processes are started on POSIX systems only")
        ours, theirs = socket.socketpair()
        try:
            with signals_held_back():  # the helper ignores Ctrl+C from its first line on
                self.process = subprocess.Popen(
                    _helper_command(theirs.fileno()),
                    pass_fds=(theirs.fileno(),),
                    env=_helper_environment(),
                    stdin=subprocess.DEVNULL,
                )
        except OSError as error:
            ours.close()
            raise WorkerLost(f"the helper process could not be started ({error})") from error
        finally:
            theirs.close()
        self.channel = ours  # for the shared memory's descriptor (socket.send_fds)
        self.connection = Connection(os.dup(ours.fileno()))
        self.lost = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, *message) -> None:
        try:
            self.connection.send(message)
        except (OSError, ValueError) as error:
            self.lost = True
            raise WorkerLost(f"the helper process cannot be reached ({error})") from error

    def send_descriptor(self, descriptor: int) -> None:
        try:
            socket.send_fds(self.channel, [b"m"], [descriptor])
        except OSError as error:
            self.lost = True
            raise WorkerLost(f"the helper process cannot be reached ({error})") from error

    def answer(self):
        """The reply to the last message; its error raised here as the same kind."""
        try:
            reply = self.connection.recv()
        except (EOFError, OSError) as error:
            self.lost = True
            raise WorkerLost("the helper process ended") from error
        if reply[0] == "error":
            _, kind, text, details = reply
            error_class = getattr(builtins, kind, None)
            if not (isinstance(error_class, type) and issubclass(error_class, Exception)):
                error_class = RuntimeError
            raise error_class(f"{text}\n(in the half-batch helper process:\n{details})")
        return reply

    def call(self, *message):
        self.send(*message)
        return self.answer()

    def close(self) -> None:
        with contextlib.suppress(WorkerLost):
            self.send("close")
        self.connection.close()
        self.channel.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def signals_held_back():
    """Ctrl+C and SIGTERM held back in this thread (delivered, not lost, when this ends) while
    a child process starts: it inherits the signals its parent blocked, so a Ctrl+C to the
    process group before the child ignores it cannot print the child's traceback."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process groups to signal
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# Helpers not in use, kept for the next fit (starting one costs a few tenths of a second).
_idle: list[HelperProcess] = []
_idle_lock = threading.Lock()


def take_helper() -> HelperProcess:
    with _idle_lock:
        while _idle:
            helper = _idle.pop()
            if helper.alive():
                return helper
            helper.close()
    return HelperProcess()


def give_back(helper: HelperProcess) -> None:
    if helper.lost or not helper.alive():
        helper.close()
        return
    with _idle_lock:
        _idle.append(helper)


@atexit.register
def close_idle_helpers() -> None:
    with _idle_lock:
        helpers = list(_idle)
        _idle.clear()
    for helper in helpers:
        helper.close()
