"""The project file (.nnsproj): format, validation messages, atomic saving, presets, and the
helpers that turn a project into engine objects."""

import json
import os

import numpy as np
import pytest

from nnstudio.data.dataset import Dataset
from nnstudio.project import (
    FORMAT,
    VERSION,
    DatasetSpec,
    Project,
    ProjectError,
    TrainingSettings,
    check_outputs,
    default_layers,
    list_presets,
    load_preset,
    load_project,
    parse_project,
    save_project,
)
from nnstudio.project import project_file as project_module

PRESETS = {"xor-net", "2d-classifier", "spiral-mlp", "mnist-mlp", "mnist-cnn"}


def spiral_project() -> Project:
    return Project(
        name="spiral demo",
        dataset=DatasetSpec("spiral", {"samples": 120, "noise": 0.1, "classes": 3}),
        model={
            "layers": [
                {"type": "Dense", "units": 16, "activation": "relu"},
                {"type": "Dense", "units": 3},
            ]
        },
        training=TrainingSettings(learning_rate=0.02, batch_size=16, epochs=3, seed=7),
        description="three arms",
        metadata={"note": "test"},
    )


def write_json(path, data) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def valid_dict() -> dict:
    return spiral_project().to_dict()


def tiny_dataset(task="classification", input_shape=(2,), classes=3, outputs=1) -> Dataset:
    n = 12
    rng = np.random.default_rng(0)
    x = rng.random((n, *input_shape), dtype=np.float32)
    if task == "classification":
        y = np.arange(n) % classes
    else:
        y = rng.random((n, outputs), dtype=np.float32)
    return Dataset("tiny", task, x, y, x[:0], y[:0], x[:4], y[:4], input_shape=input_shape)


# -- file form -----------------------------------------------------------------------------------


def test_save_then_load_gives_the_same_project(tmp_path):
    path = tmp_path / "demo.nnsproj"
    save_project(spiral_project(), path)
    loaded = load_project(path)
    assert loaded.to_dict() == spiral_project().to_dict()
    assert loaded.path == path.resolve()


def test_file_is_readable_versioned_json(tmp_path):
    path = tmp_path / "demo.nnsproj"
    save_project(spiral_project(), path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["version"] == VERSION
    assert data["dataset"] == {
        "name": "spiral",
        "options": {"samples": 120, "noise": 0.1, "classes": 3},
    }
    assert data["training"]["learning_rate"] == 0.02
    assert data["weights"] is None


def test_missing_training_keys_take_defaults(tmp_path):
    data = valid_dict()
    data["training"] = {"epochs": 4}
    project = parse_project(data)
    assert project.training.epochs == 4
    assert project.training.optimizer == TrainingSettings().optimizer


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(format="something-else"), ["not an nnstudio project"]),
        (lambda d: d.update(version=VERSION + 1), ["newer nnstudio", "Update nnstudio"]),
        (lambda d: d["training"].update(batch_size=0), ["training.batch_size", ">= 1"]),
        (lambda d: d["training"].update(batch_size="32"), ["training.batch_size", "whole"]),
        (lambda d: d["training"].update(learning_rate=-1), ["training.learning_rate"]),
        (lambda d: d["training"].update(learning_rate=0), ["training.learning_rate", ">= 1e-12"]),
        (lambda d: d["training"].update(learning_rte=0.1), ["training", "'learning_rte'"]),
        (lambda d: d["training"].update(validation_split=1.5), ["training.validation_split"]),
        (lambda d: d["training"].update(early_stopping=0), ["training.early_stopping"]),
        (lambda d: d["training"].update(augment="yes"), ["training.augment", "true or false"]),
        (lambda d: d.pop("dataset"), ["dataset", "missing"]),
        (lambda d: d["dataset"].update(name=""), ["dataset.name"]),
        (lambda d: d["model"]["layers"].append({"units": 3}), ["model.layers[2]", '"type"']),
        (lambda d: d["model"].update(input_shape=[0, 2]), ["model.input_shape"]),
        (lambda d: d.update(weights=3), ["weights"]),
        (lambda d: d.update(colour="red"), ["unknown key", "'colour'"]),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, change, words):
    data = valid_dict()
    change(data)
    path = tmp_path / "bad.nnsproj"
    write_json(path, data)
    with pytest.raises(ProjectError) as error:
        load_project(path)
    message = str(error.value)
    assert "bad.nnsproj" in message
    for word in words:
        assert word in message
    assert "\n" not in message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_literals_are_refused_when_read(tmp_path, literal):
    """Issue 38: Python's json reads them; saving the project again would then fail with
    "Out of range float values are not JSON compliant"."""
    path = tmp_path / "nan.nnsproj"
    text = json.dumps(Project().to_dict()).replace(
        '"learning_rate": 0.01', f'"learning_rate": {literal}'
    )
    assert literal in text
    path.write_text(text)
    with pytest.raises(ProjectError, match=f"{literal}, which JSON does not allow"):
        load_project(path)


