"""Model files and checkpoints: round trips, resume, atomic save, and clear errors."""

import doctest
import errno
import io as stdlib_io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnstudio import atomic_file
from nnstudio.engine import io
from nnstudio.engine.fit import FitConfig, TrainingControl, fit
from nnstudio.engine.io import (
    FORMAT_VERSION,
    ModelFileError,
    load_checkpoint,
    load_model,
    save_checkpoint,
    save_model,
)
from nnstudio.engine.layers import BatchNorm, Dense, Dropout
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD, Adam

CE = "softmax_crossentropy"


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])[y] + 0.5 * rng.standard_normal((n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def model_with_buffers(seed=0, dtype=np.float32):
    layers = [Dense(8, activation="relu"), BatchNorm(), Dropout(0.2), Dense(3)]
    return Sequential(layers, input_shape=(2,), seed=seed, dtype=dtype)


def trained_model():
    x, y = data()
    model = model_with_buffers()
    fit(model, CE, Adam(lr=0.02), x, y, FitConfig(epochs=2, batch_size=16))
    return model, x


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)


def test_docstring_examples_run():
    assert doctest.testmod(io).failed == 0


def test_save_load_gives_identical_predictions_and_metadata(tmp_path):
    model, x = trained_model()
    path = tmp_path / "net.nnz"
    scaling = {"method": "standardize", "mean": np.array([0.5, 1.0]), "std": [2.0, 3.0]}
    assert (
        save_model(
            path,
            model,
            loss=CE,
            class_names=["a", "b", "c"],
            preprocessing=scaling,
            metadata={"dataset": "blobs", "test_accuracy": np.float32(0.5)},
        )
        == path
    )
    bundle = load_model(path)
    np.testing.assert_array_equal(bundle.model.predict(x), model.predict(x))
    assert_same_state(bundle.model, model)
    assert bundle.model.config() == model.config()
    assert bundle.class_names == ["a", "b", "c"]
    assert bundle.preprocessing == {"method": "standardize", "mean": [0.5, 1.0], "std": [2.0, 3.0]}
    assert bundle.metadata == {"dataset": "blobs", "test_accuracy": 0.5}
    assert bundle.loss == CE and bundle.make_loss().name == CE
    assert bundle.format_version == FORMAT_VERSION and bundle.path == path


def test_file_layout_is_json_plus_npz_without_pickle(tmp_path):
    model, _ = trained_model()
    path = save_model(tmp_path / "net.nnz", model)
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"model.json", "weights.npz"}
        info = json.loads(archive.read("model.json"))
        weights = np.load(stdlib_io.BytesIO(archive.read("weights.npz")), allow_pickle=False)
        assert set(weights.files) == set(model.state_dict())
    assert info["format"] == "nnstudio-model" and info["format_version"] == 1
    assert {
        "config",
        "loss",
        "class_names",
        "preprocessing",
        "metadata",
        "nnstudio_version",
    } <= set(info)


def test_float64_model_keeps_its_dtype(tmp_path):
    model = Sequential([Dense(2)], input_shape=(3,), dtype=np.float64)
    loaded = load_model(save_model(tmp_path / "f64.nnz", model)).model
    assert loaded.parameters()["0.W"].dtype == np.float64


def test_loss_settings_are_kept(tmp_path):
    from nnstudio.engine.losses import get_loss

    model = Sequential([Dense(1)], input_shape=(2,))
    bundle = load_model(save_model(tmp_path / "h.nnz", model, loss=get_loss("huber", delta=2.0)))
    assert bundle.loss == "huber" and bundle.make_loss().delta == 2.0


def test_saving_an_unbuilt_model_fails():
    with pytest.raises(ValueError, match="not built yet"):
        save_model("never.nnz", Sequential([Dense(2)]))


# -- bad files ------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist") as caught:
        load_model(tmp_path / "nope.nnz")
    assert isinstance(caught.value, ValueError) and caught.value.path == tmp_path / "nope.nnz"


