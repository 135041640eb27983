import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

app = QGuiApplication([])
src = "nnstudio/resources/icons/nnstudio.svg"
r = QSvgRenderer(src)
assert r.isValid()
for size in (16, 32, 48, 64, 128, 256):
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    r.render(p)
    p.end()
    img.save(f"nnstudio/resources/icons/nnstudio-{size}.png")