def test_invalid_json_says_line_and_column(tmp_path):
    path = tmp_path / "broken.nnsproj"
    path.write_text('{\n  "format": "nnstudio-project",\n  "version": 1,,\n}')
    with pytest.raises(ProjectError, match=r"broken.nnsproj is not valid JSON at line 3"):
        load_project(path)


def test_missing_file_is_a_project_error(tmp_path):
    with pytest.raises(ProjectError, match="no such project file"):
        load_project(tmp_path / "nothing.nnsproj")


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "demo.nnsproj"
    save_project(spiral_project(), path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_module.os, "replace", disk_full)
    changed = spiral_project()
    changed.name = "changed"
    with pytest.raises(OSError):
        save_project(changed, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["demo.nnsproj"]  # no temporary file left behind


def test_relative_dataset_paths_resolve_next_to_the_project(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    project = spiral_project()
    project.dataset = DatasetSpec("csv:data/points.csv")
    save_project(project, folder / "p.nnsproj")
    loaded = load_project(folder / "p.nnsproj")
    assert loaded.dataset_name() == "csv:" + str(folder.resolve() / "data" / "points.csv")
    assert Project(dataset=DatasetSpec("mnist")).dataset_name() == "mnist"


# -- presets -------------------------------------------------------------------------------------


def test_presets_are_listed_and_load():
    assert set(list_presets()) >= PRESETS
    for name in PRESETS:
        preset = load_preset(name)
        assert preset.model["layers"], name
        assert preset.path is None  # saving a preset must ask for a new file


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ProjectError, match="unknown preset 'mnist-mpl'. Known: .*mnist-mlp"):
        load_preset("mnist-mpl")


def test_mnist_presets_record_what_they_reach():
    for name in ("mnist-mlp", "mnist-cnn"):
        preset = load_preset(name)
        assert preset.dataset.name == "mnist"
        assert "test accuracy" in preset.description
        assert preset.metadata["test_accuracy"] >= (0.98 if name == "mnist-mlp" else 0.99)


# -- turning a project into engine objects --------------------------------------------------------


def test_default_layers_fit_the_dataset():
    assert default_layers(tiny_dataset())[-1] == {"type": "Dense", "units": 3}
    image_layers = default_layers(tiny_dataset(input_shape=(1, 4, 4), classes=2))
    assert image_layers[0] == {"type": "Flatten"} and image_layers[-1]["units"] == 2
    assert default_layers(tiny_dataset("regression", outputs=2))[-1]["units"] == 2


def test_project_builds_a_model_for_its_dataset():
    dataset = tiny_dataset()
    model = spiral_project().build_model(dataset)
    assert tuple(model.output_shape) == (3,)
    assert model.forward(dataset.x_train).shape == (12, 3)


def test_the_seed_decides_the_initial_weights():
    dataset = tiny_dataset()
    first = spiral_project().build_model(dataset).state_dict()
    again = spiral_project().build_model(dataset).state_dict()
    other_project = spiral_project()
    other_project.training.seed = 8
    other = other_project.build_model(dataset).state_dict()
    assert np.array_equal(first["0.W"], again["0.W"])
    assert not np.array_equal(first["0.W"], other["0.W"])


def test_wrong_output_size_is_explained():
    with pytest.raises(ProjectError, match=r"has 4 classes; end the model with Dense\(4\)"):
        spiral_project().build_model(tiny_dataset(classes=4))


def test_binary_crossentropy_takes_one_output_for_two_classes():
    project = spiral_project()
    project.training.loss = "binary_crossentropy"
    project.model["layers"][-1]["units"] = 1
    model = project.build_model(tiny_dataset(classes=2))
    check_outputs(model, tiny_dataset(classes=2), "binary_crossentropy")


def test_model_input_shape_must_match_the_dataset():
    project = spiral_project()
    project.model["input_shape"] = [3]
    with pytest.raises(ProjectError, match=r"takes input \(3,\) but dataset 'tiny' gives \(2,\)"):
        project.build_model(tiny_dataset())


def test_loss_optimizer_and_fit_config_follow_the_settings():
    project = spiral_project()
    project.training.optimizer = "sgd"
    project.training.optimizer_settings = {"momentum": 0.9}
    project.training.early_stopping = 3
    project.training.validation_split = 0.2
    assert project.make_loss().name == "softmax_crossentropy"
    optimizer = project.make_optimizer()
    assert optimizer.lr == pytest.approx(0.02)
    assert type(optimizer).__name__ == "SGD"
    config = project.fit_config()
    assert (config.epochs, config.batch_size, config.seed) == (3, 16, 7)
    assert config.early_stopping_patience == 3
    assert config.validation_split == pytest.approx(0.2)


def test_project_loads_its_toy_dataset():
    dataset = spiral_project().load_dataset()
    assert dataset.n_classes == 3
    assert len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test) == 120


