"""nnstudio: a desktop studio for neural networks, written from scratch in NumPy.

This file is the first of our code any entry point runs (the console script imports
``nnstudio.cli``, ``python -m nnstudio`` imports this package before ``__main__``), so it
starts by making Ctrl+C quiet while the nnstudio command starts and ends: in the first tenth
of a second Python is still loading argparse, our modules and numpy, and a KeyboardInterrupt
there printed a 20–40 line traceback (numpy even turns one in its C code into an ImportError,
exit 1). Until the command line's ``main()`` takes Ctrl+C over (it stops a training cleanly
and saves), and again once it returns (Python shutting down), Ctrl+C writes "nnstudio:
interrupted" and ends the process at once. At once (``os._exit``), not by raising: an
exception raised half-way through an import can come out as another one, and nothing has been
written yet that would need closing. It lives here, not in a module of its own, because
loading one more file before it is installed was a window for a traceback too.

Only the nnstudio command changes its Ctrl+C (the console script, ``python -m nnstudio``, the
bundled app); a program or test that imports nnstudio keeps Python's own.
"""

import os as _os
import sys as _sys

try:
    import _signal  # built in: costs nothing (signal.py would import enum first)
except ImportError:  # another Python than CPython
    import signal as _signal

_COMMAND_NAMES = {"nnstudio", "nnstudio.exe", "nnstudio-script.py"}  # console script, bundle
_EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def quiet_interrupt(signum, frame) -> None:
    """The nnstudio command's Ctrl+C outside ``main()``, and in the window: one line, exit
    130."""
    try:  # noqa: SIM105 - what a finished command printed still reaches its reader
        _sys.stdout.flush()
    except Exception:  # noqa: BLE001 - a closed pipe, or the flush this signal interrupted
        pass
    _os.write(2, b"nnstudio: interrupted\n")
    _os._exit(_EXIT_INTERRUPTED)


def _is_the_command() -> bool:
    original = getattr(_sys, "orig_argv", _sys.argv)
    if "--multiprocessing-fork" in original + _sys.argv:
        return False  # a sweep's worker: it ignores Ctrl+C and its parent stops it
    if _sys.argv and _sys.argv[0] == "-m":  # python -m nnstudio (runpy imports us first)
        return _runs_module(original, "nnstudio")
    return bool(_sys.argv) and _os.path.basename(_sys.argv[0]) in _COMMAND_NAMES


def _runs_module(argv: list[str], module: str) -> bool:
    """Whether ``argv`` (the interpreter's own) is ``python [options] -m module ...``."""
    for option, following in zip(argv, [*argv[1:], ""], strict=True):
        if option == f"-m{module}" or (option == "-m" and following == module):
            return True
    return False


if _is_the_command() and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    try:  # noqa: SIM105 - contextlib would be one more module to load first
        _signal.signal(_signal.SIGINT, quiet_interrupt)
    except ValueError:  # imported first off the main thread: not the command starting
        pass

__version__ = "0.1.0"
APP_ID = "io.github.nnstudio.NNStudio"
APP_NAME = "nnstudio"
