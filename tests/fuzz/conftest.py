"""Hypothesis profiles for the fuzz suite: quick by default (25 examples per property; 100 when
CI=true), longer with NNSTUDIO_FUZZ_EXAMPLES=2000 (examples per property)."""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))  # hostile_corpus, cli_runner

EXAMPLES = int(os.environ.get("NNSTUDIO_FUZZ_EXAMPLES", "0") or 0)
QUICK_EXAMPLES = 100 if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else 25
settings.register_profile(
    "nnstudio-fuzz",
    max_examples=EXAMPLES or QUICK_EXAMPLES,
    deadline=None,  # a run trains or loads a model: its time varies with the machine's load
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=not EXAMPLES,  # the quick run is reproducible; a long run explores
    database=None,
)
settings.load_profile("nnstudio-fuzz")
