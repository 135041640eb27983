"""Hostile files, again (issue 38): a project, a checkpoint or a lesson never makes nnstudio
read a file the user did not name (or that lies outside the folder of the file they named);
sizes are bounded for a whole file; nothing is written over its own input."""

import importlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

from nnstudio.cli import main

sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))
from hostile_corpus import _project  # noqa: E402

SECRET = "SECRET-FIRST-LINE"


def one_line(capsys, *words) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for word in words:
        assert word in lines[0], lines[0]
    assert SECRET not in captured.err + captured.out
    return lines[0]


@pytest.fixture
def secret(tmp_path) -> Path:
    """A one-column file outside the user's folder (as /etc/shadow would be)."""
    folder = tmp_path / "private"
    folder.mkdir()
    path = folder / "secret.csv"
    path.write_text(f"{SECRET}\n1\n2\n")
    return path


@pytest.fixture
def work(tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def _write_project(folder: Path, dataset: str) -> Path:
    path = folder / "p.nnsproj"
    path.write_text(json.dumps(_project(**{"dataset": {"name": dataset}})))
    return path


@pytest.mark.parametrize("relative", [True, False])
def test_a_project_naming_a_file_outside_its_folder_is_refused(work, secret, capsys, relative):
    name = "../private/secret.csv" if relative else str(secret)
    project = _write_project(work, f"csv:{name}")
    assert main(["train", "--epochs", "1", str(project)]) == 2
    one_line(capsys, "outside the folder", "--dataset")


def test_a_link_beside_the_project_to_a_file_outside_is_refused(work, secret, capsys):
    (work / "data.csv").symlink_to(secret)
    assert main(["train", "--epochs", "1", str(_write_project(work, "csv:data.csv"))]) == 2
    one_line(capsys, "outside the folder")


def test_a_file_beside_the_project_is_read(work, capsys):
    rows = "".join(f"{i % 7 / 7},{i % 3},{i % 2}\n" for i in range(60))
    (work / "data.csv").write_text("a,b,label\n" + rows)
    project = _write_project(work, "csv:data.csv")
    assert main(["train", "--epochs", "1", "--json", str(project)]) == 0


def test_a_dataset_given_on_the_command_line_replaces_the_projects_file(work, secret, capsys):
    project = _write_project(work, f"csv:{secret}")
    assert main(["train", "--epochs", "1", "--json", "--dataset", "moons", str(project)]) == 0


def edited_checkpoint(folder: Path, member: str, edit) -> Path:
    """A one-epoch moons checkpoint whose JSON ``member`` went through ``edit(data)``."""
    path = folder / "run.ckpt"
    argv = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1", "--json"]
    assert main([*argv, "--checkpoint", str(path)]) == 0
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members[member])
    edit(data)
    members[member] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _checkpoint_naming(folder: Path, dataset: str) -> Path:
    def name_dataset(info):
        info["metadata"]["project_file"]["dataset"] = {"name": dataset, "options": {}}

    return edited_checkpoint(folder, "model.json", name_dataset)


@pytest.mark.parametrize("relative", [True, False])
def test_resume_never_reads_a_file_the_checkpoint_names_outside_its_folder(
    work, secret, capsys, relative
):
    name = "../private/secret.csv" if relative else str(secret)
    checkpoint = _checkpoint_naming(work, f"csv:{name}")
    capsys.readouterr()
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--json"]) == 2
    one_line(capsys, "--resume", "outside the folder")


def test_resume_of_a_run_on_a_csv_reads_it_again(work, capsys):
    rows = "".join(f"{i % 7 / 7},{i % 3},{i % 2}\n" for i in range(60))
    (work / "data.csv").write_text("a,b,label\n" + rows)
    checkpoint = work / "run.ckpt"
    argv = ["train", "--dataset", f"csv:{work / 'data.csv'}", "--epochs", "1", "--json"]
    assert main([*argv, "--checkpoint", str(checkpoint)]) == 0
    assert main(["train", "--resume", str(checkpoint), "--epochs", "2", "--json"]) == 0


# -- import and export: validated before writing, never over their own input (items 3, 7, 11) --


def _onnx(name: str) -> bytes:
    pytest.importorskip("onnx")
    from hostile_onnx import corpus

    return corpus()[name][0]


def test_import_over_its_own_input_is_refused(work, capsys):
    path = work / "m.onnx"
    path.write_bytes(_onnx("good-gemm"))
    assert main(["import", str(path), "--out", str(path)]) == 2
    one_line(capsys, "input file itself")
    assert path.read_bytes() == _onnx("good-gemm")


