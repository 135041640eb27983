"""File → Export model…: the window's trained model as ONNX or as a NumPy-only Python script;
and File → Open of an ``.onnx`` file, imported into a model file first.

The work is ``nnstudio.project.export_onnx`` / ``export_python`` (Qt-free, shared with
``nnstudio export``); this controller asks for the file and reports in the message bar,
including how to install ``onnx`` when it is missing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

ONNX_FILTER = "ONNX model (*.onnx)"
PYTHON_FILTER = "Python script, NumPy only (*.py)"


class ExportController:
    """Exports the window's idle model (the one Evaluate and Draw use)."""

    def __init__(self, window, document, *, training, models, model_files):
        self.window = window  # the parent of its dialogs
        self.document = document
        self.training, self.models, self.model_files = training, models, model_files
        self.show_message = window.show_message

    def _bundle(self):
        """The model with what an export bakes in (loss, classes, input scaling), or None
        after telling the user why there is nothing to export."""
        from nnstudio.engine.io import ModelBundle

        if self.training.session is not None:
            self.show_message("Pause or stop training before exporting the model.", "warning")
            return None
        model = self.models.model
        if model is None or not self.document.has_trained_weights():
            self.show_message("Train the model first: there are no trained weights to export.")
            return None
        dataset = self.models.dataset
        return ModelBundle(
            model=model,
            loss=self.document.training.loss,
            class_names=getattr(dataset, "class_names", None),
            preprocessing=dataset.preprocessing() if dataset is not None else None,
            metadata=self.model_files.model_metadata(),  # the dataset, for File → Open
            path=Path(f"{self.document.name}.nnz"),
        )

    def ask_path(self) -> tuple[str, str]:
        """(path, chosen filter) from a save dialog; ("", "") when cancelled."""
        stem = "".join(c if c.isalnum() else "_" for c in self.document.name) or "model"
        return QFileDialog.getSaveFileName(
            self.window,
            "Export model",
            str(Path.home() / f"{stem}.onnx"),
            f"{ONNX_FILTER};;{PYTHON_FILTER}",
        )

    def export_model(self) -> None:
        bundle = self._bundle()
        if bundle is None:
            return
        path, chosen = self.ask_path()
        if not path:
            return
        python = chosen == PYTHON_FILTER or path.lower().endswith(".py")
        suffix = ".py" if python else ".onnx"
        path = Path(path if path.lower().endswith(suffix) else path + suffix)
        self.export_to(bundle, path, "python" if python else "onnx")

    def export_to(self, bundle, path: Path, kind: str) -> bool:
        """Write the export; errors (onnx missing, a read-only folder) go to the message bar."""
        try:
            if kind == "python":
                from nnstudio.project.export_python import export_python

                written = " and ".join(str(p) for p in export_python(bundle, path))
            else:
                from nnstudio.project.export_onnx import export_onnx

                export_onnx(bundle, path)
                written = str(path)
        except (ValueError, OSError) as error:
            self.window.show_message(f"Could not export the model: {error}", "error")
            return False
        self.window.statusBar().showMessage(f"Exported the model to {written}", 6000)
        return True

    def open_onnx(self, path) -> bool:
        """Import an ONNX model into a .nnz in the user's data folder (never beside the user's
        file, which may be read-only), then open that like any model file."""
        from nnstudio.paths import user_data_dir
        from nnstudio.project.import_onnx import import_to_nnz
        from nnstudio.safe_read import shorten

        path = Path(path)
        folder = user_data_dir() / "imported"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            model_file = import_to_nnz(path, folder / f"{path.stem}.nnz")
        except (ValueError, OSError, MemoryError, RecursionError) as error:
            message = f"Could not open the ONNX model: {shorten(str(error))}"
            self.show_message(message, "error")
            return False
        return self.model_files.open_model(model_file)
