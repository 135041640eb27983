"""The data dock's options box: the settings a kind of dataset takes, as ``load_dataset``
keywords.

Toy sets take a sample count, noise and classes; CSV files a target column, input columns and
what to do with missing values; folders of pictures an image size and colour; every set its
split, scaling and seed. ``options(name)`` reads
the controls for dataset ``name``, ``apply(options)`` sets them from a project file, and
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
from nnstudio.data.image_folder import MAX_IMAGE_SIDE
from nnstudio.ui.panels.csv_preview import ColumnPicker

IMAGE_SETS = ("mnist", "fashion-mnist", "cifar10")
MULTI_CLASS_SETS = ("spiral", "gaussian")  # the toy sets that take a number of classes
IMPUTE_CHOICES = [
    ("Stop with an error", None),
    ("Fill with the column mean", "mean"),
    ("Fill with the column median", "median"),
    ("Fill with the most frequent value", "most_frequent"),
    ("Drop rows with missing values", "drop"),
]
COLOR_CHOICES = [
    ("From the files", None),
    ("Colour (RGB, 3 channels)", "rgb"),
    ("Grey (1 channel)", "gray"),
]
SCALING_CHOICES = [
    ("Default for this data", None),
    ("Standardize (mean 0, std 1)", "standardize"),
    ("Min–max to [0, 1]", "minmax"),
    ("None", "none"),
]


def _check_number(key, value, kind, low, high) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        word = "a number" if kind is float else "a whole number"
        raise ValueError(f"dataset.options.{key} must be {word}; got {value!r}")
    if not low <= value <= high:
        raise ValueError(
            f"dataset.options.{key} must be between {low:g} and {high:g}; got {value!r}"
        )


# key -> (type, lowest, highest): what the Data dock's controls can show.
_NUMBER_OPTIONS = {
    "samples": (int, 20, 100_000),
    "noise": (float, 0.0, 2.0),
    "seed": (int, 0, 2**31 - 1),
    "val_fraction": (float, 0.0, 0.5),
    "test_fraction": (float, 0.0, 0.5),
    "image_size": (int, 4, MAX_IMAGE_SIDE),
}


def check_options(options: dict, name: str) -> None:
    """Raise ValueError (naming the option) when ``options`` of a project file are not values
    the dock's controls can show: checked before a project opens, so it never half-opens."""
    for key, (kind, low, high) in _NUMBER_OPTIONS.items():
        if key in options:
            _check_number(key, options[key], kind, low, high)
    if options.get("classes") is not None:
        _check_number("classes", options["classes"], int, 2, 12)
    for key, choices in (
        ("scaling", SCALING_CHOICES),
        ("impute", IMPUTE_CHOICES),
        ("color", COLOR_CHOICES),
    ):
        allowed = [value for _, value in choices]
        if options.get(key) not in allowed:
            known = ", ".join(str(v) for v in allowed if v is not None)
            raise ValueError(f"dataset.options.{key} must be one of {known}; got {options[key]!r}")
    for key in ("target", "task"):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            raise ValueError(f"dataset.options.{key} must be a column name; got {value!r}")
    columns = options.get("columns")
    if columns is not None and (
        not isinstance(columns, list)
        or not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in columns)
    ):
        raise ValueError(f"dataset.options.columns must be a list of column names; got {columns!r}")


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
            ("Samples", self.samples),
            ("Noise", self.noise),
            ("Classes", self.classes),
            ("Target column", self.target),
            ("Input columns", self.columns),
            ("Missing values", self.impute),
            ("Image size", self.image_size),
            ("Colour", self.color),
            ("Validation", self.val_percent),
            ("Test", self.test_percent),
            ("Scaling", self.scaling),
            ("Seed", self.seed),
            ("", self.load_button),
        ):
            self.form.addRow(label, widget)

    # -- construction --------------------------------------------------------------------------
    def _build_generated(self) -> None:
        self.samples = self._spin(
            int, 20, 100_000, 500, "Number of generated points. 200–1,000 trains in seconds.", 100
        )
        self.noise = self._spin(
            float,
            0.0,
            2.0,
            0.1,
            "How much the points scatter around "
            "their shape. 0.1 is clean; 0.3 makes the task harder.",
            step=0.05,
            decimals=2,
        )
        self.classes = self._spin(
            int,
            2,
            12,
            2,
            "Number of classes (spiral arms or blobs). "
            "2–4 is easy to see; more makes the task harder.",
        )

    def _build_split(self) -> None:
        self.val_percent = self._spin(
            int,
            0,
            50,
            15,
            "Share held out to watch overfitting while training. 10–20 % is usual.",
            suffix=" %",
        )
        self.test_percent = self._spin(
            int,
            0,
            50,
            15,
            "Share held out for the final evaluation. MNIST keeps its own 10,000 test images.",
            suffix=" %",
        )
        self.scaling = self._combo(
            SCALING_CHOICES,
            "How inputs are rescaled, fitted on the "
            "training split. Standardize suits tables; images are "
            "already in [0, 1].",
        )
        self.seed = self._spin(
            int,
            0,
            2**31 - 1,
            0,
            "Random seed of the data and the split: the same seed gives the same samples.",
        )

    def _build_csv(self) -> None:
        self.target = QComboBox()
        self.target.setToolTip(
            "The column the model predicts. The columns checked below are its inputs."
        )
        self.target.currentIndexChanged.connect(self._target_edited)
        self.columns = ColumnPicker()
        self.columns.edited.connect(self.csv_edited)
        self.impute = self._combo(
            IMPUTE_CHOICES,
            "What to do with empty or NA cells: stop with an error, fill them, or drop those rows.",
        )

    def _build_folder(self) -> None:
        self.image_size = self._spin(
            int,
            0,
            MAX_IMAGE_SIDE,
            0,
            "Every picture is made this many pixels square (aspect kept, padded). Automatic: "
            "the most common size among the files, at most 64. Small images train fast.",
            step=8,
        )
        self.image_size.setSpecialValueText("Automatic")
        self.image_size.setSuffix(" px")
        self.color = self._combo(
            COLOR_CHOICES,
            "Colour keeps red, green and blue (3 channels); grey has 1 and trains faster. "
            "From the files: colour as soon as one picture is in colour.",
        )

    def _spin(self, kind, low, high, value, tip, step=None, decimals=None, suffix=""):
        box = QSpinBox() if kind is int else QDoubleSpinBox()
        box.setRange(low, high)
        if decimals is not None:
            box.setDecimals(decimals)
        if step is not None:
            box.setSingleStep(step)
        box.setValue(value)
        box.setSuffix(suffix)
        box.setToolTip(tip)
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
            if self.image_size.value():
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
        self.classes.setValue(int(options.get("classes") or 2))
        self.seed.setValue(int(options.get("seed", self.seed.value())))
        self.val_percent.setValue(round(100 * float(options.get("val_fraction", 0.15))))
        self.test_percent.setValue(round(100 * float(options.get("test_fraction", 0.15))))
        self.scaling.setCurrentIndex(max(self.scaling.findData(options.get("scaling")), 0))
        self.impute.setCurrentIndex(max(self.impute.findData(options.get("impute")), 0))
        self.image_size.setValue(int(options.get("image_size") or 0))
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
