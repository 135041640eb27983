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
from nnstudio.project.project_file import DatasetSpec
from nnstudio.ui.window.project_checks import OpenRefused, check_project

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
    """Opening and saving .nnz model files for the window's FileController."""

    def __init__(self, window, document):
        self.window = window
        self.document = document

    def open_model(self, path) -> bool:
        """Open a model file with a project around it; False (and a message) when it cannot."""
        from nnstudio.engine.io import load_model

        path = Path(path)
        try:
            check_weights_file(path)
            bundle = load_model(path)
            project = project_around_model(bundle, path, self.document.to_project())
            self.window.files.apply_project(project, None)
        except (OSError, ValueError) as error:  # ModelFileError, OpenRefused, FileReadError
            self.window.show_message(
                f"Could not open the model: {safe_read.shorten(str(error))}", "error"
            )
            return False
        note = "" if dataset_named_in(bundle.metadata) else " on the current dataset"
        self.window.statusBar().showMessage(f"Opened the model {path.name}{note}", 6000)
        return True

    def save_model_dialog(self) -> bool:
        """File → Save Model…: the current weights as a .nnz (for predict, Draw, sharing)."""
        window = self.window
        if window.models.model is None:
            window.show_message("There is no model to save yet: fix the Model tab first.", "info")
            return False
        if window.training.session is not None:
            window.show_message("Pause or stop training first, then save the model.", "info")
            return False
        suggested = str(Path(window.files.last_folder()) / f"{self.document.name}.nnz")
        path, _ = QFileDialog.getSaveFileName(window, "Save model", suggested, MODEL_FILTER)
        if not path:
            return False
        path = Path(path if path.endswith(".nnz") else f"{path}.nnz")
        return self.save_model(path)

    def save_model(self, path: Path) -> bool:
        try:
            self.window.files.save_weights(path, metadata=self.model_metadata())
        except (OSError, ValueError) as error:
            self.window.show_message(
                f"Could not save {path}: {error}. The previous file is unchanged.", "error"
            )
            return False
        self.window.statusBar().showMessage(f"Saved the model {path}", 4000)
        return True

    def model_metadata(self) -> dict:
        """What the file says about itself: the dataset it was trained on (Open reads it)."""
        document = self.document
        return {
            "project": document.name,
            "dataset": {"name": document.dataset.name, "options": dict(document.dataset.options)},
            "training": vars(copy.deepcopy(document.training)),
        }
