"""The `nnstudio` command: no sub-command opens the window; train / evaluate / predict /
bench run headless.

Exit codes: 0 success, 2 bad arguments or bad input (one line on stderr), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import sys

from nnstudio import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnstudio",
        description="A desktop studio for neural networks, written from scratch in NumPy. "
        "Without a sub-command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    parser.add_argument("project", nargs="?", help="a project file (.nnsproj) to open")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nnstudio.ui.app import run_app

    return run_app(args.project)


if __name__ == "__main__":
    sys.exit(main())
