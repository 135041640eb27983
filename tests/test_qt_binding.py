"""Guards against Qt bindings that crash the interpreter.

PySide6 6.12.0 on Python < 3.12 drops a reference to None on every call of a void Qt method;
after a few thousand calls the interpreter dies with "Fatal Python error: none_dealloc".
pyproject.toml excludes that version; this test fails loudly (by crashing) if it comes back.
"""

import sys

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, QPainter, QPen


def test_void_qt_calls_keep_none_alive():
    refs_before = sys.getrefcount(None)
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    pen = QPen(QColor("white"))
    for _ in range(100_000):
        painter.setPen(pen)
        painter.drawLine(QPoint(0, 0), QPoint(7, 7))
    painter.end()
    for _ in range(10_000):
        image.fill(0)
    # On an immortal None (3.12+) the count is huge and fixed; otherwise it must not have
    # dropped by the number of calls made.
    assert sys.getrefcount(None) >= refs_before - 1_000
