"""DrawPanel: the Draw tab. Draw a digit, see what the model reads and what it answers, live.

Prediction runs in the GUI thread: one 28×28 forward pass takes about a millisecond, far less
than a thread hop would cost. While a stroke is drawn, a single-shot timer throttles it to a
few answers a second; every finished stroke, undo or clear answers at once.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from nnstudio.data.digits import add_drawing, drawings_path, prepare_drawing
from nnstudio.project.digit_models import (
    DIGIT_NAMES,
    DigitModel,
    DrawModelError,
    describe,
    load_bundled_model,
    load_digit_model,
)
from nnstudio.ui.draw.digit_canvas import MAX_PEN_WIDTH, MIN_PEN_WIDTH, QtDigitCanvas
from nnstudio.ui.draw.fine_tune import FineTuneBox
from nnstudio.ui.draw.model_input_view import QtModelInputView
from nnstudio.ui.draw.probability_bars import QtProbabilityBars

THROTTLE_MS = 60  # while drawing: at most ~16 answers a second
BUNDLED, CURRENT = "bundled", "current"
TUNED = "tuned"  # the fine-tuned model while the user decides to keep or undo it


class DrawPanel(QWidget):
    """The Draw tab. ``set_current_model(model)`` offers the user's own model in the selector.

    Signals: ``predicted(str)`` after every answer (the class name, "" when the canvas is
    empty); ``drawingSaved(str, int)`` with the dataset file and its new size after a
    correction was kept.
    """

    predicted = Signal(str)
    drawingSaved = Signal(str, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("drawPanel")
        self._bundled: DigitModel | None = None
        self._bundled_error: str | None = None
        self._current: DigitModel | None = None
        self._files: dict[str, DigitModel] = {}  # models opened from .nnz files, by item data
        self._before_tuning = BUNDLED  # the selector's choice a fine-tune started from
        self._kept_tunes = 0
        self._digit: np.ndarray | None = None
        self._probabilities: np.ndarray | None = None
        self.last_latency_ms = 0.0  # mouse release → answer shown, for benchmarks
        self._throttle = QTimer(self, singleShot=True, interval=THROTTLE_MS)
        self._throttle.timeout.connect(self.predict)
        self._build()
        self._show_empty()

    # --- public API ---------------------------------------------------------------------

    def set_current_model(
        self,
        model,
        class_names=None,
        title: str = "Current model",
        scaling: dict | None = None,
        trained: bool = True,
        loss: str = "softmax_crossentropy",
    ) -> bool:
        """Offer ``model`` (a Sequential taking one 28×28 image) as "current model"; ``None``
        removes the choice. Returns whether the model was accepted.

        A trained model is selected at once; an untrained one (``trained=False``) is only
        listed, so fresh random weights never replace the bundled model's answers. ``scaling``
        is the training dataset's scaling dict, ``loss`` the name of the loss it trains with
        (its outputs become probabilities as that loss reads them). Give the panel a copy,
        never the model a training thread is changing."""
        self._remove_current_choice()
        self._current = None
        if model is not None:
            try:
                names = list(class_names) if class_names else list(DIGIT_NAMES)
                self._current = DigitModel(model, title, names, scaling=scaling, loss=loss)
            except DrawModelError as error:
                self.modelSelector.setToolTip(f"{self._selector_help()}\n{error}")
            else:
                self.modelSelector.addItem(title if trained else f"{title} (not trained)", CURRENT)
                if trained:
                    self.modelSelector.setCurrentIndex(self.modelSelector.count() - 1)
        self.predict()
        return self._current is not None

    def active_model(self) -> DigitModel | None:
        """The model answering now (the bundled one is loaded on first use)."""
        data = self.modelSelector.currentData()
        if data == CURRENT and self._current is not None:
            return self._current
        if data in self._files:
            return self._files[data]
        return self._bundled_model()

    def open_model_file(self, path) -> bool:
        """Offer the model in a .nnz file and select it; a model that cannot read drawings
        (or no model at all) is refused with a sentence under the selector."""
        from nnstudio import safe_read

        try:
            safe_read.check_file(path, "a model file (.nnz)")
            model = load_digit_model(path)
        except (ValueError, OSError) as error:  # DrawModelError, ModelFileError, FileReadError
            self.modelStatus.setText(f"Cannot use this file: {safe_read.shorten(str(error), 300)}")
            return False
        key = f"file:{path}"
        if key not in self._files:
            self.modelSelector.addItem(f"{model.title} (file)", key)
        self._files[key] = model
        self.modelStatus.setText("")
        self.modelSelector.setCurrentIndex(self.modelSelector.findData(key))
        return True

    def _open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a model for drawings", "", "nnstudio models (*.nnz);;All files (*)"
        )
        if path:
            self.open_model_file(path)

    def prepared_digit(self) -> np.ndarray | None:
        """The 28×28 image the model read last (None when the canvas is empty)."""
        return None if self._digit is None else self._digit.copy()

    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    def predict(self) -> None:
        """Read the canvas and show the answer of the active model."""
        started = time.perf_counter()
        self._throttle.stop()
        digit = prepare_drawing(self.canvas.ink())
        self._digit = digit
        self._probabilities = None
        if digit is None:
            self._show_empty()
            return
        model = self.active_model()
        if model is None:
            self._show_unavailable(digit)
            return
        probabilities = model.probabilities(digit)
        self._probabilities = probabilities
        self._show_answer(model, digit, probabilities)
        self.last_latency_ms = (time.perf_counter() - started) * 1000.0

    def showEvent(self, event) -> None:
        # Load the bundled model as soon as the tab shows, not on the first stroke, so even the
        # first answer comes within a few milliseconds of the mouse release.
        if self._bundled is None and self._bundled_error is None:
            QTimer.singleShot(0, self._bundled_model)
        super().showEvent(event)

    # --- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QHBoxLayout(self)
        layout.addLayout(self._build_drawing_side(), 1)
        layout.addLayout(self._build_answer_side(), 1)

    def _build_drawing_side(self) -> QVBoxLayout:
        self.canvas = QtDigitCanvas(self)
        self.canvas.strokeMoved.connect(self._on_stroke_moved)
        self.canvas.drawingChanged.connect(self.predict)
        side = QVBoxLayout()
        side.addWidget(self.canvas, 1)
        side.addLayout(self._build_canvas_tools())
        # Under the drawing it corrects; it also keeps the tab short enough for a laptop screen.
        side.addWidget(self._build_correction_box())
        return side

    def _build_canvas_tools(self) -> QHBoxLayout:
        tools = QHBoxLayout()
        self.penWidth = QSlider(Qt.Orientation.Horizontal, objectName="digitPenWidth")
        self.penWidth.setRange(MIN_PEN_WIDTH, MAX_PEN_WIDTH)
        self.penWidth.setValue(int(self.canvas.pen_width()))
        self.penWidth.setMinimumWidth(56)  # at 1366×768 the row squeezed it to a dot
        self.penWidth.setToolTip(
            "Pen width. About a tenth of the digit's height looks like MNIST's handwriting; "
            "the model copes with thinner and thicker strokes too."
        )
        self.penWidth.valueChanged.connect(self.canvas.set_pen_width)
        # "Undo", not "Undo stroke": this row sets the drawing side's width, and at 1024×600
        # the 40 pixels the longer name took made the tab scroll sideways. The tooltip says
        # what it undoes; beside the canvas and "Clear" that is plain anyway.
        self.undoButton = QPushButton("Undo", objectName="digitUndo")
        self.undoButton.setToolTip("Remove the last stroke (Ctrl+Z in the canvas).")
        self.undoButton.clicked.connect(self.canvas.undo)
        self.clearButton = QPushButton("Clear", objectName="digitClear")
        self.clearButton.setToolTip("Erase the drawing (Esc or right-click in the canvas).")
        self.clearButton.clicked.connect(self.canvas.clear)
        self.colours = QComboBox(objectName="digitColours")
        self.colours.addItems(["White on black", "Black on white"])
        self.colours.setToolTip(
            "How the canvas looks. The model always gets white ink on black, like MNIST."
        )
        self.colours.currentIndexChanged.connect(
            lambda index: self.canvas.set_black_on_white(index == 1)
        )
        pen_label = QLabel("Pen")
        pen_label.setToolTip(self.penWidth.toolTip())
        for widget in (pen_label, self.penWidth, self.undoButton, self.clearButton, self.colours):
            tools.addWidget(widget)
        return tools

    def _build_answer_side(self) -> QVBoxLayout:
        side = QVBoxLayout()
        side.addLayout(self._build_model_row())
        self.modelStatus = QLabel("", objectName="digitModelStatus")
        self.modelStatus.setWordWrap(True)
        # On a row of its own: beside the selector it made the tab too wide for 1366 pixels.
        files = QHBoxLayout()
        files.addWidget(self.openModelButton)
        files.addWidget(self.modelStatus, 1)
        side.addLayout(files)
        side.addLayout(self._build_answer_row())
        side.addWidget(self._build_probabilities_box(), 1)
        return side

    def _build_model_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.modelSelector = QComboBox(objectName="digitModelSelector")
        self.modelSelector.addItem("Bundled digit model", BUNDLED)
        # Wide enough for its longest entry, whenever entries are renamed or added (the
        # default measures them once, and "Bundled model · 99.2% on MNIST" came later).
        self.modelSelector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for changed in (
            self.modelSelector.model().dataChanged,
            self.modelSelector.model().rowsInserted,
        ):
            changed.connect(self._keep_selector_whole)
        self.modelSelector.setToolTip(self._selector_help())
        self.modelSelector.currentIndexChanged.connect(lambda _index: self.predict())
        label = QLabel("Model")
        label.setToolTip(self._selector_help())
        self.openModelButton = QPushButton("Open model file…", objectName="digitOpenModel")
        self.openModelButton.setToolTip(
            "Read drawings with a model saved as .nnz (File → Save Model…, or `nnstudio train "
            "--out`): any model whose input is one 28×28 image."
        )
        self.openModelButton.clicked.connect(self._open_model_dialog)
        row.addWidget(label)
        row.addWidget(self.modelSelector, 1)
        return row

    def _keep_selector_whole(self, *_args) -> None:
        # Never squeezed below its longest entry (the layout took its minimum as the size of
        # the first entry alone).
        self.modelSelector.setMinimumWidth(self.modelSelector.sizeHint().width())

    def _build_answer_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        answer = QVBoxLayout()
        self.prediction = QLabel("?", objectName="digitPrediction")
        font = QFont(self.prediction.font())
        font.setPointSize(72)
        font.setBold(True)
        self.prediction.setFont(font)
        self.prediction.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prediction.setMinimumWidth(130)
        self.prediction.setToolTip("The digit the model reads in your drawing.")
        self.certainty = QLabel(objectName="digitCertainty")
        self.certainty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.certainty.setWordWrap(True)
        self.certainty.setToolTip(
            "How sure the model is: the probability of its answer. Below 60 % it says "
            "'Not sure' and names its two best guesses."
        )
        answer.addWidget(self.prediction)
        answer.addWidget(self.certainty)
        row.addLayout(answer, 1)
        row.addLayout(self._build_input_column())
        return row

    def _build_input_column(self) -> QVBoxLayout:
        column = QVBoxLayout()
        caption = QLabel("What the model sees")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.inputView = QtModelInputView(self)
        caption.setToolTip(self.inputView.toolTip())
        self.saliencyCheck = QCheckBox("Saliency", objectName="digitSaliency")
        self.saliencyCheck.setToolTip(
            "Colour the pixels by how they push the answer (the gradient of its score with "
            "respect to the input): red — more ink here makes the answer more likely; blue — "
            "less likely."
        )
        self.saliencyCheck.toggled.connect(lambda _on: self.predict())
        # The window connects it: the inspector follows this drawing through the model.
        self.explainButton = QPushButton("See the math", objectName="digitExplain")
        self.explainButton.setToolTip(
            "Follow your drawing through the model, layer by layer: the forward pass, the "
            "loss for the digit you meant, the backward pass and one update, with the numbers."
        )
        column.addWidget(caption)
        column.addWidget(self.inputView)
        column.addWidget(self.saliencyCheck, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.explainButton, 0, Qt.AlignmentFlag.AlignHCenter)
        return column

    def _build_probabilities_box(self) -> QGroupBox:
        box = QGroupBox("Probabilities")
        self.bars = QtProbabilityBars(self)
        QVBoxLayout(box).addWidget(self.bars)
        return box

    def _build_correction_box(self) -> QGroupBox:
        box = QGroupBox("Wrong answer? Teach the model")
        box.setToolTip(
            "Keep this drawing with its right label in your own small dataset; add it to "
            "training to teach a model your handwriting."
        )
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("That's wrong — it was a"))
        self.correctLabel = QComboBox(objectName="digitCorrectLabel")
        self.correctLabel.addItems(DIGIT_NAMES)
        self.correctLabel.setToolTip("The digit you meant to draw.")
        self.keepButton = QPushButton("Keep drawing", objectName="digitKeep")
        self.keepButton.setToolTip(
            f"Save the 28×28 drawing with this label to your personal dataset ({drawings_path()})."
        )
        self.keepButton.clicked.connect(self._keep_drawing)
        row.addWidget(self.correctLabel)
        row.addWidget(self.keepButton)
        row.addStretch(1)
        self.keptStatus = QLabel(objectName="digitKeptStatus")
        self.keptStatus.setWordWrap(True)
        self.keptStatus.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keptStatus.setToolTip("Pick this dataset name in the data panel to train on it.")
        layout.addLayout(row)
        layout.addWidget(self.keptStatus)
        self.fineTune = FineTuneBox(self.active_model, self)
        self.fineTune.tuned.connect(self._offer_tuned)
        self.fineTune.undone.connect(self._drop_tuned)
        self.fineTune.kept.connect(self._keep_tuned)
        layout.addWidget(self.fineTune)
        return box

    # --- behaviour ----------------------------------------------------------------------

    def _on_stroke_moved(self) -> None:
        if not self._throttle.isActive():
            self._throttle.start()

    def _bundled_model(self) -> DigitModel | None:
        if self._bundled is None and self._bundled_error is None:
            try:
                self._bundled = load_bundled_model()
            except (ValueError, OSError, ImportError) as error:
                self._bundled_error = str(error)
            else:
                self._describe_bundled()
        return self._bundled

    def _describe_bundled(self) -> None:
        accuracy = self._bundled.test_accuracy
        if accuracy is not None:
            index = self.modelSelector.findData(BUNDLED)
            # Short enough to show whole in the selector at 1366×768; the tooltip says more.
            self.modelSelector.setItemText(index, f"Bundled model · {accuracy:.1%} on MNIST")
            self.modelSelector.setItemData(
                index,
                f"The digit model bundled with nnstudio: {accuracy:.2%} right on the 10,000 "
                "MNIST test images.",
                Qt.ItemDataRole.ToolTipRole,
            )

    def _show_empty(self) -> None:
        self.prediction.setText("?")
        self.certainty.setText("Draw a digit")
        self.bars.set_probabilities(None)
        self.inputView.set_image(None)
        self.keepButton.setEnabled(False)
        self.predicted.emit("")

    def _show_unavailable(self, digit: np.ndarray) -> None:
        self.prediction.setText("?")
        self.certainty.setText(self._bundled_error or "No model can read drawings.")
        self.bars.set_probabilities(None)
        self.inputView.set_image(digit)
        self.keepButton.setEnabled(True)

    def _show_answer(self, model: DigitModel, digit: np.ndarray, probabilities) -> None:
        answer, sureness = describe(probabilities, model.class_names)
        self.prediction.setText(answer)
        self.certainty.setText(sureness)
        self.bars.set_probabilities(probabilities, model.class_names)
        saliency = None
        if self.saliencyCheck.isChecked():
            saliency = model.saliency(digit, int(np.argmax(probabilities)))
        self.inputView.set_image(digit, saliency)
        self.keepButton.setEnabled(True)
        self.predicted.emit(answer)

    def _keep_drawing(self) -> None:
        if self._digit is None:
            return
        label = self.correctLabel.currentIndex()
        try:
            count = add_drawing(self._digit, label)
        except (ValueError, OSError) as error:
            self.keptStatus.setText(f"Could not save the drawing: {error}")
            return
        noun = "drawing" if count == 1 else "drawings"
        self.keptStatus.setText(
            f"Kept as a {label}. {count} {noun} in “My drawings” (in the Data dock's picker)."
        )
        self.drawingSaved.emit(str(drawings_path()), count)
        self.fineTune.refresh()

    # --- fine-tuning: the tuned model answers until the user keeps or undoes it ----------

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Stop a fine-tune still running and wait for its thread (the window closes)."""
        return self.fineTune.shutdown(msecs)

    def _offer_tuned(self, start_from: DigitModel, result) -> None:
        self._drop_tuned(reselect=False)
        self._before_tuning = self.modelSelector.currentData()
        title = f"{start_from.title} + drawings"
        self._files[TUNED] = replace(start_from, model=result.model, title=title)
        self.modelSelector.addItem(title, TUNED)
        self.modelSelector.setCurrentIndex(self.modelSelector.count() - 1)

    def forget_tuned_model(self) -> None:
        """Another project opened: a fine-tune of the old project's model, not kept, goes
        with it (the bundled model's, and models the user opened or kept, stay)."""
        if self._before_tuning == CURRENT and self.modelSelector.findData(TUNED) >= 0:
            self.fineTune.forget()
            self._drop_tuned()

    def _drop_tuned(self, reselect: bool = True) -> None:
        index = self.modelSelector.findData(TUNED)
        if index < 0:
            return
        self._files.pop(TUNED, None)
        self.modelSelector.removeItem(index)
        if reselect:
            self.modelSelector.setCurrentIndex(
                max(self.modelSelector.findData(self._before_tuning), 0)
            )

    def _keep_tuned(self) -> None:
        index = self.modelSelector.findData(TUNED)
        if index < 0:
            return
        self._kept_tunes += 1
        key = f"{TUNED}:{self._kept_tunes}"
        self._files[key] = self._files.pop(TUNED)
        self.modelSelector.setItemData(index, key)

    def _remove_current_choice(self) -> None:
        index = self.modelSelector.findData(CURRENT)
        if index >= 0:
            self.modelSelector.removeItem(index)
        self.modelSelector.setToolTip(self._selector_help())

    @staticmethod
    def _selector_help() -> str:
        return (
            "Which model reads your drawing: the digit model bundled with nnstudio (a small CNN "
            "trained on MNIST with augmentation), or the model you trained, when it takes one "
            "28×28 image."
        )
