"""The engine and data layers never import Qt (ARCHITECTURE.md, "Direction of dependencies")."""

import subprocess
import sys

CHECK = """
import sys
import importlib, pkgutil
import nnstudio.engine, nnstudio.data
for package in (nnstudio.engine, nnstudio.data):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "nnstudio.ui", "nnstudio.training")
loaded = sorted(name for name in sys.modules if name.startswith(FORBIDDEN))
print(",".join(loaded))
"""


def test_engine_and_data_import_no_qt():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"Qt or UI modules got loaded: {result.stdout}"
