"""The main window's project files: new/open/save, recent files, presets, autosave and
restore, window settings, exports.

``FilesMixin`` is one of the parts ``MainWindow`` is made of; it uses the window's widgets
(hyperparameters, builder, data panel) and the training state of the other parts.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from nnstudio.project.project_file import apply_regularization, common_regularization

SETTINGS_VERSION = 1
AUTOSAVE_MS = 60_000
MAX_RECENT = 8
DEFAULT_PRESET = "spiral-mlp"
# Used when the presets are missing: the same spiral + small MLP as the preset.
DEFAULT_PROJECT = {
    "format": "nnstudio-project",
    "version": 1,
    "name": "spiral",
    "dataset": {"name": "spiral", "options": {"samples": 600, "noise": 0.1}},
    "model": {
        "layers": [
            {"type": "Dense", "units": 32, "activation": "relu"},
            {"type": "Dense", "units": 32, "activation": "relu"},
            {"type": "Dense", "units": 3},
        ]
    },
    "training": {
        "loss": "softmax_crossentropy",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 32,
        "epochs": 200,
    },
}


class FilesMixin:
    """Project files, settings and exports of ``MainWindow``."""

    # -- settings -------------------------------------------------------------------------------

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue("window/version", SETTINGS_VERSION)
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(SETTINGS_VERSION))
        settings.setValue("window/tab", self.tabs.currentIndex())
        settings.setValue("files/recent", self.recent_files)

    def restore_settings(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry", None)
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state", None)
        if state is not None:
            self.restoreState(state, SETTINGS_VERSION)
        self.tabs.setCurrentIndex(settings.value("window/tab", 0, type=int))
        self.recent_files = [str(p) for p in settings.value("files/recent", [], type=list)]
        self._fill_recent_menu()

    def open_dropped(self, path) -> None:
        """A file dropped on the window: a project opens as one, anything else is data."""
        if str(path).lower().endswith(".nnsproj"):
            if self.maybe_save():
                self.open_project(path)
        else:
            self.data_panel.open_file(path)

    # -- project files --------------------------------------------------------------------------

    def _init_file_state(self) -> None:
        from nnstudio.project.autosave import Autosave

        self.project = None
        self.project_path: Path | None = None
        self.recent_files: list[str] = []
        self.autosave = Autosave()
        self._saved_form = None
        self._weights_dirty = False
        self._pending_weights: Path | None = None
        self._applying = False
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_MS, timeout=self.autosave_now)
        self._autosave_timer.start()

    def load_default_project(self) -> None:
        """The first-launch project: a spiral and a small MLP, so Train shows something at once."""
        from nnstudio.project import Project, load_preset

        try:
            project = load_preset(DEFAULT_PRESET)
        except (ValueError, OSError):
            project = Project.from_dict(DEFAULT_PROJECT)
        self._apply_project(project, None)

    def new_project(self) -> None:
        if self.maybe_save():
            self.load_default_project()

    def new_from_preset(self, name: str) -> None:
        from nnstudio.project import load_preset

        if not self.maybe_save():
            return
        try:
            self._apply_project(load_preset(name), None)
        except ValueError as error:
            self.show_message(str(error), "error")

    def open_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open project",
            self._last_folder(),
            "nnstudio projects (*.nnsproj);;All files (*)",
        )
        if path:
            self.open_project(path)

    def open_project(self, path) -> bool:
        """Load a project file into the window; problems go to the message bar."""
        from nnstudio.project import load_project

        try:
            project = load_project(path)
        except ValueError as error:
            if self.project is None:  # launched with a bad file: still give a usable window
                self.load_default_project()
            self.show_message(str(error), "error")
            return False
        self._apply_project(project, Path(path))
        self._add_recent(path)
        return True

    def _apply_project(self, project, path: Path | None) -> None:
        self.shutdown_training()
        self._applying = True
        # The panel loads the dataset on a worker thread; the project counts as "saved" once
        # it (with the panel's complete options) has arrived, and until then the layers are
        # not built or judged against the dataset that is still loaded.
        self._awaiting_project_dataset = True
        try:
            self.project, self.project_path = project, path
            self.hyperparameters.set_settings(vars(project.training))
            self.hyperparameters.set_regularization(*common_regularization(project.model))
            self._pending_weights = project.resolve(project.weights) if project.weights else None
            self.builder.set_config(project.model)
            self._weights_dirty = False
            self.data_panel.set_spec(project.dataset.name, dict(project.dataset.options))
        finally:
            self._applying = False
        self._saved_form = self._collect_project().to_dict()
        self._update_title()

    def _collect_project(self):
        """The project as the window shows it now (what Save writes)."""
        project = self.project.copy()
        project.training = type(project.training)(**self.hyperparameters.settings())
        project.model = self.builder.config()
        project.model = apply_regularization(project.model, *self.hyperparameters.regularization())
        name, options = self.data_panel.spec()
        project.dataset = type(project.dataset)(name, dict(options))
        return project

    def is_modified(self) -> bool:
        if self.project is None:
            return False
        return self._weights_dirty or self._collect_project().to_dict() != self._saved_form

    def _update_title(self) -> None:
        name = self.project.name if self.project else "untitled"
        if self.project_path is not None:
            name = self.project_path.stem
        self.setWindowTitle(f"{name}[*] — nnstudio")
        self.setWindowModified(self.is_modified())

    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self.write_project(self.project_path)

    def save_as(self) -> bool:
        suggested = str(Path(self._last_folder()) / f"{self.project.name}.nnsproj")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project", suggested, "nnstudio projects (*.nnsproj)"
        )
        if not path:
            return False
        if not path.endswith(".nnsproj"):
            path += ".nnsproj"
        return self.write_project(Path(path))

    def write_project(self, path: Path) -> bool:
        """Save project (+ trained weights as a .nnz next to it); errors in words."""
        from nnstudio.project import save_project

        path = Path(path)
        project = self._collect_project()
        project.name = path.stem
        try:
            if self.model is not None and self._has_trained_weights():
                self._save_weights(path.with_suffix(".nnz"))
                project.weights = path.with_suffix(".nnz").name
            save_project(project, path)
        except (OSError, ValueError) as error:
            self.show_message(
                f"Could not save {path}: {error}. The previous file is unchanged.", "error"
            )
            return False
        self.project, self.project_path = project, path
        self._saved_form = self._collect_project().to_dict()
        self._weights_dirty = False
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _has_trained_weights(self) -> bool:
        """Weights worth a .nnz: trained here, or loaded from the project's file."""
        trained = bool(self.current_run and self.current_run.history)
        return trained or getattr(self, "_weights_restored", False)

    def _save_weights(self, path: Path) -> None:
        from nnstudio.engine.io import save_model

        if self.session is not None:
            raise OSError("training is running; pause or stop it before saving the weights")
        dataset = self.dataset
        save_model(
            path,
            self.model,
            loss=self.hyperparameters.settings()["loss"],
            class_names=getattr(dataset, "class_names", None),
            preprocessing=dataset.preprocessing() if dataset is not None else None,
        )

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.is_modified():
            return True
        answer = self._ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _ask_save_changes(self):
        name = self.project_path.name if self.project_path else "this project"
        return QMessageBox.question(
            self,
            "Save changes?",
            f"Save the changes to {name} before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )

    def _last_folder(self) -> str:
        return str(Path(self.recent_files[0]).parent) if self.recent_files else str(Path.home())

    def _add_recent(self, path) -> None:
        path = str(Path(path).resolve())
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]
        QSettings().setValue("files/recent", self.recent_files)
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for index, path in enumerate(self.recent_files):
            action = self.recent_menu.addAction(f"&{index + 1} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(
                lambda _=False, p=path: self.maybe_save() and self.open_project(p)
            )
        self.recent_menu.setEnabled(bool(self.recent_files))

    def _fill_presets_menu(self) -> None:
        from nnstudio.project import list_presets

        for name in list_presets():
            action = self.presets_menu.addAction(name)
            action.triggered.connect(lambda _=False, n=name: self.new_from_preset(n))
        self.presets_menu.setEnabled(bool(self.presets_menu.actions()))

    def autosave_now(self) -> None:
        """Write the autosave when something changed (never while training: the model is busy)."""
        if self.project is None or self.session is not None or not self.is_modified():
            return
        save_weights = self._save_weights if self._has_trained_weights() and self.model else None
        try:
            self.autosave.save(self._collect_project(), save_weights=save_weights)
        except (OSError, ValueError) as error:
            self.statusBar().showMessage(f"Autosave failed: {error}", 6000)

    def offer_restore(self) -> None:
        """After a crash, offer the autosave the crashed window left behind."""
        leftovers = self.autosave.leftovers()
        if not leftovers:
            return
        answer = QMessageBox.question(
            self,
            "Restore unsaved work?",
            "nnstudio did not close properly last time. Restore the project it autosaved?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        self.restore_autosave(leftovers[0] if answer == QMessageBox.StandardButton.Yes else None)
        for path in leftovers:
            self.autosave.discard(path)

    def restore_autosave(self, path) -> None:
        if path is None or not self.open_project(path):
            return
        self.project_path = None  # the autosave is not the user's file: Save asks where
        self._saved_form = None
        self._restored_unsaved = True  # still unsaved work once its dataset arrives
        self._update_title()

    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", "training.png", "PNG (*.png)")
        if path:
            self._export(self.training_tab.plots.export_png, path)

    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "history.csv", "CSV (*.csv)")
        if path:
            self._export(self.training_tab.plots.export_csv, path)

    def _export(self, write, path) -> None:
        try:
            write(path)
            self.statusBar().showMessage(f"Exported {path}", 4000)
        except OSError as error:
            self.show_message(f"Could not export {path}: {error}", "error")
