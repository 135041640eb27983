"""`python -m nnstudio` does what the `nnstudio` command does (Ctrl+C while it starts: see
nnstudio/__init__.py, which runs before this file)."""

import sys

from nnstudio.cli import main

sys.exit(main())