def test_every_small_preset_builds_on_its_own_dataset():
    for name in ("xor-net", "2d-classifier", "spiral-mlp"):
        preset = load_preset(name)
        dataset = preset.load_dataset()
        model = preset.build_model(dataset)
        assert model.count_params() > 0


def test_mnist_presets_build_on_mnist_shaped_data():
    dataset = tiny_dataset(input_shape=(1, 28, 28), classes=10)
    for name in ("mnist-mlp", "mnist-cnn"):
        model = load_preset(name).build_model(dataset)
        assert tuple(model.output_shape) == (10,)


def test_unknown_dataset_option_is_a_project_error():
    project = spiral_project()
    project.dataset.options["colour"] = "red"
    with pytest.raises(ProjectError, match=r"dataset.options has unknown key\(s\) 'colour'"):
        project.load_dataset()


def test_weights_path_resolves_next_to_the_project(tmp_path):
    project = spiral_project()
    assert project.weights_path() is None
    project.weights = "spiral.nnz"
    save_project(project, tmp_path / "p.nnsproj")
    assert load_project(tmp_path / "p.nnsproj").weights_path() == tmp_path.resolve() / "spiral.nnz"


def test_regression_models_end_in_the_targets_units(tmp_path):
    """The layers learn outputs of size ~1; a fixed Rescale (the targets' spread and mean)
    turns them into the data's units, so targets like prices train as fast as small ones."""
    from nnstudio.engine.fit import fit
    from nnstudio.engine.layers import Rescale
    from nnstudio.engine.metrics import regression_report

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3)).astype(np.float32)
    price = 50_000 + 20_000 * x[:, 0] - 8_000 * x[:, 1] ** 2 + 3_000 * rng.normal(size=2000)
    y = price.astype(np.float32)[:, None]
    dataset = Dataset(
        "prices",
        "regression",
        x[:1600],
        y[:1600],
        x[:0],
        y[:0],
        x[1600:],
        y[1600:],
        input_shape=(3,),
    )
    project = spiral_project()
    project.training = TrainingSettings(
        loss="mse", learning_rate=0.01, batch_size=32, epochs=30, seed=0
    )
    project.model = {
        "layers": [{"type": "Dense", "units": 32, "activation": "relu"}] * 2
        + [{"type": "Dense", "units": 1}]
    }
    model = project.build_model(dataset)
    assert isinstance(model.layers[-1], Rescale)
    assert model.layers[-1].offset[0] == pytest.approx(float(y[:1600].mean()), rel=1e-6)
    fit(
        model,
        project.make_loss(),
        project.make_optimizer(),
        dataset.x_train,
        dataset.y_train,
        project.fit_config(),
    )
    # Without the Rescale the same run reaches about 0.78; noise caps it at about 0.98.
    assert regression_report(dataset.y_test, model.predict(dataset.x_test))["r2"] > 0.95
    assert not isinstance(spiral_project().build_model(tiny_dataset()).layers[-1], Rescale)
    # A saved model keeps it: `nnstudio predict` answers in the data's units too.
    from nnstudio.engine.io import load_model, save_model

    save_model(tmp_path / "prices.nnz", model, loss="mse")
    loaded = load_model(tmp_path / "prices.nnz").model
    np.testing.assert_allclose(loaded.predict(x[:5]), model.predict(x[:5]), rtol=1e-6)


