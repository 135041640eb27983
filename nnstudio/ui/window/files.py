"""FileController: new / open / save, recent files, presets, autosave and restore, window
settings and exports.

Opening hands the project to the document (the panels follow its events); saving writes what
the document holds, plus the trained weights as a .nnz next to the project file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from nnstudio import safe_read
from nnstudio.project.autosave import Autosave
from nnstudio.project.project_checks import OpenRefused
from nnstudio.ui.window.model_files import ModelFiles

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
PROJECT_FILTER = "nnstudio projects (*.nnsproj)"
OPEN_FILTER = (
    "Projects and models (*.nnsproj *.nnz *.onnx);;nnstudio projects (*.nnsproj);;"
    "Models (*.nnz);;ONNX models (*.onnx)"
)


class FileController:
    """Project files, recent files, autosave and window settings of the main window."""

    def __init__(self, window, document):
        self.window = window  # whose settings, menus and state it saves; parent of dialogs
        self.document = document
        self.status_bar, self.show_message = window.statusBar(), window.show_message
        self.data_panel = window.data_panel
        self.plots = None  # the Training tab's curves, once that page is made
        window.when_page_built("training", self._attach_plots)
        # The window's parts made after this controller, given by connect_parts.
        self.training = self.model_sync = self.timeline = self.exporter = None
        self.recent_files: list[str] = []
        self.autosave = Autosave()
        self.models = ModelFiles(window, document, self)  # .nnz files: Open and Save Model…
        window.builder.open_project_preset = self.new_from_preset  # a whole project
        self._autosave_timer = QTimer(window, interval=AUTOSAVE_MS, timeout=self.autosave_now)
        self._autosave_timer.start()
        self._autosave_stopped = False

    def connect_parts(self, *, training, model_sync, timeline, exporter) -> None:
        """The training controller (sessions, checkpoints), the model lifecycle's window side,
        the timeline (saved with the weights) and the exporter (ONNX files to open)."""
        self.training, self.model_sync = training, model_sync
        self.timeline, self.exporter = timeline, exporter
        self.models.connect_parts(training=training, model_sync=model_sync)

    # -- window settings ------------------------------------------------------------------------

    def save_settings(self) -> None:
        window, settings = self.window, QSettings()
        settings.setValue("window/version", SETTINGS_VERSION)
        settings.setValue("window/geometry", window.saveGeometry())
        settings.setValue("window/state", window.saveState(SETTINGS_VERSION))
        settings.setValue("window/tab", window.tabs.currentIndex())
        settings.setValue("files/recent", self.recent_files)

    def restore_settings(self) -> bool:
        """The window's size, docks, tab and recent files as they were last closed; True when
        a saved dock layout was restored (it may have been made on a larger screen)."""
        window, settings = self.window, QSettings()
        geometry = settings.value("window/geometry", None)
        if geometry is not None:
            window.restoreGeometry(geometry)
        state = settings.value("window/state", None)
        restored = state is not None and window.restoreState(state, SETTINGS_VERSION)
        window.tabs.setCurrentIndex(settings.value("window/tab", 0, type=int))
        self.recent_files = [str(p) for p in settings.value("files/recent", [], type=list)]
        self._fill_recent_menu()
        return restored

    # -- opening --------------------------------------------------------------------------------

    def load_default_project(self) -> None:
        """The first-launch project: a spiral and a small MLP, so Train shows something at once."""
        from nnstudio.project import load_preset, parse_project

        try:
            project = load_preset(DEFAULT_PRESET)
        except (ValueError, OSError):
            project = parse_project(DEFAULT_PROJECT)
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
        except ValueError as error:  # OpenRefused too
            self.show_message(str(error), "error")

    def open_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open", self._last_folder(), f"{OPEN_FILTER};;All files (*)"
        )
        if path:
            self.open_project(path)

    def open_project(self, path) -> bool:
        """Load a project file, or a model file with a project around it; a file of another
        kind, and any other problem, gets words in the message bar."""
        from nnstudio.ui.window.file_kinds import MODEL, PROJECT, file_kind, wrong_kind_message

        try:
            # ONNX by its suffix: its protobuf bytes may pass for text (export.py imports it)
            kind = "onnx" if str(path).lower().endswith(".onnx") else file_kind(path)
        except ValueError as error:  # missing, a folder, a FIFO, too large
            self.show_message(f"Could not open: {safe_read.shorten(str(error))}", "error")
            return False
        if kind == "onnx":
            opened = self.exporter.open_onnx(path)
        elif kind == MODEL:
            opened = self.models.open_model(path)
        elif kind == PROJECT:
            opened = self._open(path)
        else:
            self.show_message(wrong_kind_message(path, kind), "error")
            return False
        if opened:
            self.add_recent(path)
        return opened

    def _open(self, path) -> bool:
        """Open ``path`` whole or not at all: everything is checked before the window changes,
        and anything that still fails while the panels take the project puts them back."""
        from nnstudio.project.project_checks import read_project

        try:
            project = read_project(path)
            self._apply_project(project, Path(path))
        except OpenRefused as error:
            message = f"Could not open the project: {error}"
            if not self.document.is_loaded:  # launched with a bad file: still a usable window
                self.load_default_project()  # its data arriving leaves the error (message_bar)
            self.show_message(message, "error")
            return False
        return True

    def open_dropped(self, path) -> None:
        """A file dropped on the window: a project or model opens as one, anything else is data."""
        if str(path).lower().endswith((".nnsproj", ".nnz", ".onnx")):
            if self.maybe_save():
                self.open_project(path)
        else:
            self.data_panel.open_file(path)

    def apply_project(self, project, path: Path | None) -> None:
        """Make ``project`` the open one; OpenRefused (window unchanged) when it cannot."""
        self._apply_project(project, path)

    def _apply_project(self, project, path: Path | None) -> None:
        before = self.document.snapshot()
        self.training.shutdown()  # the session's model is about to be replaced
        try:
            self.document.load(project, path)
        except Exception as error:  # noqa: BLE001 - a failed open must leave the window as it was
            self.document.restore(before)
            name = path.name if path is not None else project.name
            raise OpenRefused(f"{name}: {type(error).__name__}: {error}") from None

    def import_runs_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Add runs from a project", self._last_folder(), PROJECT_FILTER
        )
        if path:
            self.import_runs(path)

    def import_runs(self, path) -> bool:
        """The runs another project file kept, added to this one's to compare with."""
        from nnstudio.project import load_project
        from nnstudio.project.runs import run_from_dict

        path = Path(path)
        try:
            runs = load_project(path).metadata.get("runs") or []
        except (OSError, ValueError) as error:  # ProjectError
            self.show_message(f"Could not read the runs: {error}", "error")
            return False
        runs = [run for run in map(run_from_dict, runs) if run is not None]
        if not runs:
            self.show_message(f"{path.name} keeps no runs to compare with.", "info")
            return False
        added = self.document.import_runs(runs, path.name)
        self.status_bar.showMessage(
            f"Added {len(added)} run(s) from {path.name}: tick them to overlay, or Compare.",
            6000,
        )
        return True

    # -- saving ---------------------------------------------------------------------------------

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self.write_project(self.document.path)

    def save_as(self) -> bool:
        suggested = str(Path(self._last_folder()) / f"{self.document.name}.nnsproj")
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save project", suggested, PROJECT_FILTER
        )
        if not path:
            return False
        if not path.endswith(".nnsproj"):
            path += ".nnsproj"
        return self.write_project(Path(path))

    def write_project(self, path) -> bool:
        """Save the project (+ trained weights as a .nnz next to it); errors in words."""
        from nnstudio.project import save_project

        path = Path(path)
        project = self.document.to_project()
        project.name = path.stem
        try:
            if self._weights_worth_saving():
                self.save_weights(path.with_suffix(".nnz"), resumable=True, with_timeline=True)
                project.weights = path.with_suffix(".nnz").name
            save_project(project, path)
        except (OSError, ValueError) as error:
            self.show_message(
                f"Could not save {path}: {error}. The previous file is unchanged.", "error"
            )
            return False
        self.document.mark_saved(project, path)
        self.add_recent(path)
        self.status_bar.showMessage(f"Saved {path}", 4000)
        return True

    def _weights_worth_saving(self) -> bool:
        return self.model_sync.model is not None and self.document.has_trained_weights()

    def save_weights(
        self, path: Path, model=None, metadata=None, resumable=False, with_timeline=False
    ) -> None:
        """The model (the window's idle one unless given) as a .nnz, with what predicting
        needs (class names, input scaling). ``resumable``: a checkpoint when a run is under
        way, with the optimizer's state and the epochs, so reopening continues that run.
        ``with_timeline``: with the runs' timelines too (a project save; autosaves skip them,
        they can be hundreds of megabytes)."""
        from nnstudio.engine.io import save_checkpoint, save_model

        if model is None and self.training.session is not None:
            raise OSError("training is running; pause or stop it before saving the weights")
        dataset = self.model_sync.dataset
        fields = {
            "loss": self.document.training.loss,
            "class_names": getattr(dataset, "class_names", None),
            "preprocessing": dataset.preprocessing() if dataset is not None else None,
        }
        model = model if model is not None else self.model_sync.model
        state = self.training.checkpoint_state() if resumable else None
        if state is None:
            save_model(path, model, metadata=metadata, **fields)
            return
        save_checkpoint(
            path,
            model,
            state["optimizer"],
            epoch=len(state["history"]),
            history=state["history"],
            metadata={**(metadata or {}), "target_epochs": state["target_epochs"]},
            timeline=self.timeline.files() if with_timeline else None,
            **fields,
        )

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.document.is_modified():
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def ask_save_changes(self):
        path = self.document.path
        button = QMessageBox.StandardButton
        return QMessageBox.question(
            self.window,
            "Save changes?",
            f"Save the changes to {path.name if path else 'this project'} before closing it?",
            button.Save | button.Discard | button.Cancel,
            button.Save,
        )

    # -- recent files and presets ---------------------------------------------------------------

    def last_folder(self) -> str:
        return self._last_folder()

    def _last_folder(self) -> str:
        return str(Path(self.recent_files[0]).parent) if self.recent_files else str(Path.home())

    def add_recent(self, path) -> None:
        path = str(Path(path).resolve())
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]
        QSettings().setValue("files/recent", self.recent_files)
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for index, path in enumerate(self.recent_files):
            action = menu.addAction(f"&{index + 1} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(
                lambda _=False, p=path: self.maybe_save() and self.open_project(p)
            )
        menu.setEnabled(bool(self.recent_files))

    def fill_presets_menu(self) -> None:
        from nnstudio.project import list_presets

        menu = self.window.presets_menu
        for name in list_presets():
            action = menu.addAction(name)
            action.triggered.connect(lambda _=False, n=name: self.new_from_preset(n))
        menu.setEnabled(bool(menu.actions()))

    # -- autosave -------------------------------------------------------------------------------

    def autosave_wanted(self) -> bool:
        """Something to autosave: a project whose dataset is in, with unsaved changes (and a
        window that is not closing: an autosave written after the clean exit removed it would
        make the next start ask about a crash that never was)."""
        document = self.document
        if self._autosave_stopped:
            return False
        return document.is_loaded and not document.awaiting_dataset and document.is_modified()

    def stop_autosave(self) -> None:
        """The window closes: no autosave from now on, by the timer or by a run ending."""
        self._autosave_stopped = True
        self._autosave_timer.stop()

    def autosave_now(self) -> None:
        """Write the autosave when something changed. While training runs the model is the
        worker's: the training controller asks it for a copy (``autosave_training_state``)."""
        if self.training.session is not None or not self.autosave_wanted():
            return
        save_weights = None
        if self._weights_worth_saving():
            save_weights = lambda path: self.save_weights(path, resumable=True)  # noqa: E731
        self._write_autosave(save_weights)

    def autosave_training_state(self, payload: dict) -> None:
        """The training worker's copy of the weights at an epoch end: autosave them, so a
        crash mid-run loses at most the epochs since."""
        from nnstudio.engine.model import Sequential

        if self.training.session is None or self.model_sync.rebuild_pending:
            return  # late, or the layers were edited since: the copy fits no saved project
        try:
            model = Sequential.from_config(payload["config"])
            model.load_state_dict(payload["state"])
        except (ValueError, KeyError, TypeError, MemoryError) as error:
            self.status_bar.showMessage(f"Autosave failed: {error}", 6000)
            return
        self._write_autosave(lambda path: self.save_weights(path, model))

    def _write_autosave(self, save_weights) -> None:
        if self._autosave_stopped:
            return
        try:
            self.autosave.save(self.document.to_project(), save_weights=save_weights)
        except (OSError, ValueError) as error:
            self.status_bar.showMessage(f"Autosave failed: {error}", 6000)

    def offer_restore(self) -> None:
        """After a crash, offer the autosave the crashed window left behind."""
        leftovers = self.autosave.leftovers()
        if not leftovers:
            return
        answer = QMessageBox.question(
            self.window,
            "Restore unsaved work?",
            "nnstudio did not close properly last time. Restore the project it autosaved?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        self.restore_autosave(leftovers[0] if answer == QMessageBox.StandardButton.Yes else None)
        for path in leftovers[1:] if answer == QMessageBox.StandardButton.Yes else leftovers:
            self.autosave.discard(path)

    def restore_autosave(self, path) -> None:
        """Open a crashed window's autosave as unsaved work. It becomes this window's own
        autosave first: its weights load only once the dataset has arrived (in the
        background), so they must still be there then, and a second crash keeps them too."""
        if path is None:
            return
        try:
            path = self.autosave.adopt(path)
        except (OSError, ValueError) as error:
            self.show_message(f"Could not restore the autosave {path}: {error}", "error")
            return
        if self._open(path):  # not added to the recent files: it is no user's file
            self.document.mark_restored_autosave()

    # -- exports --------------------------------------------------------------------------------

    def _attach_plots(self, tab) -> None:
        self.plots = tab.plots

    def _plots_to_export(self):
        """The Training tab's curves; None (and a note) before that tab was ever made."""
        if self.plots is None:
            self.show_message("Nothing to export yet: train first, the curves go there.", "info")
        return self.plots

    def export_png(self) -> None:
        if (plots := self._plots_to_export()) is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export plots", "training.png", "PNG (*.png)"
        )
        if path:
            self._export(plots.export_png, path)

    def export_csv(self) -> None:
        if (plots := self._plots_to_export()) is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export history", "history.csv", "CSV (*.csv)"
        )
        if path:
            self._export(plots.export_csv, path)

    def _export(self, write, path) -> None:
        try:
            write(path)
            self.status_bar.showMessage(f"Exported {path}", 4000)
        except OSError as error:
            self.show_message(f"Could not export {path}: {error}", "error")
