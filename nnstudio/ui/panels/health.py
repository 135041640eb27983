"""HealthPanel: the training doctor on the Training tab — a row a layer, coloured, and the
warnings in words, each with its one-click fixes.

The panel only shows what the epoch reports carried (``health`` and ``warnings``, made by
nnstudio/project/doctor.py on the training thread); a fix button emits
``fix_requested(action, warning)`` and the window's DoctorController carries it out. The
buttons come from the fixes (project/doctor_advice.py's REMEDIES), as the warning names them.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QBoxLayout,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.project.doctor_advice import REMEDIES, offered_fixes
from nnstudio.ui import style
from nnstudio.ui.widgets.scroll_area import VerticalScrollArea
from nnstudio.ui.widgets.steady_box import SteadyBox

COLUMNS = ("Layer", "Dead", "Saturated", "Gradient", "Step", "Mean ± spread")
GOOD, FAIR, BAD = "#dcfce7", "#fef3c7", "#fee2e2"  # green, amber, red backgrounds


def _shade(value, fair: float, bad: float, low_is_bad: bool = False) -> str:
    """The background of a number: green when healthy, amber past ``fair``, red past ``bad``."""
    if value is None:
        return ""
    if low_is_bad:
        value, fair, bad = -value, -fair, -bad
    return BAD if value >= bad else FAIR if value >= fair else GOOD


def _cells(name: str, row: dict) -> list[tuple[str, str]]:
    """(text, background) for each column of a layer's row."""
    dead, saturated = row.get("dead_fraction"), row.get("saturated_fraction")
    grad, ratio = row.get("grad_norm"), row.get("update_ratio")
    mean, spread = row.get("activation_mean"), row.get("activation_std")
    ratio_shade = ""
    if ratio is not None:  # healthy near 1e-3: too small or too large are both trouble
        ratio_shade = GOOD if 1e-5 <= ratio <= 0.05 else FAIR if 1e-7 <= ratio <= 0.5 else BAD
    activation = row.get("activation") or ""
    return [
        (f"{name} {activation}".strip(), ""),
        ("–" if dead is None else f"{dead:.0%}", _shade(dead, 0.25, 0.5)),
        ("–" if saturated is None else f"{saturated:.0%}", _shade(saturated, 0.25, 0.5)),
        ("–" if grad is None else f"{grad:.2g}", ""),
        ("–" if ratio is None else f"{ratio:.1e}", ratio_shade),
        ("–" if mean is None else f"{mean:.2f} ± {spread:.2f}", ""),
    ]


WAITING = "The health of each layer appears after the first epoch."
ENDED_IN_FIRST_EPOCH = (
    "The run ended inside its first epoch, before any per-layer figures; the warning says why."
)


SHOWN_ON_THE_ACTIVATION = ("dead_relu", "saturated")


class WrappingButton(QPushButton):
    """A push button whose words wrap when its column is narrow: Qt's never wraps, and
    "Reset weights and use rate 0.001" widened the Layer health dock at 1024×600."""

    def __init__(self, text: str, parent=None):
        super().__init__(parent)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAccessibleName(text)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 5, 12, 5)
        layout.addWidget(self.label)
        # Narrower than its one line of words when its column is (QPushButton's own policy
        # never goes under its size hint), and as tall as its wrapped lines then.
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def text(self) -> str:  # noqa: D102 - what it says, as QPushButton.text() would
        return self.label.text()

    # QPushButton sizes itself by its own (empty) text: these ask the label, as laid out.
    def sizeHint(self):  # noqa: N802 - Qt override
        """Its words on one line: a wrapped label's own hint broke "Reset weights and use
        rate 0.001" in two in a dock with room to spare, a line taller than needed."""
        metrics = self.label.fontMetrics()
        one_line = QSize(metrics.horizontalAdvance(self.label.text()) + 2, metrics.height())
        return one_line.grownBy(self.layout().contentsMargins())

    def minimumSizeHint(self):  # noqa: N802 - Qt override
        return self.layout().minimumSize()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self.layout().totalHeightForWidth(width)


