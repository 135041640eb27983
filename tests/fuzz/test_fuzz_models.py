"""Property: any mutated model file gives exit 0, or exit 2 with one line; never exit 1.

Mutations: model.json's values (types, sizes, nesting, names of files to read), and the zip
itself (truncated, members dropped, declared sizes of gigabytes, unused huge members, damaged
or non-finite weights).
"""

import json
import zipfile

import numpy as np
import pytest
from cli_runner import check_contract, note_outcome, run_cli
from hostile_corpus import GB, Member, deflated_zeros, good_model, npz_bytes, stored, write_zip
from hypothesis import given
from hypothesis import strategies as st
from strategies import mutated

BOMB = deflated_zeros(3 * GB)
EXTRA = ("format", "format_version", "config", "dtype", "loss", "loss_settings", "metadata")
ZIP_MUTATIONS = [
    "none",
    "truncate",
    "drop-weights",
    "drop-json",
    "unused-bomb",
    "weights-bomb",
    "weights-declares-3gb",
    "json-bomb",
    "nan-weights",
    "inf-weights",
    "garbage-weights",
    "wrong-shape-weights",
]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-models")
    path, info, weights = good_model(folder)
    csv = folder / "rows.csv"
    csv.write_text("x,y\n0.1,0.2\n1.0,-0.5\n")
    return folder, info, weights, csv


def _members(info_text: str, weights: dict, mutation: str) -> list[Member]:
    json_member = stored("model.json", info_text.encode())
    weights = dict(weights)
    if mutation in ("nan-weights", "inf-weights"):
        weights["0.W"] = np.full_like(weights["0.W"], np.nan if "nan" in mutation else np.inf)
    if mutation == "wrong-shape-weights":
        weights["0.W"] = np.zeros((5, 5), np.float32)
    npz = stored("weights.npz", b"PK\x03\x04junk" if mutation == "garbage-weights" else b"")
    if mutation != "garbage-weights":
        npz = stored("weights.npz", npz_bytes(**weights))
    return {
        "drop-weights": [json_member],
        "drop-json": [npz],
        "unused-bomb": [json_member, npz, Member("junk", BOMB, 3 * GB, True)],
        "weights-bomb": [json_member, Member("weights.npz", BOMB, 3 * GB, True)],
        "weights-declares-3gb": [json_member, Member("weights.npz", npz.data, 3 * GB, False)],
        "json-bomb": [Member("model.json", BOMB, 3 * GB, True), npz],
    }.get(mutation, [json_member, npz])


# "none" four times: a mutated model.json inside an intact archive is the richest case.
@given(data=st.data(), mutation=st.sampled_from(["none"] * 3 + ZIP_MUTATIONS))
def test_a_mutated_model_file_is_used_or_refused_in_one_line(base, data, mutation):
    folder, info, weights, csv = base
    info_text = data.draw(mutated(info, EXTRA)) if data.draw(st.booleans()) else json.dumps(info)
    path = write_zip(folder / "mutated.nnz", _members(info_text, weights, mutation))
    if mutation == "truncate":
        whole = path.read_bytes()
        path.write_bytes(whole[: data.draw(st.integers(0, len(whole) - 1))])
    for argv in (
        ["evaluate", "--json", "--dataset", "moons", "--samples", "60", path],
        ["predict", path, csv],
        ["evaluate", path],  # the model's own record of its dataset
    ):
        result = run_cli(argv)
        note_outcome(result, argv[0])
        check_contract(result, what=f"{argv[0]} after {mutation}")
        if mutation in ZIP_MUTATIONS[2:4] + ZIP_MUTATIONS[5:]:
            assert result.code == 2, f"{mutation} must be refused: {result.stderr}"
        assert "root:" not in result.stderr + result.stdout  # /etc/shadow's first field


def test_the_unused_member_is_never_decompressed(base):
    """Reading it would take 3 GB; the archive is opened and only two members are read."""
    folder, info, weights, csv = base
    members = _members(json.dumps(info), weights, "unused-bomb")
    path = write_zip(folder / "unused.nnz", members)
    assert path.stat().st_size < 10 * 2**20
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("junk").file_size == 3 * GB
    result = run_cli(["evaluate", "--json", "--dataset", "moons", "--samples", "60", path])
    assert result.code == 0, result.stderr