@pytest.mark.parametrize("name", ["nan-weights", "1500-layers", "metadata-classes-int"])
def test_import_of_a_model_nnstudio_refuses_leaves_out_unchanged(work, capsys, name):
    path, out = work / "m.onnx", work / "kept.nnz"
    path.write_bytes(_onnx(name))
    out.write_bytes(b"kept")
    assert main(["import", str(path), "--out", str(out)]) == 2
    one_line(capsys)
    assert out.read_bytes() == b"kept"


def test_a_gemm_named_like_an_export_step_is_imported_as_a_layer(work, capsys):
    """nnstudio's metadata does not make every prepare_* node vanish: the imported model
    computes what onnxruntime computes."""
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    from nnstudio.engine.io import load_model

    path, out = work / "m.onnx", work / "m.nnz"
    path.write_bytes(_onnx("prepare-named-gemm"))
    assert main(["import", str(path), "--out", str(out)]) == 0
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    expected = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert np.allclose(load_model(out).model.predict(x), expected, atol=1e-5)


def test_a_reshape_of_4_features_to_3_is_refused(work, capsys):
    path = work / "m.onnx"
    path.write_bytes(_onnx("reshape-4-to-3"))
    assert main(["import", str(path), "--out", str(work / "m.nnz")]) == 2
    one_line(capsys, "Reshape", "4")


@pytest.fixture
def model_file(work) -> Path:
    from nnstudio.engine.io import save_model
    from nnstudio.engine.layers import Dense
    from nnstudio.engine.model import Sequential

    model = Sequential([Dense(2)], input_shape=(2,))
    return save_model(work / "m.nnz", model, class_names=["a", "b"])


@pytest.mark.parametrize("fmt", ["onnx", "python"])
def test_export_over_its_own_input_is_refused(model_file, capsys, fmt):
    before = model_file.read_bytes()
    assert main(["export", str(model_file), "--format", fmt, "--out", str(model_file)]) == 2
    one_line(capsys)
    assert model_file.read_bytes() == before


def test_python_export_never_replaces_an_npz_the_user_did_not_name(model_file, work, capsys):
    data = work / "data.npz"
    data.write_bytes(b"the user's data")
    out = work / "data.py"
    assert main(["export", str(model_file), "--format", "python", "--out", str(out)]) == 2
    one_line(capsys, "data.npz")
    assert data.read_bytes() == b"the user's data" and not out.exists()


def test_python_export_again_replaces_its_own_weights(model_file, work, capsys):
    out = work / "model.py"
    for _ in range(2):
        assert main(["export", str(model_file), "--format", "python", "--out", str(out)]) == 0


def test_python_export_to_an_npz_name_is_refused(model_file, work, capsys):
    out = work / "weights.npz"
    assert main(["export", str(model_file), "--format", "python", "--out", str(out)]) == 2
    one_line(capsys, ".py")
    assert not out.exists()


# -- item 4: the size limit holds for a whole checkpoint, not for each member -------------------


def _compressed_zeros(**shapes) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, **{name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
    )
    return buffer.getvalue()


def test_the_limit_holds_for_the_whole_checkpoint(work, monkeypatch):
    """Two members of 6 MB each under a 10 MB limit: each fits, together they do not, so the
    second is not expanded (the timeline is dropped with a message, the model still loads)."""
    from nnstudio.engine.io import load_checkpoint, save_checkpoint
    from nnstudio.engine.layers import Dense
    from nnstudio.engine.model import Sequential
    from nnstudio.engine.optimizers import get_optimizer

    model = Sequential([Dense(1500, use_bias=False)], input_shape=(1000,))  # 6 MB of weights
    path = save_checkpoint(
        work / "big.ckpt", model, get_optimizer("sgd"), epoch=1, timeline=({"runs": {}}, {})
    )
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["timeline.npz"] = _compressed_zeros(a=(1000, 1500))
    members["weights.npz"] = _compressed_zeros(**{"0.W": (1000, 1500)})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 200_000
    monkeypatch.setenv("NNSTUDIO_MAX_FILE_MB", "10")
    checkpoint = load_checkpoint(path)
    assert checkpoint.timeline is None
    assert "in all" in checkpoint.timeline_problem or "limit" in checkpoint.timeline_problem


# -- item 6: exit 2 (or a run), never exit 1 ---------------------------------------------------


@pytest.mark.parametrize("key", ["samples", "noise", "val_fraction", "test_fraction"])
def test_a_dataset_option_set_to_null_means_its_default(work, key, capsys):
    path = work / "p.nnsproj"
    path.write_text(json.dumps(_project(**{"dataset.options": {key: None}})))
    assert main(["train", "--epochs", "1", "--json", str(path)]) == 0


