"""Files the data panel opens: which loader a path needs, and a CSV's first rows as text.

The raw rows are read with the csv module only (no type guessing), so the user sees the file
as written — including the empty cells that would stop the real loader — before loading it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nnstudio import data

CSV_PREVIEW_ROWS = 200


def name_for_path(path: str) -> str:
    """The dataset name ("csv:…", "npz:…", "idx:…") for a file or folder the user chose."""
    target = Path(path)
    suffix = target.suffix.lower()
    if target.is_dir():
        return f"idx:{target}"
    if suffix in (".csv", ".tsv", ".txt"):
        return f"csv:{target}"
    if suffix == ".npz":
        return f"npz:{target}"
    if "idx" in target.name or suffix == ".gz":
        return f"idx:{target.parent}"  # one of the four IDX files: load its folder
    raise data.DatasetError(
        f"{target.name}: nnstudio opens CSV (.csv), NumPy (.npz) files and folders of IDX "
        "files. Choose one of those."
    )


def read_csv_head(path: str, rows: int = CSV_PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """Header and the first rows as text, for the preview before loading (cheap, no parsing)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        sample = file.read(65536)
        file.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(file, dialect)
        head = [row for _, row in zip(range(rows + 1), reader, strict=False)]
    if not head:
        raise data.DatasetError(f"{path} is empty. Choose a CSV file with a header and rows.")
    width = max(len(row) for row in head)
    header = head[0] + [f"column {i + 1}" for i in range(len(head[0]), width)]
    return header, [row + [""] * (width - len(row)) for row in head[1:]]
