"""Speed benchmarks run on demand: `NNSTUDIO_BENCH=1 pytest tests/benchmarks -s`.

Files here are named bench_*.py (collected through `python_files` in pyproject.toml); this
conftest skips them unless NNSTUDIO_BENCH=1, so the normal test run times nothing.
"""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NNSTUDIO_BENCH") == "1":
        return
    skip = pytest.mark.skip(reason="benchmarks run only with NNSTUDIO_BENCH=1")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
