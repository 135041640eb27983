"""Bad input on the command line (issue 23): exit 2 with one line naming the file and what is
wrong, never exit 1; a model's metadata never chooses what is read."""

import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.engine.io import save_model
from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.model import Sequential

sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))
from hostile_corpus import png_claiming  # noqa: E402


def one_line(capsys, *words) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def points_model(tmp_path) -> Path:
    model = Sequential([Dense(2)], input_shape=(2,))
    return save_model(tmp_path / "m.nnz", model, class_names=["a", "b"])


def edit(path: Path, **info) -> Path:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model.json"] = json.dumps({**json.loads(members["model.json"]), **info}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_metadata_naming_a_file_is_never_read(points_model, tmp_path, capsys, monkeypatch):
    import nnstudio.data.catalog

    secret = tmp_path / "shadow.csv"
    secret.write_text("root:SECRET-HASH:19000,label\n1,2\n")
    edit(points_model, metadata={"dataset": {"name": f"csv:{secret}"}})
    opened = []
    monkeypatch.setattr(nnstudio.data.catalog, "load_dataset", lambda *a, **k: opened.append(a))
    assert main(["evaluate", str(points_model)]) == 2
    line = one_line(capsys, "reads only files you name", "--dataset csv:PATH")
    assert not opened  # before the fix: the file was read and its first line echoed
    assert "SECRET" not in line


def test_metadata_of_the_wrong_type_names_the_field(points_model, capsys):
    edit(points_model, metadata={"dataset": "moons"})
    assert main(["evaluate", str(points_model)]) == 2  # before the fix: AttributeError, exit 1
    one_line(capsys, "metadata.dataset must be an object")


@pytest.mark.parametrize("cell", ["nan", "inf", "1e309", "-1e300"])
def test_predict_refuses_non_finite_cells(points_model, tmp_path, capsys, cell):
    rows = tmp_path / "rows.csv"
    rows.write_text(f"0.5,0.5\n0.1,{cell}\n")
    assert main(["predict", str(points_model), str(rows)]) == 2  # before: "nan%" and exit 0
    one_line(capsys, "rows.csv line 2, column 2", "not a finite number")


def test_predict_on_a_ragged_csv_with_a_header_is_exit_2(points_model, tmp_path, capsys):
    edit(points_model, preprocessing={"feature_names": ["x", "y"]})
    rows = tmp_path / "rows.csv"
    rows.write_text("x,y,z\n1,2,3\n4\n")
    assert main(["predict", str(points_model), str(rows)]) == 2  # before: IndexError, exit 1
    one_line(capsys, "rows.csv line 3", "the header has 3")


def test_predict_never_reads_a_duplicated_column_twice(points_model, tmp_path, capsys):
    edit(points_model, preprocessing={"feature_names": ["x", "y"]})
    rows = tmp_path / "rows.csv"
    rows.write_text("x,x,y\n1,2,3\n")
    assert main(["predict", str(points_model), str(rows)]) == 2
    one_line(capsys, "names column 'x' twice")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_predict_names_a_fifo_and_dev_zero_for_what_they_are(points_model, tmp_path, capsys):
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    assert main(["predict", str(points_model), str(fifo)]) == 2
    one_line(capsys, "named pipe (FIFO)")  # before the fix: "no such file"
    assert main(["predict", str(points_model), "/dev/zero"]) == 2
    one_line(capsys, "character device")


def test_a_huge_png_says_its_size(tmp_path, capsys):
    digits = Sequential([Flatten(), Dense(10)], input_shape=(1, 28, 28))
    model = save_model(tmp_path / "d.nnz", digits)
    picture = png_claiming(tmp_path / "big.png", 20000, 20000)
    assert main(["predict", str(model), str(picture)]) == 2
    one_line(capsys, "20,000 × 20,000 pixels", "scale it down")


def test_nan_weights_are_refused_by_predict(points_model, tmp_path, capsys):
    with zipfile.ZipFile(points_model) as archive:
        info = archive.read("model.json")
    buffer = __import__("io").BytesIO()
    np.savez(buffer, **{"0.W": np.full((2, 2), np.nan, np.float32), "0.b": np.zeros(2, np.float32)})
    with zipfile.ZipFile(points_model, "w") as archive:
        archive.writestr("model.json", info)
        archive.writestr("weights.npz", buffer.getvalue())
    rows = tmp_path / "rows.csv"
    rows.write_text("1,2\n")
    assert main(["predict", str(points_model), str(rows)]) == 2  # before: "nan%", exit 0
    one_line(capsys, "NaN or infinite")


def test_a_100000_layer_model_gives_a_short_line(points_model, capsys):
    edit(points_model, config={"input_shape": [2], "layers": [{"type": "ReLU"}] * 100_000})
    assert main(["predict", str(points_model), "x.csv"]) == 2
    assert len(one_line(capsys, "100,000 layers")) < 500  # before the fix: 2.1 MB


@pytest.mark.parametrize("error", [RecursionError("deep"), MemoryError()])
def test_recursion_and_memory_errors_are_bad_input_not_crashes(monkeypatch, capsys, error):
    import nnstudio.cli.predict

    def fail(args):
        raise error

    monkeypatch.setattr(nnstudio.cli.predict, "run_predict", fail)
    assert main(["predict", "m.nnz", "x.csv"]) == 2  # before the fix: exit 1
    one_line(capsys, "nnstudio: error:")


def test_long_messages_are_cut_to_one_short_line(monkeypatch, capsys):
    import nnstudio.cli.predict

    def fail(args):
        raise ValueError("x" * 100_000)

    monkeypatch.setattr(nnstudio.cli.predict, "run_predict", fail)
    assert main(["predict", "m.nnz", "x.csv"]) == 2
    assert len(one_line(capsys)) < 500