def test_regularization_goes_to_the_layers_with_regularized_weights():
    from nnstudio.project.project_data import apply_regularization, common_regularization

    config = {
        "layers": [
            {"type": "Conv2D", "filters": 4},
            {"type": "Flatten"},
            {"type": "Dense", "units": 3},
            {"type": "Quantum"},  # unknown types are left alone, not refused
        ]
    }
    regularized = apply_regularization(config, 1e-4, 1e-3)
    assert [("l1" in layer, "l2" in layer) for layer in regularized["layers"]] == [
        (True, True),
        (False, False),
        (True, True),
        (False, False),
    ]
    assert "l1" not in config["layers"][0]  # a copy: the given config is unchanged
    assert common_regularization(regularized) == (1e-4, 1e-3)
    assert common_regularization({"layers": [{"type": "Flatten"}]}) == (0.0, 0.0)


# -- hostile project files (issue 23) -------------------------------------------------------------


def _hostile(tmp_path, **changes):
    data = {
        "format": "nnstudio-project",
        "version": 1,
        "dataset": {"name": "moons", "options": {}},
        "model": {"layers": [{"type": "Dense", "units": 2}]},
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[section] = value
    path = tmp_path / "hostile.nnsproj"
    path.write_text(json.dumps(data))
    return path


def test_a_2gb_project_fails_at_once_without_reading(tmp_path):
    import resource

    path = tmp_path / "huge.nnsproj"
    with open(path, "wb") as file:
        file.truncate(2 * 2**30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ProjectError, match="2.0 GB, more than the 64.0 MB limit.*NNSTUDIO_MAX"):
        load_project(path)  # before the fix: 4.2 GB of memory, then "not valid JSON"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KB


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_or_dev_zero_project_is_named_and_never_read(tmp_path):
    fifo = tmp_path / "pipe.nnsproj"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError, match="named pipe"):
        load_project(fifo)  # before the fix: blocks forever
    with pytest.raises(ProjectError, match="character device"):
        load_project("/dev/zero")  # before the fix: grows until killed


def test_deeply_nested_project_is_a_project_error(tmp_path):
    path = tmp_path / "deep.nnsproj"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ProjectError, match="nested deeper than the 64 levels"):
        load_project(path)  # before the fix: RecursionError


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"dataset__options": {"test_fraction": "a"}}, "dataset.options.test_fraction"),
        ({"dataset__options": {"samples": 10**10}}, "dataset.options.samples"),
        ({"dataset__options": {"columns": {"a": 1}}}, "dataset.options.columns"),
        ({"model__layers": [{"type": "ReLU"}] * 100_000}, "100,000 layers"),
    ],
)
def test_bad_values_name_the_field(tmp_path, changes, words):
    with pytest.raises(ProjectError, match=words) as error:
        load_project(_hostile(tmp_path, **changes))
    assert len(str(error.value)) < 400


def test_a_huge_model_is_refused_before_allocating(tmp_path):
    layers = [{"type": "Dense", "units": 100000}] * 3 + [{"type": "Dense", "units": 2}]
    project = load_project(_hostile(tmp_path, model__layers=layers))
    from nnstudio.data.catalog import load_dataset

    with pytest.raises(ProjectError, match="too large.*parameters"):
        project.build_model(load_dataset("moons", samples=40))  # before the fix: MemoryError


def _images(name: str, channels: int) -> Dataset:
    x = np.zeros((4, channels, 6, 6), np.float32)
    y = np.array([0, 1, 0, 1])
    return Dataset(name, "classification", x, y, x[:0], y[:0], x[:0], y[:0], (channels, 6, 6))


def test_augmentation_suits_the_images():
    from nnstudio.data.augmentation import augment_images, augment_photos

    project = Project(training=TrainingSettings(augment=True))
    assert project.make_augment(_images("mnist", 1)) is augment_images  # digits: strokes too
    photos = project.make_augment(_images("images:/pictures", 3))
    assert photos.func is augment_photos and photos.keywords == {"flip": False}
    assert project.make_augment(_images("cifar10", 3)).keywords == {"flip": True}
