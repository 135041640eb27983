"""Property: any mutated project file given to ``nnstudio train`` gives exit 0, or exit 2 with
one line; never exit 1, never a traceback."""

import pytest
from cli_runner import check_contract, note_outcome, run_cli
from hostile_corpus import _project
from hypothesis import given
from hypothesis import strategies as st
from strategies import mutated

EXTRA = ("metadata", "weights", "description", "version", "format")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-projects")


@given(data=st.data())
def test_a_mutated_project_trains_or_is_refused_in_one_line(folder, data):
    base = _project(
        **{
            "training.optimizer": "sgd",
            "training.optimizer_settings": {"momentum": 0.9},
            "training.seed": 1,
            "training.learning_rate": 0.05,
        }
    )
    path = folder / "mutated.nnsproj"
    path.write_text(data.draw(mutated(base, EXTRA)))
    result = run_cli(["train", "--json", "--epochs", "1", path])
    note_outcome(result, "train")
    check_contract(result, what=path.read_text()[:300])
