"""Render the application icon's PNG sizes from its SVG source.

Run from the project root after editing resources/icons/nnstudio.svg:
    python packaging/render_icons.py
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = "resources/icons"
SIZES = (16, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> None:
    app = QGuiApplication([])  # noqa: F841  (QImage painting needs an application)
    renderer = QSvgRenderer(f"{ICONS}/nnstudio.svg")
    if not renderer.isValid():
        raise SystemExit(f"{ICONS}/nnstudio.svg is not a valid SVG")
    for size in SIZES:
        render(renderer, size).save(f"{ICONS}/nnstudio-{size}.png")


if __name__ == "__main__":
    main()
