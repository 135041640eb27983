"""What kind of file the user chose, from its first bytes (Qt-free).

File → Open takes projects and model files; anything else gets a message that says what the
file is and what Open expects, rather than the error of a parser that was given the wrong
thing (a .nnz read as JSON said "'utf-8' codec can't decode byte 0xe4").
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from nnstudio import safe_read

PROJECT, MODEL = "project", "model"
EXPECTED = "File → Open takes a project (.nnsproj) or a model file (.nnz)"

# Leading bytes of kinds a user may pick by mistake, in words.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip-compressed file (MNIST's .gz files open from the Data dock)"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\x08", "an IDX array file (a dataset: open its folder from the Data dock)"),
    (b"\x93NUMPY", "a NumPy .npy array (a dataset: open it from the Data dock)"),
)


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a damaged zip archive"
    if "model.json" in names:
        return MODEL
    if names and all(name.endswith(".npy") for name in names):
        return "a NumPy .npz archive (a dataset: open it from the Data dock)"
    return "a zip archive that is not an nnstudio model"


def _text_kind(head: bytes, path: Path) -> str:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        if path.suffix.lower() == ".onnx":
            return "an ONNX model"
        return "a binary file of a kind nnstudio does not know"
    if text.lstrip().startswith("{"):
        return PROJECT  # JSON: the project parser says what is wrong with it, if anything
    first_line = text.splitlines()[0] if text.strip() else ""
    if path.suffix.lower() in (".csv", ".tsv", ".txt") or "," in first_line:
        return "a text table (a dataset: open it from the Data dock)"
    return "a text file that is not a project"


def file_kind(path) -> str:
    """PROJECT, MODEL, or what the file is in words ("a PNG image"). Missing files, folders
    and FIFOs raise safe_read's FileReadError, whose message says so."""
    path = Path(path)
    with safe_read.open_file(path, "a project or model file") as file:
        head = file.read(512)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    for magic, words in _MAGIC:
        if head.startswith(magic):
            return words
    if not head:
        return "an empty file"
    return _text_kind(head, path)


def wrong_kind_message(path, kind: str) -> str:
    return f"{Path(path).name} is {kind}. {EXPECTED}."