def test_lr_find_on_a_model_without_weights_says_so(capsys):
    assert main(["lr-find", "--dataset", "moons", "--samples", "60", "--layers", "ReLU"]) == 2
    one_line(capsys, "no weights")


@pytest.mark.parametrize("current", [{"a": 1}, [1], "1"])
def test_resume_with_a_damaged_timeline_entry_still_resumes(work, current, capsys):
    path = edited_checkpoint(work, "timeline.json", lambda meta: meta.update(current=current))
    assert main(["train", "--resume", str(path), "--epochs", "2", "--json"]) == 0


# -- item 18: one run at a time writes an output ------------------------------------------------


@pytest.mark.parametrize("option", ["--out", "--checkpoint"])
def test_a_second_train_writing_the_same_file_is_refused(work, option, capsys):
    from nnstudio.atomic_file import exclusive_output

    target = work / "same.nnz"
    argv = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1", option, str(target)]
    with exclusive_output(target, option):  # as a first `train` holds it while it runs
        assert main(argv) == 2
        one_line(capsys, "another nnstudio is writing")
        assert not target.exists()
    assert main([*argv, "--json"]) == 0  # once the first one is done
    assert target.exists()
    assert not list(work.glob(".*lock"))  # nothing left behind


# -- item 13: a blow-up names its real cause ----------------------------------------------------


@pytest.fixture
def unscaled_project(work) -> Path:
    """Features of ~1e38, kept unscaled: every network overflows at its first batch."""
    rows = "".join(f"{(i % 7 - 3) * 3e37},{(i % 5 - 2) * 4e37},{i % 2}\n" for i in range(80))
    (work / "huge.csv").write_text("a,b,label\n" + rows)
    data = _project(**{"dataset": {"name": "csv:huge.csv", "options": {"scaling": "none"}}})
    path = work / "huge.nnsproj"
    path.write_text(json.dumps(data))
    return path


def test_lr_find_that_blows_up_at_once_suggests_nothing_and_says_why(unscaled_project, capsys):
    assert main(["lr-find", str(unscaled_project)]) == 2
    one_line(capsys, "no learning rate can be suggested", "not scaled")


def test_train_blames_unscaled_inputs_not_the_rate(unscaled_project, capsys):
    assert main(["train", str(unscaled_project), "--epochs", "1"]) == 2
    line = one_line(capsys, "the data is not scaled")
    assert "learning rate 0.01 is probably too large" not in line


# -- item 16: Ctrl+C at any moment is one line ---------------------------------------------------


def numpy_import_cut_short():
    """Ctrl+C inside numpy's C import code, which swallows it and reports a failed import with
    no trace of it."""
    import contextlib
    import signal

    with contextlib.suppress(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    raise ImportError("PyCapsule_Import could not import module 'datetime'") from None


def test_ctrl_c_while_the_command_line_is_built_is_one_line(monkeypatch, capsys):
    cli = importlib.import_module("nnstudio.cli.main")

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["train", "--dataset", "moons"]) == 130
    one_line(capsys, "interrupted")


def test_ctrl_c_inside_an_import_that_numpy_rewords_is_one_line(monkeypatch, capsys):
    """numpy re-raises a Ctrl+C during its import as an ImportError: still exit 130."""
    cli = importlib.import_module("nnstudio.cli.main")

    monkeypatch.setattr(cli, "_run_command", lambda args: numpy_import_cut_short())
    assert main(["train", "--dataset", "moons"]) == 130
    one_line(capsys, "interrupted")


def test_ctrl_c_inside_numpy_while_the_parser_is_built_is_one_line(monkeypatch, capsys):
    """The parser imports lr-find's module, which loads numpy: a Ctrl+C there came out as
    numpy's ImportError, outside the command's own error handling (exit 1, 40 lines)."""
    cli = importlib.import_module("nnstudio.cli.main")

    monkeypatch.setattr(cli, "build_parser", numpy_import_cut_short)
    assert main(["train", "--dataset", "moons"]) == 130
    one_line(capsys, "interrupted")


