"""`python -m nnstudio` does what the `nnstudio` command does."""

import sys

try:
    from nnstudio.cli import main
except KeyboardInterrupt:  # Ctrl+C while the first modules load: one line, no traceback
    print("nnstudio: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