def test_file_that_is_not_a_model(tmp_path):
    text = tmp_path / "notes.nnz"
    text.write_text("hello, I am a text file")
    with pytest.raises(ModelFileError, match="notes.nnz is not an nnstudio model file"):
        load_model(text)
    other_zip = tmp_path / "other.nnz"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(ModelFileError, match="zip archive but not an nnstudio model"):
        load_model(other_zip)
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def rewrite(path, **changes):
    """Copy of the archive at ``path`` with members replaced (bytes) or model.json edited."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if "info" in changes:
        info = json.loads(members["model.json"])
        info.update(changes.pop("info"))
        members["model.json"] = json.dumps(info).encode()
    members.update(changes)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def test_wrong_format_name(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    rewrite(path, info={"format": "something-else"})
    with pytest.raises(ModelFileError, match="not an nnstudio model file \\(format 'something"):
        load_model(path)


def test_truncated_file(tmp_path):
    model, _ = trained_model()
    path = save_model(tmp_path / "m.nnz", model)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelFileError, match="m.nnz is truncated or damaged"):
        load_model(path)


def test_newer_format_version(tmp_path):
    path = save_model(tmp_path / "new.nnz", Sequential([Dense(2)], input_shape=(2,)))
    rewrite(path, info={"format_version": 3})
    with pytest.raises(
        ModelFileError,
        match="new.nnz was written by a newer nnstudio \\(format 3; this one reads up to 1\\)"
        ". Update nnstudio",
    ):
        load_model(path)


def test_unknown_layer_type(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    rewrite(path, info={"config": {"input_shape": [2], "layers": [{"type": "Quantum"}]}})
    with pytest.raises(ModelFileError, match="cannot rebuild.*Quantum"):
        load_model(path)


def test_pickled_weights_are_refused(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    buffer = stdlib_io.BytesIO()
    np.savez(buffer, **{"0.W": np.array([{"evil": 1}], dtype=object)})
    rewrite(path, **{"weights.npz": buffer.getvalue()})
    with pytest.raises(ModelFileError, match="weights.npz.*Python objects"):
        load_model(path)


def test_weights_that_do_not_fit_the_config(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    buffer = stdlib_io.BytesIO()
    np.savez(buffer, **{"0.W": np.zeros((5, 5), np.float32), "0.b": np.zeros(2, np.float32)})
    rewrite(path, **{"weights.npz": buffer.getvalue()})
    with pytest.raises(ModelFileError, match="cannot rebuild.*0.W"):
        load_model(path)


# -- atomic save ----------------------------------------------------------------------------------


def test_disk_full_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = save_model(tmp_path / "net.nnz", Sequential([Dense(2)], input_shape=(2,)))
    before = path.read_bytes()

    def full_disk(file, members):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io, "_write_archive", full_disk)
    model, _ = trained_model()
    with pytest.raises(ModelFileError, match="Could not save .*net.nnz: the disk is full") as err:
        save_model(path, model)
    assert "previous file was left unchanged" in str(err.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.nnz"]
    load_model(path)  # still a good model file


def test_failed_rename_leaves_no_temporary(tmp_path, monkeypatch):
    def refuse(source, target):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_file.os, "replace", refuse)
    with pytest.raises(ModelFileError, match="no permission to write there"):
        save_model(tmp_path / "net.nnz", Sequential([Dense(2)], input_shape=(2,)))
    assert list(tmp_path.iterdir()) == []


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="the folder .*nowhere does not exist"):
        save_model(tmp_path / "nowhere" / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "m.nnz"
    save_model(path, Sequential([Dense(2)], input_shape=(2,)), class_names=["x", "y"])
    save_model(path, Sequential([Dense(3)], input_shape=(2,)))
    bundle = load_model(path)
    assert bundle.class_names is None and bundle.model.output_shape == (3,)


# -- checkpoints ----------------------------------------------------------------------------------


def test_resume_from_checkpoint_file_matches_uninterrupted_run(tmp_path):
    x, y = data()
    config = FitConfig(
        epochs=4,
        batch_size=16,
        seed=2,
        validation_split=0.2,
        schedule="cosine",
        schedule_settings={"warmup_steps": 1},
    )

    straight = model_with_buffers()
    fit(straight, CE, Adam(lr=0.01), x, y, config)

    interrupted, optimizer, control = model_with_buffers(), Adam(lr=0.01), TrainingControl()

    class StopAfterTwo:
        def on_epoch_end(self, info):
            if info["epoch"] == 2:
                control.stop()

    part = fit(
        interrupted, CE, optimizer, x, y, config, control=control, callbacks=[StopAfterTwo()]
    )
    assert part.stopped_reason == "stopped" and part.epochs_completed == 2
    path = save_checkpoint(
        tmp_path / "run.nnz",
        interrupted,
        optimizer,
        epoch=2,
        history=part.history,
        fit_config=config,
        loss=CE,
        class_names=["a", "b", "c"],
    )

    checkpoint = load_checkpoint(path)
    assert checkpoint.epoch == 2 and checkpoint.fit_config == config
    assert checkpoint.history == part.history and checkpoint.class_names == ["a", "b", "c"]
    assert isinstance(checkpoint.optimizer, Adam) and checkpoint.optimizer.iterations == 12
    result = fit(
        checkpoint.model,
        checkpoint.make_loss(),
        checkpoint.optimizer,
        x,
        y,
        checkpoint.fit_config,
        initial_epoch=checkpoint.epoch,
        history=checkpoint.history,
    )
    assert result.epochs_completed == 4
    assert_same_state(checkpoint.model, straight)


def test_checkpoint_is_also_a_model_file_but_not_the_reverse(tmp_path):
    model = Sequential([Dense(2)], input_shape=(2,))
    ckpt = save_checkpoint(tmp_path / "c.nnz", model, SGD(lr=0.1, momentum=0.9), epoch=0)
    assert load_model(ckpt).model.config() == model.config()
    assert load_checkpoint(ckpt).fit_config is None
    plain = save_model(tmp_path / "m.nnz", model)
    with pytest.raises(ModelFileError, match="without training state, not a checkpoint"):
        load_checkpoint(plain)


def test_checkpoint_with_unknown_optimizer(tmp_path):
    model = Sequential([Dense(2)], input_shape=(2,))
    path = save_checkpoint(tmp_path / "c.nnz", model, Adam(), epoch=1)
    with zipfile.ZipFile(path) as archive:
        training = json.loads(archive.read("training.json"))
    training["optimizer"]["type"] = "Lion"
    rewrite(path, **{"training.json": json.dumps(training).encode()})
    with pytest.raises(ModelFileError, match="optimizer state this nnstudio cannot use.*Lion"):
        load_checkpoint(path)


# -- hostile files (issue 23) ---------------------------------------------------------------------


sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))
from hostile_corpus import GB, Member, deflated_zeros, stored, write_zip  # noqa: E402


def _bomb_members(path, **members):
    """The members of ``path`` (good ones) with some replaced by hostile ones."""
    with zipfile.ZipFile(path) as archive:
        good = {name: stored(name, archive.read(name)) for name in archive.namelist()}
    good.update(members)
    return write_zip(path, [member for member in good.values() if member is not None])


def _bomb(size):
    return lambda name: Member(name, deflated_zeros(size * GB), size * GB, True)


def test_an_unused_3gb_member_is_never_read(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    _bomb_members(path, junk=_bomb(3)("junk"))
    assert path.stat().st_size < 10 * 2**20
    assert load_model(path).model.input_shape == (2,)  # before the fix: 6 GB of memory


@pytest.mark.parametrize("member", ["weights.npz", "model.json"])
def test_a_bomb_as_weights_or_model_json_is_refused_from_its_declared_size(tmp_path, member):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    _bomb_members(path, **{member: _bomb(3)(member)})
    with pytest.raises(ModelFileError, match=f"{member} declares 3.0 GB, more than the"):
        load_model(path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights_are_refused_on_load(tmp_path, value):
    model = Sequential([Dense(2)], input_shape=(2,))
    path = save_model(tmp_path / "m.nnz", model)
    weights = {**model.state_dict(), "0.W": np.full((2, 2), value, np.float32)}
    buffer = stdlib_io.BytesIO()
    np.savez(buffer, **weights)
    rewrite(path, **{"weights.npz": buffer.getvalue()})
    with pytest.raises(ModelFileError, match="0.W hold NaN or infinite values"):
        load_model(path)


def test_absurd_sizes_are_refused_before_allocating(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    big = {"input_shape": [784], "layers": [{"type": "Dense", "units": 100000}] * 3}
    rewrite(path, info={"config": big})
    with pytest.raises(ModelFileError, match="parameters.*more than the"):
        load_model(path)  # before the fix: MemoryError (40 GB)
    huge_input = {"input_shape": [10**12], "layers": [{"type": "Dense", "units": 2}]}
    rewrite(path, info={"config": huge_input})
    with pytest.raises(ModelFileError, match="too large|more than the"):
        load_model(path)


def test_a_100000_layer_file_gives_a_short_message(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    rewrite(path, info={"config": {"input_shape": [2], "layers": [{"type": "ReLU"}] * 100_000}})
    with pytest.raises(ModelFileError, match="100,000 layers, more than the 1,000") as error:
        load_model(path)
    assert len(str(error.value)) < 500


def test_deeply_nested_model_json_is_a_model_file_error(tmp_path):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    rewrite(path, **{"model.json": ("[" * 100_000 + "]" * 100_000).encode()})
    with pytest.raises(ModelFileError, match="nested deeper"):
        load_model(path)  # before the fix: RecursionError


@pytest.mark.parametrize(
    "field, value",
    [("metadata", 5), ("loss_settings", [1]), ("class_names", 5), ("preprocessing", [])],
)
def test_wrong_types_in_model_json_name_the_field(tmp_path, field, value):
    path = save_model(tmp_path / "m.nnz", Sequential([Dense(2)], input_shape=(2,)))
    rewrite(path, info={field: value})
    with pytest.raises(ModelFileError, match=f"model.json's {field} must be"):
        load_model(path)  # before the fix: TypeError / AttributeError later on


def test_one_function_tells_a_checkpoint_from_a_model(tmp_path):
    from nnstudio.engine.io import (
        Checkpoint,
        is_checkpoint,
        load_model_or_checkpoint,
        save_checkpoint,
    )
    from nnstudio.engine.optimizers import SGD

    model = Sequential([Dense(2)], input_shape=(3,), seed=0)
    save_model(tmp_path / "m.nnz", model)
    save_checkpoint(tmp_path / "c.nnz", model, SGD(lr=0.1), epoch=1)
    (tmp_path / "not-a-zip.nnz").write_text("hello")
    assert not is_checkpoint(tmp_path / "m.nnz") and is_checkpoint(tmp_path / "c.nnz")
    assert not is_checkpoint(tmp_path / "not-a-zip.nnz")
    assert isinstance(load_model_or_checkpoint(tmp_path / "c.nnz"), Checkpoint)
    assert not isinstance(load_model_or_checkpoint(tmp_path / "m.nnz"), Checkpoint)


def test_only_engine_io_knows_what_makes_a_checkpoint():
    """Other modules ask is_checkpoint rather than look for training.json themselves."""
    from nnstudio.engine import io

    package = Path(io.__file__).parents[1]
    knowing = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "training.json" in path.read_text(encoding="utf-8") and path != Path(io.__file__)
    ]
    assert knowing == []


def test_a_checkpoint_whose_epoch_disagrees_with_its_history_is_damaged(tmp_path):
    model = Sequential([Dense(2)], input_shape=(3,), seed=0)
    path = tmp_path / "c.nnz"
    save_checkpoint(path, model, SGD(lr=0.1), epoch=1, history=[{"epoch": 1, "loss": 0.5}])
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    training = json.loads(members["training.json"])
    members["training.json"] = json.dumps({**training, "epoch": 2**80}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="history holds 1 epoch"):
        load_checkpoint(path)
