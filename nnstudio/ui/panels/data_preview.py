"""What a dataset looks like before training: scatter, image grid or table, plus a summary.

The preview picks its view from the data: 2-D inputs get a scatter (classes in the shared
palette, so the points match the decision boundary drawn later), images get a grid of samples
with their labels, anything else a table. The summary under it counts the splits and shows the
class balance as bars in the same colours.

The scatter is a pyqtgraph plot (nnstudio.ui.plots.scatter_preview), made the first time a
2-D dataset shows: the window's first frame, with this dock in it, does not wait for pyqtgraph.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ui.colors import class_color, class_label
from nnstudio.ui.widgets.image_gallery import ImageGrid, Tile, scrolling, to_display_rgb
from nnstudio.ui.widgets.table_preview import ColumnTable

MAX_TABLE_ROWS = 500
IMAGES_PER_CLASS = 6


def _stack_splits(dataset):
    """All samples of the dataset (train, validation, test) as one (x, y) pair."""
    xs, ys = [], []
    for x, y in (
        (dataset.x_train, dataset.y_train),
        (dataset.x_val, dataset.y_val),
        (dataset.x_test, dataset.y_test),
    ):
        if x is not None and len(x):
            xs.append(np.asarray(x))
            ys.append(np.asarray(y))
    if not xs:
        return np.zeros((0, *dataset.input_shape), np.float32), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def _split_sizes(dataset) -> dict[str, int]:
    return {
        name: (0 if x is None else len(x))
        for name, x in (
            ("train", dataset.x_train),
            ("validation", dataset.x_val),
            ("test", dataset.x_test),
        )
    }


def class_counts(dataset) -> np.ndarray:
    """Samples per class over every split."""
    _, y = _stack_splits(dataset)
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=dataset.n_classes)


def display_name(name: str) -> str:
    """ "csv:/long/path/iris.csv" → "iris.csv"; built-in names unchanged."""
    prefix, _, rest = name.partition(":")
    return rest.rstrip("/").rsplit("/", 1)[-1] if rest and prefix in ("csv", "npz", "idx") else name


def summary_html(dataset) -> str:
    """One short paragraph: name, task, samples per split, features, classes or outputs."""
    sizes = _split_sizes(dataset)
    shape = tuple(dataset.input_shape)
    if dataset.is_image:
        features = f"{'×'.join(str(s) for s in shape)} images"
    else:
        count = int(np.prod(shape)) if shape else 0
        features = f"{count} feature{'s' if count != 1 else ''}"
    if dataset.task == "classification":
        target = f"{dataset.n_classes} classes"
    else:
        target = f"regression, {dataset.n_outputs} output{'s' if dataset.n_outputs != 1 else ''}"
    splits = " · ".join(f"{name} <b>{size:,}</b>" for name, size in sizes.items())
    total = sum(sizes.values())
    title = display_name(dataset.name)
    return f"<b>{title}</b> — {features}, {target}<br>{splits} (total {total:,})"


def compact_count(count: int, metrics, width: float) -> str:
    """ "6,903" when it fits above its bar, else "6.9k", else nothing (the tooltip has it)."""
    for text in (f"{count:,}", f"{count / 1000:.1f}k" if count >= 1000 else f"{count}"):
        if metrics.horizontalAdvance(text) <= width - 2:
            return text
    return ""


class ClassBalanceChart(QWidget):
    """Bars of samples per class, each in its class colour, with counts above the bars."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._counts = np.zeros(0, dtype=np.int64)
        self._names: list[str] = []
        self.setToolTip(
            "Class balance: how many samples each class has (all splits). "
            "Very uneven bars mean accuracy alone can mislead."
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(96)

    def set_counts(self, counts, names) -> None:
        self._counts = np.asarray(counts, dtype=np.int64)
        self._names = [str(name) for name in names]
        exact = ", ".join(f"{n}: {c:,}" for n, c in zip(self._names, self._counts, strict=False))
        self.setToolTip(
            f"Class balance over all splits (uneven bars mean accuracy alone can mislead).\n{exact}"
        )
        self.update()

    def counts(self) -> list[int]:
        return self._counts.tolist()

    def sizeHint(self) -> QSize:
        return QSize(240, 96)

    def paintEvent(self, event) -> None:
        if not len(self._counts):
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        painter.setFont(font)
        label_height, count_height = 16, 14
        plot = QRectF(self.rect()).adjusted(4, count_height, -4, -label_height)
        slot = plot.width() / len(self._counts)
        top = max(int(self._counts.max()), 1)
        show_labels = slot >= 14  # too narrow for text: the tooltip and table have the numbers
        for k, count in enumerate(self._counts):
            height = plot.height() * count / top
            bar = QRectF(
                plot.left() + k * slot + slot * 0.12, plot.bottom() - height, slot * 0.76, height
            )
            painter.fillRect(bar, QColor(class_color(k)))
            if show_labels:
                painter.setPen(self.palette().text().color())
                above = QRectF(
                    bar.left() - 10, bar.top() - count_height, bar.width() + 20, count_height
                )
                painter.drawText(
                    above,
                    Qt.AlignmentFlag.AlignCenter,
                    compact_count(count, painter.fontMetrics(), slot),
                )
                below = QRectF(plot.left() + k * slot, plot.bottom() + 1, slot, label_height)
                name = painter.fontMetrics().elidedText(
                    self._names[k] if k < len(self._names) else str(k),
                    Qt.TextElideMode.ElideRight,
                    int(slot),
                )
                painter.drawText(below, Qt.AlignmentFlag.AlignCenter, name)
        painter.end()


def image_tiles(x, y, class_names) -> list[Tile]:
    """A few images of each class, class by class (or the first ones for many classes)."""
    y = np.asarray(y, dtype=np.int64)
    classes = np.unique(y)
    if len(classes) <= 12:
        picks = np.concatenate([np.flatnonzero(y == k)[:IMAGES_PER_CLASS] for k in classes])
    else:
        picks = np.arange(min(len(x), 60))
    rgb = to_display_rgb(np.asarray(x)[picks])
    return [
        Tile(
            rgb[i],
            caption=class_label(class_names, int(y[j])),
            tooltip=f"sample {int(j)}: {class_label(class_names, int(y[j]))}",
        )
        for i, j in enumerate(picks)
    ]


def table_columns(x, y, feature_names, class_names, task):
    """Columns for the table view: the features (flattened) and the target."""
    x = np.asarray(x)[:MAX_TABLE_ROWS].reshape(min(len(x), MAX_TABLE_ROWS), -1)
    names = list(feature_names or [f"x{i + 1}" for i in range(x.shape[1])])
    columns = [(names[i] if i < len(names) else f"x{i + 1}", x[:, i]) for i in range(x.shape[1])]
    y = np.asarray(y)[:MAX_TABLE_ROWS]
    if task == "classification":
        columns.append(("target", [class_label(class_names, int(v)) for v in y]))
    else:
        y = y.reshape(len(y), -1)
        columns += [
            (f"target {i + 1}" if y.shape[1] > 1 else "target", y[:, i]) for i in range(y.shape[1])
        ]
    return columns


class DataPreview(QWidget):
    """Stack of scatter / images / table, with a summary and the class balance below."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scatter = None  # made when a 2-D dataset first shows (see scatter)
        self.images = ImageGrid(image_size=56)
        self.images.setToolTip(
            "A few samples of each class with their labels, as the model sees them (after scaling)."
        )
        self.table = ColumnTable()
        self.table.setToolTip("The first rows of the data. Click a header to sort.")
        self.placeholder = QLabel("Pick a dataset above, open a file, or drop one here.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: palette(placeholder-text);")
        self.stack = QStackedWidget()
        for page in (self.placeholder, QWidget(), scrolling(self.images), self.table):
            self.stack.addWidget(page)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setContentsMargins(4, 4, 4, 0)
        self.summary.setToolTip("How many samples each split holds and what the inputs are.")
        self.balance = ClassBalanceChart()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.balance)
        self.clear()

    @property
    def scatter(self):
        """The scatter of 2-D data (a pyqtgraph plot, made now if it was not yet)."""
        if self._scatter is None:
            from nnstudio.ui.plots.scatter_preview import ScatterPreview

            self._scatter = ScatterPreview()
            stand_in = self.stack.widget(1)
            current = self.stack.currentIndex()
            self.stack.insertWidget(1, self._scatter)
            self.stack.removeWidget(stand_in)
            stand_in.deleteLater()
            self.stack.setCurrentIndex(current)
        return self._scatter

    def _set_summary(self, html: str) -> None:
        self.summary.setText(html)
        self._fit_summary()

    def _fit_summary(self) -> None:
        # A wrapped label in a layout does not always get the height its lines need.
        width = max(self.width(), 100)
        self.summary.setMinimumHeight(
            self.summary.heightForWidth(width) if self.summary.text() else 0
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_summary()

    def view(self) -> str:
        """Which view shows: "none", "scatter", "images" or "table"."""
        return ("none", "scatter", "images", "table")[self.stack.currentIndex()]

    def clear(self, message: str | None = None) -> None:
        if message:
            self.placeholder.setText(message)
        self.stack.setCurrentIndex(0)
        self._set_summary("")
        self.balance.hide()

    def show_dataset(self, dataset) -> None:
        x, y = _stack_splits(dataset)
        classification = dataset.task == "classification"
        colours = ""
        if tuple(dataset.input_shape) == (2,):
            if classification:
                self.scatter.show_classes(x, y, dataset.class_names, dataset.feature_names)
            else:
                low, high = self.scatter.show_values(x, y, dataset.feature_names)
                colours = f"<br>Colour = target: {low:.3g} (purple) to {high:.3g} (yellow)"
            self.stack.setCurrentIndex(1)
        elif dataset.is_image:
            self.images.set_tiles(
                image_tiles(dataset.x_train, dataset.y_train, dataset.class_names)
            )
            self.stack.setCurrentIndex(2)
        else:
            self.table.set_columns(
                table_columns(x, y, dataset.feature_names, dataset.class_names, dataset.task)
            )
            self.stack.setCurrentIndex(3)
        self._set_summary(summary_html(dataset) + colours)
        self._show_balance(dataset if classification else None)

    def _show_balance(self, dataset) -> None:
        if dataset is None:
            self.balance.hide()
            return
        names = [class_label(dataset.class_names, k) for k in range(dataset.n_classes)]
        self.balance.set_counts(class_counts(dataset), names)
        self.balance.show()

    def show_table(self, columns, summary: str = "", column_colors=None) -> None:
        """A raw table (e.g. a CSV before loading) with a note in the summary line."""
        self.table.set_columns(columns, column_colors=column_colors)
        self.stack.setCurrentIndex(3)
        self._set_summary(summary)
        self.balance.hide()
