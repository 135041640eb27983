"""The look: a calm light theme (Fusion + palette + a small style sheet), icons, plot colours.

One place for colours so plots, panels and the status bar agree. The style sheet only sets
spacing, borders and the accent; everything else comes from the palette so other panels'
custom painting (which reads the palette) matches.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle

from nnstudio.paths import resource_path
from nnstudio.ui.colors import CLASS_COLORS as _SHARED_CLASS_COLORS

ACCENT = "#2563eb"
TEXT = "#1e293b"
MUTED = "#64748b"
BORDER = "#d7dde5"
WINDOW = "#f3f5f8"
BASE = "#ffffff"
ALT_BASE = "#f8fafc"

# Curves: train solid, validation dashed in a second hue; per-batch loss a faint grey-blue.
TRAIN_COLOR = "#2563eb"
VAL_COLOR = "#ea580c"
BATCH_COLOR = (37, 99, 235, 55)
LR_COLOR = "#7c3aed"
# Classes share one palette with the data preview and the evaluation views (ui/colors.py),
# so class 2 is the same colour in the scatter, the boundary behind it and the confusion matrix.
CLASS_COLORS = list(_SHARED_CLASS_COLORS)
RUN_COLORS = ["#0f766e", "#b91c1c", "#7c3aed", "#c2410c", "#0369a1", "#4d7c0f", "#be185d"]

STATE_COLORS = {"idle": MUTED, "training": "#16a34a", "paused": "#d97706", "error": "#dc2626"}

_STANDARD_FALLBACK = {
    "new": QStyle.StandardPixmap.SP_FileIcon,
    "open": QStyle.StandardPixmap.SP_DialogOpenButton,
    "save": QStyle.StandardPixmap.SP_DialogSaveButton,
    "train": QStyle.StandardPixmap.SP_MediaPlay,
    "pause": QStyle.StandardPixmap.SP_MediaPause,
    "step": QStyle.StandardPixmap.SP_MediaSkipForward,
    "stop": QStyle.StandardPixmap.SP_MediaStop,
    "reset": QStyle.StandardPixmap.SP_BrowserReload,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "close": QStyle.StandardPixmap.SP_TitleBarCloseButton,
}

STYLE_SHEET = f"""
QMainWindow::separator {{ background: {BORDER}; width: 1px; height: 1px; }}
QToolBar {{ background: {BASE}; border: none; border-bottom: 1px solid {BORDER};
    padding: 4px 8px; spacing: 4px; }}
QToolBar QToolButton {{ padding: 4px 8px; border-radius: 6px; }}
QToolBar QToolButton:hover {{ background: #e8eef8; }}
QToolBar QToolButton:pressed, QToolBar QToolButton:checked {{ background: #dbe6fb; }}
QToolBar QToolButton#qt_toolbar_ext_button {{ padding: 2px; min-width: 18px;
    background: #e8eef8; }}
QToolBar QLabel {{ color: {MUTED}; padding: 0 2px 0 8px; }}
QDockWidget {{ font-weight: 600; }}
QDockWidget::title {{ background: {WINDOW}; padding: 6px 8px; text-align: left; }}
QDockWidget > QWidget {{ font-weight: normal; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; border-radius: 8px; background: {BASE};
    top: -1px; }}
QTabBar::tab {{ padding: 7px 18px; margin-right: 2px; border: none; color: {MUTED};
    border-bottom: 2px solid transparent; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; font-weight: 600; }}
QTabBar::tab:hover:!selected {{ color: {TEXT}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 8px; margin-top: 14px;
    padding: 10px 8px 8px 8px; background: {BASE}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED};
    font-weight: 600; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ border: 1px solid {BORDER};
    border-radius: 6px; padding: 3px 6px; background: {BASE}; min-height: 20px; }}
QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{
    border: 1px solid {ACCENT}; }}
QPushButton {{ border: 1px solid {BORDER}; border-radius: 6px; padding: 5px 14px;
    background: {BASE}; }}
QPushButton:hover {{ background: #eef3fb; }}
QPushButton:focus {{ border: 2px solid {ACCENT}; padding: 4px 13px; }}
QTableView:focus, QTreeView:focus, QListView:focus {{ border: 1px solid {ACCENT}; }}
QPushButton:default {{ background: {ACCENT}; color: white; border-color: {ACCENT}; }}
QProgressBar {{ border: 1px solid {BORDER}; border-radius: 5px; background: {ALT_BASE};
    text-align: center; color: {TEXT}; max-height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QStatusBar {{ background: {BASE}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
QHeaderView::section {{ background: {WINDOW}; border: none; border-bottom: 1px solid {BORDER};
    padding: 4px 6px; color: {MUTED}; font-weight: 600; }}
QTableView, QTreeView, QListView {{ border: 1px solid {BORDER}; border-radius: 6px;
    gridline-color: #eef1f5; selection-background-color: #dbe6fb; selection-color: {TEXT}; }}
QAbstractSpinBox {{ padding-right: 18px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ subcontrol-origin: border;
    width: 16px; border: none; background: transparent; }}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; }}
QAbstractSpinBox::down-button {{ subcontrol-position: bottom right; }}
QAbstractSpinBox::up-button:hover, QAbstractSpinBox::down-button:hover {{
    background: #eef3fb; }}
QAbstractSpinBox::up-arrow {{ image: url(ICONS/chevron-up.svg); width: 10px; height: 10px; }}
QAbstractSpinBox::down-arrow {{ image: url(ICONS/chevron-down.svg); width: 10px; height: 10px; }}
QComboBox::drop-down {{ border: none; width: 18px; }}
QComboBox::down-arrow {{ image: url(ICONS/chevron-down.svg); width: 10px; height: 10px; }}
QFrame#messageBar {{ border-radius: 8px; padding: 2px; }}
QFrame#messageBar[level="info"] {{ background: #e8f0fe; border: 1px solid #bfd3fb; }}
QFrame#messageBar[level="warning"] {{ background: #fff7e6; border: 1px solid #f5d08a; }}
QFrame#messageBar[level="error"] {{ background: #fdecec; border: 1px solid #f3b4b4; }}
QLabel#placeholder {{ color: {MUTED}; font-size: 15px; }}
QLabel#sectionTitle {{ color: {MUTED}; font-weight: 600; }}
"""


def palette() -> QPalette:
    """A light palette with the accent as highlight."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: ALT_BASE,
        QPalette.ColorRole.ToolTipBase: "#1e293b",
        QPalette.ColorRole.ToolTipText: "#f8fafc",
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: BASE,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: MUTED,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(disabled, role, QColor("#a0aab8"))
    pal.setColor(disabled, QPalette.ColorRole.WindowText, QColor("#a0aab8"))
    return pal


def apply_style(app: QApplication) -> None:
    """Give the application nnstudio's look (idempotent)."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    icons = resource_path("icons", "actions").as_posix()
    app.setStyleSheet(STYLE_SHEET.replace("ICONS", icons))
    # pyqtgraph's look is set where it is imported, nnstudio.ui.plots: it loads after the
    # window's first frame.


@cache
def _svg_icon(name: str) -> QIcon | None:
    path = resource_path("icons", "actions", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else None


def icon(name: str) -> QIcon:
    """An action icon: our SVG when shipped, else the closest Qt standard icon."""
    found = _svg_icon(name)
    if found is not None and not found.isNull():
        return found
    app = QApplication.instance()
    standard = _STANDARD_FALLBACK.get(name)
    if app is None or standard is None:
        return QIcon()
    return app.style().standardIcon(standard)
