"""SteadyBox: a label or button whose words change every epoch lays out the page around it
again only when its size changes (a new text that needs more room still gets it)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from nnstudio.ui.widgets.steady_box import SteadyBox


class LayoutRequests(QObject):
    """Counts the LayoutRequest events ``widget`` receives (its layout being made again)."""

    def __init__(self, widget):
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _watched, event) -> bool:  # noqa: N802 - Qt override
        self.count += event.type() == QEvent.Type.LayoutRequest
        return False


def _shown(qtbot, widget: QWidget, width: int, height: int) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()
    return widget


def _page(qtbot, label: QLabel, steady: bool) -> QWidget:
    page = QWidget()
    row = QHBoxLayout(page)
    row.addWidget(QSlider(Qt.Orientation.Horizontal), 1)
    row.addWidget(SteadyBox(label) if steady else label)
    return _shown(qtbot, page, 400, 60)


def test_a_new_text_of_the_same_size_leaves_the_page_as_laid_out(qtbot):
    plain, held = QLabel("Epoch 12 — now"), QLabel("Epoch 12 — now")
    plain_page, held_page = _page(qtbot, plain, False), _page(qtbot, held, True)
    plain_requests, held_requests = LayoutRequests(plain_page), LayoutRequests(held_page)
    for label in (plain, held):
        label.setText("Epoch 13 — now")
    QApplication.processEvents()
    assert plain_requests.count >= 1  # what a plain label costs, every epoch
    assert held_requests.count == 0
    assert held.text() == "Epoch 13 — now" and held.width() >= held.sizeHint().width()


def test_a_text_that_needs_more_room_gets_it_and_less_gives_it_back(qtbot):
    label = QLabel("Epoch 9 — now")
    page = _page(qtbot, label, steady=True)
    requests = LayoutRequests(page)
    narrow = label.width()
    label.setText("Epoch 1000 of 1200, older epochs thinned")
    # The box hears of the new size first, the page's layout an event later.
    qtbot.waitUntil(lambda: label.width() >= label.sizeHint().width() > narrow)
    assert requests.count >= 1
    label.setText("Epoch 9 — now")
    qtbot.waitUntil(lambda: label.width() == narrow)


def test_a_wrapping_label_takes_the_lines_its_text_needs_and_follows_its_column(qtbot):
    label = QLabel("After epoch 1, per layer:")
    label.setWordWrap(True)
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.addWidget(SteadyBox(label))
    layout.addStretch(1)
    _shown(qtbot, column, 300, 200)
    one_line = label.height()
    label.setText("After epoch 2, per layer, " + "with many more words to wrap " * 4)
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()) > one_line)
    column.resize(150, 400)  # a narrower dock: the label narrower with it, more lines
    qtbot.waitUntil(lambda: label.width() <= 150)
    assert label.height() >= label.heightForWidth(label.width())


def test_the_timeline_bar_gives_a_longer_position_its_room(qtbot):
    from nnstudio.ui.plots.timeline_slider import TimelineBar

    bar = _shown(qtbot, TimelineBar(), 700, 30)
    bar.show_position(12, 12)
    position = bar.position
    qtbot.waitUntil(lambda: position.width() >= position.sizeHint().width())
    QApplication.processEvents()  # the bar's layout made again for the new text's room
    requests = LayoutRequests(bar)
    bar.show_position(13, 13)  # as every epoch of a run: the same room
    QApplication.processEvents()
    QApplication.processEvents()
    assert requests.count == 0 and bar.position.text() == "Epoch 13 — now"
    bar.show_position(123456, 1234567)
    qtbot.waitUntil(lambda: position.width() >= position.sizeHint().width())
    assert position.text() == "Epoch 123456 of 1234567"