class WarningRow(QFrame):
    """One warning: what is wrong, what to try, and its fix buttons (in a row, or one under
    the other in a narrow side column: ``set_buttons_across``)."""

    def __init__(self, warning: dict, on_fix, across: bool = True, on_activation=None, parent=None):
        super().__init__(parent)
        self.setObjectName("healthWarning")
        self.warning = warning
        self.setStyleSheet(f"#healthWarning {{ background: {FAIR}; border-radius: 6px; }}")
        text = QLabel(f"{html.escape(warning['message'])} <b>{html.escape(warning['fix'])}.</b>")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        explained = warning.get("explains") or []
        self.explains = QLabel(
            "<i>This also explains:</i><br>" + "<br>".join(f"• {html.escape(m)}" for m in explained)
        )
        self.explains.setObjectName("healthExplains")
        self.explains.setWordWrap(True)
        self.explains.setStyleSheet(f"color: {style.MUTED};")
        self.explains.setVisible(bool(explained))
        self.button_row = buttons = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.buttons: dict[str, QPushButton] = {}
        for action, changes in offered_fixes(warning):
            button = WrappingButton(REMEDIES[action].button_text(changes))
            button.setObjectName(f"fix_{action}")
            button.clicked.connect(lambda _=False, a=action: on_fix(a, warning))
            buttons.addWidget(button)
            self.buttons[action] = button
        if on_activation is not None and warning.get("kind") in SHOWN_ON_THE_ACTIVATION:
            # Not a fix: the units' pre-activations on the curve, to see what the words mean.
            show = QPushButton("See the activation…", objectName="showActivation")
            show.setToolTip("The layer's activation and its slope, with this batch's z on them")
            show.clicked.connect(lambda _=False: on_activation(str(warning.get("layer") or "")))
            buttons.addWidget(show)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(text)
        layout.addWidget(self.explains)
        layout.addLayout(buttons)
        self.set_buttons_across(across)

    def set_buttons_across(self, across: bool) -> None:
        direction = QBoxLayout.Direction
        self.button_row.setDirection(direction.LeftToRight if across else direction.TopToBottom)


