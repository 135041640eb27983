"""The ``--split`` option of the commands that read one split of a dataset (evaluate, explain,
landscape): the same choices and default everywhere. Imports nothing heavy: the parser is
built at every start."""

from __future__ import annotations

SPLITS = ("test", "val", "train")


def add_split_option(parser, what: str) -> None:
    """``--split`` on ``parser``; ``what`` says what the split is for ("which split to
    evaluate")."""
    parser.add_argument("--split", choices=SPLITS, default="test", help=f"{what} (default test)")
