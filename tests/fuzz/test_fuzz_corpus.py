"""The hostile corpus (hostile_corpus.py) through evaluate / predict / train: every run exits 0
or 2 with one line, as expected for its file; the bombs run in subprocesses whose peak memory
must stay under 1 GB."""

import sys

import pytest
from cli_runner import check_contract, run_cli
from hostile_corpus import build, run_in_subprocess

PEAK_LIMIT = 1 << 30

# Hundreds of CLI runs and memory-capped subprocesses: CI runs them (CI=true).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hostile"))


def test_every_hostile_file_is_refused_in_one_line_or_used(runs):
    codes: dict[int, int] = {}
    for run in runs:
        result = run_cli(run.argv)
        check_contract(result, run.expect, run.name)
        codes[result.code] = codes.get(result.code, 0) + 1
    assert len(runs) > 200
    assert codes.get(2, 0) > 150  # most of the corpus must be refused ...
    assert codes.get(0, 0) >= 5  # ... and the good files and unused bombs still work
    print(f"\ncorpus: {len(runs)} runs, exit codes {dict(sorted(codes.items()))}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="os.wait4 maxrss in KB: Linux")
def test_bombs_stay_under_a_gigabyte_of_memory(runs):
    heavy = [run for run in runs if run.heavy]
    assert len(heavy) >= 10
    worst = (0, "")
    for run in heavy:
        code, stderr, peak = run_in_subprocess(run)
        assert code in run.expect, f"{run.name}: exit {code}: {stderr}"
        assert len([line for line in stderr.splitlines() if line.strip()]) <= 1, stderr
        assert peak < PEAK_LIMIT, f"{run.name} peaked at {peak / 2**20:.0f} MB"
        worst = max(worst, (peak, run.name))
    print(f"\nworst peak memory {worst[0] / 2**20:.0f} MB ({worst[1]}) over {len(heavy)} bombs")
