"""The data dock's options box: the settings a kind of dataset takes, as ``load_dataset``
keywords.

Toy sets take a sample count, noise and classes; CSV files a target column, input columns and
what to do with missing values; folders of pictures an image size and colour; every set its
split, scaling and seed. Each control's range, default and tooltip are its dataset setting's
(project/settings.py), so the dock shows every value a project file may hold. ``options(name)``
reads the controls for dataset ``name``, ``apply(options)`` sets them from a project file, and
``show_for(name)`` shows only the rows that dataset uses.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QPushButton,
    QSpinBox,
)

from nnstudio.data.drawings_mix import MIX_NAME
from nnstudio.project import settings
from nnstudio.ui.panels.csv_preview import ColumnPicker

IMAGE_SETS = ("mnist", "fashion-mnist", "cifar10")
MULTI_CLASS_SETS = ("spiral", "gaussian")  # the toy sets that take a number of classes


def _choices(setting, labels: dict) -> list[tuple[str, object]]:
    """(label, value) for a choice setting: "unset" first, then each value the setting
    allows, in its order (a value added to the setting without a label shows as itself)."""
    return [(labels[None], None), *((labels.get(v, str(v)), v) for v in setting.choices)]


IMPUTE_CHOICES = _choices(
    settings.IMPUTE,
    {
        None: "Stop with an error",
        "mean": "Fill with the column mean",
        "median": "Fill with the column median",
        "most_frequent": "Fill with the most frequent value",
        "drop": "Drop rows with missing values",
    },
)
COLOR_CHOICES = _choices(
    settings.COLOR,
    {None: "From the files", "rgb": "Colour (RGB, 3 channels)", "gray": "Grey (1 channel)"},
)
SCALING_CHOICES = _choices(
    settings.SCALING,
    {
        None: "Default for this data",
        "standardize": "Standardize (mean 0, std 1)",
        "minmax": "Min–max to [0, 1]",
        "none": "None",
    },
)


def dataset_kind(name: str) -> str:
    """ "images", "folder", "csv", "npz" or "toy": which options the dataset ``name`` takes."""
    if name.startswith("images:"):
        return "folder"
    if name in IMAGE_SETS or name == MIX_NAME or name.startswith("idx:"):
        return "images"
    if name.startswith("csv:"):
        return "csv"
    if name.startswith("npz:"):
        return "npz"
    return "toy"


class DataOptions(QGroupBox):
    """The options form. ``edited`` follows any change of a value; ``csv_edited`` a change
    of the target or of the input columns (the raw rows shown mark both)."""

    edited = Signal()
    csv_edited = Signal()

    def __init__(self, parent=None):
        super().__init__("Options", parent)
        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # In a narrow dock a field too wide to sit beside its label goes under it.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._build_generated()
        self._build_split()
        self._build_csv()
        self._build_folder()
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Load the data with these options.")
        for label, widget in (
            (settings.SAMPLES.label, self.samples),
            (settings.NOISE.label, self.noise),
            (settings.CLASSES.label, self.classes),
            ("Target column", self.target),
            ("Input columns", self.columns),
            (settings.IMPUTE.label, self.impute),
            (settings.IMAGE_SIZE.label, self.image_size),
            (settings.COLOR.label, self.color),
            (settings.VAL_FRACTION.label, self.val_percent),
            (settings.TEST_FRACTION.label, self.test_percent),
            (settings.SCALING.label, self.scaling),
            (settings.DATA_SEED.label, self.seed),
            ("", self.load_button),
        ):
            self.form.addRow(label, widget)

    # -- construction --------------------------------------------------------------------------
    def _build_generated(self) -> None:
        self.samples = self._spin(settings.SAMPLES, step=100)
        self.noise = self._spin(settings.NOISE, step=0.05, decimals=2)
        # Unset in a file means the set's own count; the box shows that count, 2.
        self.classes = self._spin(settings.CLASSES.with_default(2))

    def _build_split(self) -> None:
        self.val_percent = self._percent_spin(settings.VAL_FRACTION)
        self.test_percent = self._percent_spin(settings.TEST_FRACTION)
        self.scaling = self._combo(SCALING_CHOICES, settings.SCALING.help)
        self.seed = self._spin(settings.DATA_SEED)

    def _build_csv(self) -> None:
        self.target = QComboBox()
        self.target.setToolTip(
            "The column the model predicts. The columns checked below are its inputs."
        )
        self.target.currentIndexChanged.connect(self._target_edited)
        self.columns = ColumnPicker()
        self.columns.edited.connect(self.csv_edited)
        self.impute = self._combo(IMPUTE_CHOICES, settings.IMPUTE.help)

    def _build_folder(self) -> None:
        self.image_size = self._spin(settings.IMAGE_SIZE, step=8)
        self.image_size.setSuffix(" px")
        self.color = self._combo(COLOR_CHOICES, settings.COLOR.help)

    def _spin(self, setting, step=None, decimals=None):
        """A box for a number setting: its range, default and help. An optional setting's
        box starts one below its range and shows "unset" there ("Automatic" image size)."""
        box = QSpinBox() if setting.kind == "int" else QDoubleSpinBox()
        low = setting.minimum
        if setting.default is None:
            low -= 1
            box.setSpecialValueText(setting.none_label)
        box.setRange(low, setting.maximum)
        if decimals is not None:
            box.setDecimals(decimals)
        if step is not None:
            box.setSingleStep(step)
        box.setValue(low if setting.default is None else setting.default)
        box.setToolTip(setting.help)
        box.valueChanged.connect(self.edited)
        return box

    def _percent_spin(self, setting) -> QSpinBox:
        """A share setting (0.15) shown in whole percent (15 %)."""
        box = QSpinBox()
        box.setRange(round(100 * setting.minimum), round(100 * setting.maximum))
        box.setValue(round(100 * setting.default))
        box.setSuffix(" %")
        box.setToolTip(setting.help)
        box.valueChanged.connect(self.edited)
        return box

    def _combo(self, choices, tip: str) -> QComboBox:
        box = QComboBox()
        for label, value in choices:
            box.addItem(label, value)
        # As wide as its longest choice: in a narrow dock the row puts it under its label
        # (the form's WrapLongRows) rather than cutting "Default for this data".
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        box.setToolTip(tip)
        box.currentIndexChanged.connect(self.edited)
        return box

    # -- values --------------------------------------------------------------------------------
    def options(self, name: str) -> dict:
        """The ``load_dataset`` keywords the dataset ``name`` takes, from the controls."""
        options = {"seed": self.seed.value(), "val_fraction": self.val_percent.value() / 100}
        kind = dataset_kind(name)
        if kind != "images":
            options["test_fraction"] = self.test_percent.value() / 100
        if kind == "toy":
            options.update(samples=self.samples.value(), noise=round(self.noise.value(), 4))
            if name in MULTI_CLASS_SETS:
                options["classes"] = self.classes.value()
        if kind == "csv":
            options.update(
                target=self.target.currentText() or None, impute=self.impute.currentData()
            )
            if self.columns.names() and not self.columns.all_chosen():
                options["columns"] = self.columns.chosen()
        if kind == "folder":
            if self.image_size.value() != self.image_size.minimum():  # not "Automatic"
                options["image_size"] = self.image_size.value()
            if self.color.currentData() is not None:
                options["color"] = self.color.currentData()
        if self.scaling.currentData() is not None:
            options["scaling"] = self.scaling.currentData()
        return options

    def apply(self, options: dict, name: str) -> None:
        """Set the controls from ``options`` (as a project file keeps them) for ``name``."""
        self.samples.setValue(int(options.get("samples", self.samples.value())))
        self.noise.setValue(float(options.get("noise", self.noise.value())))
        self.classes.setValue(int(options.get("classes") or self.classes.minimum()))
        self.seed.setValue(int(options.get("seed", self.seed.value())))
        for box, setting in (
            (self.val_percent, settings.VAL_FRACTION),
            (self.test_percent, settings.TEST_FRACTION),
        ):
            box.setValue(round(100 * float(options.get(setting.name, setting.default))))
        self.scaling.setCurrentIndex(max(self.scaling.findData(options.get("scaling")), 0))
        self.impute.setCurrentIndex(max(self.impute.findData(options.get("impute")), 0))
        self.image_size.setValue(int(options.get("image_size") or self.image_size.minimum()))
        self.color.setCurrentIndex(max(self.color.findData(options.get("color")), 0))
        if options.get("target") is not None:
            self.target.setCurrentIndex(max(self.target.findText(str(options["target"])), 0))
        if dataset_kind(name) == "csv":
            columns = options.get("columns")
            self.columns.set_chosen(self.columns.names() if columns is None else columns)

    def show_for(self, name: str) -> None:
        """Show only the rows the dataset ``name`` uses."""
        kind = dataset_kind(name)
        visible = {
            self.samples: kind == "toy",
            self.noise: kind == "toy",
            self.classes: name in MULTI_CLASS_SETS,
            self.target: kind == "csv",
            self.columns: kind == "csv",
            self.impute: kind == "csv",
            self.image_size: kind == "folder",
            self.color: kind == "folder",
            self.test_percent: kind != "images",
        }
        for widget, shown in visible.items():
            self.form.setRowVisible(widget, shown)

    def set_csv_header(self, header: list[str]) -> None:
        """Offer a CSV file's columns as target (the last by default, or the one chosen
        before) and inputs; the same file again keeps the user's choice of columns."""
        previous = self.target.currentText()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(header)
        keep = self.target.findText(previous)
        self.target.setCurrentIndex(keep if keep >= 0 else len(header) - 1)
        self.target.blockSignals(False)
        same = self.columns.names() == header
        chosen = self.columns.chosen()
        self.columns.set_columns(header, self.target.currentIndex())
        if same:
            self.columns.set_chosen(chosen)

    def _target_edited(self) -> None:
        self.columns.set_target(self.target.currentIndex())
        self.csv_edited.emit()
