"""Model files (.nnz) in the window: File → Open of a model, File → Save Model….

A model file holds layers and weights but no project, so opening one puts a project around
it: the dataset its metadata names when that is a built-in one (the one it was trained on),
else the dataset already open; the layers and the weights from the file; the training
settings as they are, with the model's loss.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from nnstudio import safe_read
from nnstudio.project.model_lifecycle import check_weights_file
from nnstudio.project.project_checks import OpenRefused, check_project
from nnstudio.project.project_data import DatasetSpec

MODEL_FILTER = "nnstudio models (*.nnz)"


def dataset_named_in(metadata: dict) -> DatasetSpec | None:
    """The built-in dataset a model file says it was trained on, or None."""
    from nnstudio.data.catalog import DATASET_NAMES

    named = metadata.get("dataset")
    if isinstance(named, str):
        named = {"name": named}
    if not isinstance(named, dict) or named.get("name") not in DATASET_NAMES:
        return None
    options = named.get("options")
    return DatasetSpec(named["name"], dict(options) if isinstance(options, dict) else {})


def project_around_model(bundle, path: Path, current):
    """A Project (from ``current``, the document's) holding the model file's layers and
    weights, on the dataset it names or the current one."""
    project = current.copy()
    project.name = path.stem
    project.path = None
    project.metadata = {}
    project.description = ""
    config = copy.deepcopy(bundle.model.config())
    project.model = {"layers": config["layers"]}
    project.training.loss = bundle.loss
    project.weights = str(path.resolve())
    spec = dataset_named_in(bundle.metadata)
    if spec is not None:
        project.dataset = spec
    try:
        check_project(project, path.name)
    except OpenRefused:
        if spec is None or not spec.options:
            raise
        project.dataset = DatasetSpec(spec.name, {})  # options of another version: defaults
        check_project(project, path.name)
    return project


class ModelFiles:
    """Opening and saving .nnz model files for the window's FileController (``files``).

    The training controller and the model lifecycle's window side come through
    ``connect_parts`` once the window has made them."""

    def __init__(self, window, document, files):
        self.window = window  # the parent of its dialogs
        self.document = document
        self.files = files
        self.status_bar, self.show_message = window.statusBar(), window.show_message
        self.training = self.model_sync = None

    def connect_parts(self, *, training, model_sync) -> None:
        self.training, self.model_sync = training, model_sync

    def open_model(self, path) -> bool:
        """Open a model file with a project around it; False (and a message) when it cannot."""
        from nnstudio.engine.io import load_model

        path = Path(path)
        try:
            check_weights_file(path)
            bundle = load_model(path)
            project = project_around_model(bundle, path, self.document.to_project())
            self.files.apply_project(project, None)
        except (OSError, ValueError) as error:  # ModelFileError, OpenRefused, FileReadError
            self.show_message(f"Could not open the model: {safe_read.shorten(str(error))}", "error")
            return False
        note = "" if dataset_named_in(bundle.metadata) else " on the current dataset"
        self.status_bar.showMessage(f"Opened the model {path.name}{note}", 6000)
        return True

    def save_model_dialog(self) -> bool:
        """File → Save Model…: the current weights as a .nnz (for predict, Draw, sharing)."""
        if self.model_sync.model is None:
            self.show_message("There is no model to save yet: fix the Model tab first.", "info")
            return False
        if self.training.session is not None:
            self.show_message("Pause or stop training first, then save the model.", "info")
            return False
        suggested = str(Path(self.files.last_folder()) / f"{self.document.name}.nnz")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save model", suggested, MODEL_FILTER)
        if not path:
            return False
        path = Path(path if path.endswith(".nnz") else f"{path}.nnz")
        return self.save_model(path)

    def save_model(self, path: Path) -> bool:
        try:
            self.files.save_weights(path, metadata=self.model_metadata())
        except (OSError, ValueError) as error:
            self.show_message(
                f"Could not save {path}: {error}. The previous file is unchanged.", "error"
            )
            return False
        self.status_bar.showMessage(f"Saved the model {path}", 4000)
        return True

    def model_metadata(self) -> dict:
        """What the file says about itself: the dataset it was trained on (Open reads it)."""
        document = self.document
        return {
            "project": document.name,
            "dataset": {"name": document.dataset.name, "options": dict(document.dataset.options)},
            "training": vars(copy.deepcopy(document.training)),
        }
