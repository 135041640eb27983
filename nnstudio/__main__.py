"""`python -m nnstudio` does what the `nnstudio` command does."""

import sys

from nnstudio.cli import main

sys.exit(main())
