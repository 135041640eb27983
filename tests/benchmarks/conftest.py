"""Speed benchmarks run on demand: `NNSTUDIO_BENCH=1 pytest tests/benchmarks -s`.

Files here are named bench_*.py so the normal test run does not time anything; this conftest
collects them and skips them unless NNSTUDIO_BENCH=1.
"""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NNSTUDIO_BENCH") == "1":
        return
    skip = pytest.mark.skip(reason="benchmarks run only with NNSTUDIO_BENCH=1")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
