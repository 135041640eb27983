"""``nnstudio export`` and ``nnstudio import``: a saved model to ONNX or a NumPy script, and an
ONNX model back to a .nnz.

    nnstudio export MODEL.nnz --format onnx --out MODEL.onnx
    nnstudio export MODEL.nnz --format python --out model.py     (+ model.npz beside it)
    nnstudio import MODEL.onnx --out MODEL.nnz

Every output goes through ``write_atomically`` after ``check_writable``: a folder that cannot
be written is exit 2 before any work, and nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("onnx", "python")


def add_parsers(commands, common) -> None:
    export = commands.add_parser(
        "export",
        prog="nnstudio export",
        parents=[common],
        help="export a saved model to ONNX or a NumPy-only Python script",
        description="Export a saved model. ONNX: a file every runtime reads, taking inputs as "
        "the dataset files hold them (MNIST: float32 pixels 0-255, N×1×28×28) and giving class "
        "probabilities and logits (regression: the values); needs pip install 'nnstudio[onnx]'. "
        "python: one .py needing only NumPy, with its weights in a .npz of the same name.",
    )
    export.add_argument("model", metavar="MODEL.nnz", help="a model saved by nnstudio")
    export.add_argument("--format", choices=FORMATS, required=True, help="onnx or python")
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    importer = commands.add_parser(
        "import",
        prog="nnstudio import",
        parents=[common],
        help="turn an ONNX model (an MLP or a small CNN) into an nnstudio model file",
        description="Import an ONNX model built from layers nnstudio has (its own exports; "
        "PyTorch or Keras MLPs and small CNNs) and save it as a .nnz. A node nnstudio has no "
        "layer for is named in one line (exit 2).",
    )
    importer.add_argument("onnx_file", metavar="FILE.onnx", help="an ONNX model")
    importer.add_argument("--out", required=True, metavar="MODEL.nnz", help="the model to write")


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nnstudio.atomic_file import check_writable, refuse_same_file
    from nnstudio.engine.io import load_model
    from nnstudio.project.export_common import ExportError

    refuse_same_file(args.model, args.out, "--out")
    if args.format == "python":  # its weights go beside the script
        refuse_same_file(args.model, Path(args.out).with_suffix(".npz"), "--out (its weights)")
    check_writable(args.out)  # before loading: a read-only folder fails at once
    bundle = load_model(args.model)
    try:
        written = _export(bundle, args.format, args.out)
    except ExportError as error:  # "the model file's input scaling is damaged": which file?
        if str(args.model) in str(error):
            raise
        raise ExportError(f"{args.model} cannot be exported: {error}") from None
    print(f"Exported {args.model} to {written}", file=sys.stderr)
    return 0


def _export(bundle, fmt: str, out: str) -> str:
    """Write the export; what was written, in words."""
    if fmt == "onnx":
        from nnstudio.project.export_onnx import export_onnx

        export_onnx(bundle, out)
        return f"{out} (ONNX)"
    from nnstudio.project.export_python import export_python

    script, weights = export_python(bundle, out)
    return f"{script} and {weights}"


def run_import(args: argparse.Namespace) -> int:
    from nnstudio.project.import_onnx import import_to_nnz

    path = import_to_nnz(args.onnx_file, args.out)
    print(f"Imported {args.onnx_file} as {path}", file=sys.stderr)
    return 0