class HealthPanel(QWidget):
    """Per-layer health (a table, coloured) and the doctor's warnings with fix buttons."""

    fix_requested = Signal(str, dict)  # action, the warning it answers
    activation_requested = Signal(str)  # the layer ("0 Dense") whose activation to show

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("healthPanel")
        self.title = QLabel(WAITING)
        self.title.setObjectName("sectionTitle")
        self.title.setWordWrap(True)  # a narrow side column wraps it rather than widening
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("healthTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)  # compact: more layers in view
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(
            "Dead: ReLU units that never fired. Saturated: sigmoid/tanh units stuck at a flat "
            "end. Gradient: its size. Step: how much one update changes the weights (healthy "
            "near 1e-3: ‖Δw‖/‖w‖). Green is healthy, amber worth watching, red a problem."
        )
        warnings = QWidget()
        self.warnings_box = QVBoxLayout(warnings)
        self.warnings_box.setContentsMargins(0, 0, 4, 0)
        self.warnings_box.addStretch(1)  # rows go above it, at the top
        self.warning_rows: list[WarningRow] = []
        # Several warnings scroll rather than squeeze each other; never cut at the side.
        scroll = VerticalScrollArea(warnings)
        # The table and the warnings side by side under the tabs (compact in height), one
        # above the other in a side column (compact in width): set_side_by_side.
        self.columns = columns = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        columns.addWidget(self.table, 3)
        columns.addWidget(scroll, 2)
        # An explicit small minimum (the layout's own would be larger): the window must still
        # fit a 1366×768 screen; the splitter above gives the panel its room.
        self.setMinimumHeight(48)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)  # its dock's title already says what it is
        # Its epoch number changes with every report: a box passes on a new size only.
        layout.addWidget(SteadyBox(self.title))
        layout.addLayout(columns, 1)
        self._shown = None  # (health, warnings) drawn last: identical reports are not redrawn
        self._pending = None  # the latest epoch report, until drawn (see show_epoch)
        self._dock = None  # the dock the panel is in, once known (see _follow_dock)
        self._side_by_side = True

    def set_side_by_side(self, side_by_side: bool) -> None:
        """The table beside the warnings (True) or above them (False)."""
        self.columns.setDirection(
            QBoxLayout.Direction.LeftToRight if side_by_side else QBoxLayout.Direction.TopToBottom
        )
        self._side_by_side = side_by_side
        for row in self.warning_rows:
            row.set_buttons_across(side_by_side)

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.set_warnings([])
        self._shown = self._pending = None
        self.title.setText(WAITING)

    def show_final_warnings(self, warnings: list[dict], epochs_reported: int) -> None:
        """The doctor's words on a run that ended without an epoch report (a blow-up). With
        no epoch reported at all, the title no longer promises figures after the first one."""
        if not epochs_reported:
            self.title.setText(ENDED_IN_FIRST_EPOCH)
        self.set_warnings(warnings)

    def show_epoch(self, epoch: dict) -> None:
        """An epoch report with ``health`` and ``warnings`` (others are ignored). While the
        panel's dock is behind another one, only the latest report is kept, and drawn when the
        dock comes to the front: a table and warning rows redrawn each epoch unseen are GUI
        time taken from training (issue 39)."""
        if epoch.get("health") is None:
            return
        self._pending = epoch
        if not self._hidden_in_shown_window():
            self._show_pending()

    def _hidden_in_shown_window(self) -> bool:
        """True when the window is shown but this panel cannot be seen. A dock tabbed behind
        another one is not hidden, only covered (no region of it is visible); its dock says
        when it comes to the front."""
        window = self.window()
        if window is self or not window.isVisible():
            return False
        self._follow_dock()
        return not self.isVisible() or self.visibleRegion().isEmpty()

    def _follow_dock(self) -> None:
        if self._dock is not None:
            return
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QDockWidget):
            widget = widget.parentWidget()
        if widget is not None:
            self._dock = widget
            widget.visibilityChanged.connect(self._on_dock_visibility)

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible:
            self._show_pending()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._show_pending()

    def _show_pending(self) -> None:
        epoch, self._pending = self._pending, None
        if epoch is None:
            return
        health, warnings = epoch.get("health"), epoch.get("warnings")
        # Every epoch's number, as the status bar and the timeline show it, even when its
        # rows are the same as the last epoch's.
        self.title.setText(f"After epoch {epoch.get('epoch', '?')}, per layer:")
        if (health, warnings) == self._shown:
            return
        self._shown = (health, warnings)
        self.set_health(health)
        self.set_warnings(warnings or [])
        named = {warning.get("layer") for warning in warnings or ()}
        for row, name in enumerate(health):  # the layers a warning is about, in red
            if name in named:
                self.table.item(row, 0).setBackground(QColor(BAD))

    def set_health(self, health: dict) -> None:
        if self.table.rowCount() != len(health):
            self.table.setRowCount(len(health))
        for row, (name, numbers) in enumerate(health.items()):
            for column, (text, shade) in enumerate(_cells(name, numbers)):
                self._set_cell(row, column, text, shade)

    def _set_cell(self, row: int, column: int, text: str, shade: str) -> None:
        """A cell's text and colours, changed in place and only where they differ: each epoch
        changes a few figures, and every changed cell makes the table measure its columns
        again (they fit their contents) and repaint."""
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, column, item)
        if item.text() != text:
            item.setText(text)
        background = QBrush(QColor(shade)) if shade else QBrush()
        if item.background() != background:
            item.setBackground(background)
        foreground = QBrush(QColor(style.TEXT)) if shade else QBrush()
        if item.foreground() != foreground:
            item.setForeground(foreground)

    def set_warnings(self, warnings: list[dict]) -> None:
        if [row.warning for row in self.warning_rows] == list(warnings):
            return  # the same words and fixes: the rows (and their buttons) stay
        for old in self.warning_rows:
            self.warnings_box.removeWidget(old)
            old.deleteLater()
        across = self._side_by_side
        self.warning_rows = [
            WarningRow(w, self.fix_requested.emit, across, self.activation_requested.emit)
            for w in warnings
        ]
        for position, row in enumerate(self.warning_rows):
            self.warnings_box.insertWidget(position, row)
        self._lay_out_warnings_now()

    def _lay_out_warnings_now(self) -> None:
        """Give new rows the column's width before they are first painted: a new widget is
        640 pixels wide until its layout's turn comes, and a warning arriving while a run
        trains showed for a moment wider than a 1024×600 screen's dock (its text cut there)."""
        margins = self.warnings_box.contentsMargins()
        width = self.warnings_box.parentWidget().width() - margins.left() - margins.right()
        if width <= 0:
            return  # never laid out (a hidden dock): its first layout sizes the rows
        for row in self.warning_rows:
            row.resize(width, row.heightForWidth(width))
