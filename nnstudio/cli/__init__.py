"""The ``nnstudio`` command: no sub-command opens the window; the others run headless.

- main.py: the argument parser and the dispatch (exit codes 0 / 1 / 2)
- train.py, predict.py (evaluate and predict), sweep.py, bench.py,
  desktop.py (``--install-desktop``)
"""

from nnstudio.cli.main import main

__all__ = ["main"]
