"""Entry point of the PyInstaller build: the same as the `nnstudio` command."""

import multiprocessing
import sys

from nnstudio.cli import main
from nnstudio.engine.fit.helper_process import serve_if_asked

if __name__ == "__main__":
    # A sweep's trials run in spawned processes: in a frozen app those start this executable
    # again, and freeze_support turns them into workers instead of a second nnstudio.
    multiprocessing.freeze_support()
    # Training on two cores starts this executable again as its half-batch helper.
    if serve_if_asked(sys.argv):
        sys.exit(0)
    sys.exit(main())