def test_ctrl_c_swallowed_by_a_weakref_callback_still_ends_the_command(monkeypatch, capsys):
    """A Ctrl+C that lands in a weakref callback (the import system's module locks have
    them) cannot be raised: Python printed "Exception ignored in … KeyboardInterrupt" and the
    command ran on to exit 0."""
    import gc
    import signal
    import weakref

    cli = importlib.import_module("nnstudio.cli.main")

    def interrupted_in_a_callback(args):
        thing = type("Thing", (), {})()
        reference = weakref.ref(thing, lambda ref: signal.raise_signal(signal.SIGINT))
        del thing
        gc.collect()
        assert reference() is None
        return 0

    monkeypatch.setattr(cli, "_run_command", interrupted_in_a_callback)
    assert main(["train", "--dataset", "moons"]) == 130
    line = one_line(capsys, "interrupted")
    assert "ignored" not in line


def test_a_layer_that_cannot_take_its_input_is_not_called_too_large(capsys):
    argv = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1"]
    assert main([*argv, "--layers", "Conv2D(4,3),Flatten,Dense(2)"]) == 2
    line = one_line(capsys, "cannot be built", "Reshape")
    assert "too large" not in line


def test_a_checkpoint_whose_fit_config_is_a_number_is_named_so(work, capsys):
    path = edited_checkpoint(work, "training.json", lambda data: data.update(fit_config=5))
    capsys.readouterr()
    assert main(["train", "--resume", str(path), "--epochs", "2"]) == 2
    line = one_line(capsys, "fit_config", "wrong type")
    assert "not iterable" not in line


def test_scaling_statistics_that_do_not_fit_the_inputs_are_named(work, capsys):
    from hostile_corpus import good_model, model_file

    _, info, weights = good_model(work)
    scaling = {"method": "standardize", "mean": [0, 0, 0], "std": [1, 1, 1]}
    path = model_file(work / "m.nnz", {**info, "preprocessing": {"scaling": scaling}}, weights)
    assert main(["evaluate", str(path), "--dataset", "moons", "--samples", "60"]) == 2
    line = one_line(capsys, "3 values per statistic", "inputs have 2")
    assert "broadcast" not in line


def test_an_export_whose_scaling_nodes_were_changed_is_refused(work, capsys):
    """Issue 38, item 7: the importer takes the scaling from the metadata and skips the
    nodes; nodes that no longer match it would make onnxruntime and the import disagree."""
    onnx = pytest.importorskip("onnx")
    import numpy as np

    from nnstudio.engine.io import save_model
    from nnstudio.engine.layers import Dense
    from nnstudio.engine.model import Sequential

    scaling = {"method": "standardize", "mean": [0.5, -1.0], "std": [2.0, 3.0]}
    model = Sequential([Dense(2)], input_shape=(2,))
    source = save_model(work / "m.nnz", model, class_names=["a", "b"],
                        preprocessing={"dataset": "csv:x.csv", "scaling": scaling})  # fmt: skip
    exported = work / "m.onnx"
    assert main(["export", str(source), "--format", "onnx", "--out", str(exported)]) == 0
    assert main(["import", str(exported), "--out", str(work / "back.nnz")]) == 0  # intact
    proto = onnx.load(str(exported))
    for tensor in proto.graph.initializer:
        if tensor.name == "scaling_offset":
            changed = onnx.numpy_helper.to_array(tensor) + np.float32(7)
            tensor.CopyFrom(onnx.numpy_helper.from_array(changed, tensor.name))
    onnx.save(proto, str(exported))
    capsys.readouterr()
    assert main(["import", str(exported), "--out", str(work / "edited.nnz")]) == 2
    one_line(capsys, "differ from its nnstudio metadata")


@pytest.mark.parametrize(
    "history",
    [[[1, "Dense"]], [False, 2], [5], [{"loss": 0.5}], [{"epoch": 1, "val_loss": [1, 2]}]],
    ids=["pairs", "bools", "number", "no-epoch", "val-loss-list"],
)
def test_a_checkpoint_with_a_damaged_history_is_named_so(work, history, capsys):
    """Found by the fuzz suite's long mode: "dictionary update sequence element #0", KeyError
    'epoch', "'<' not supported", each an exit 1."""
    path = edited_checkpoint(work, "training.json", lambda data: data.update(history=history))
    capsys.readouterr()
    assert main(["train", "--resume", str(path), "--epochs", "2"]) == 2
    one_line(capsys, "training.json's history")


def test_a_terminal_that_went_away_is_said_in_words(monkeypatch, capsys):
    """Issue 38: "[Errno 5] Input/output error" alone, when the terminal was closed."""
    import errno

    cli = importlib.import_module("nnstudio.cli.main")

    def write_to_a_closed_terminal(args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(cli, "_run_command", write_to_a_closed_terminal)
    assert main(["train", "--dataset", "moons"]) == 2
    line = one_line(capsys, "terminal")
    assert "[Errno 5]" not in line
