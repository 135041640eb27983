"""The Dataset object and the catalog: names, options that recreate a set, where MNIST is found."""

import json

import numpy as np
import pytest

from nnstudio.data import (
    DATASET_NAMES,
    DESCRIPTIONS,
    Dataset,
    DatasetError,
    DatasetNotFound,
    apply_scaling,
    catalog,
    dataset_from_arrays,
    find_mnist,
    import_mnist,
    load_dataset,
    user_data_dir,
)
from nnstudio.data.preprocessing import split_indices

TOY_NAMES = ["circle", "xor", "gaussian", "spiral", "moons", "plane", "gaussians-regression"]


def test_names_and_descriptions():
    assert [*TOY_NAMES, "mnist", "fashion-mnist", "cifar10"] == DATASET_NAMES
    assert all(DESCRIPTIONS[name] for name in DATASET_NAMES)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_dataset_options_recreate_it_exactly(name):
    ds = load_dataset(name, samples=200, noise=0.2, seed=7, val_fraction=0.1, test_fraction=0.2)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (140, 20, 40)
    assert json.loads(json.dumps(ds.options)) == ds.options  # goes into the project file
    again = load_dataset(ds.name, **ds.options)
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, part), getattr(ds, part))


def test_toy_dataset_defaults():
    ds = load_dataset("spiral", classes=3)
    assert ds.task == "classification" and ds.n_classes == 3 and ds.n_outputs == 3
    assert ds.input_shape == (2,) and not ds.is_image
    assert ds.feature_names == ["x1", "x2"] and ds.class_names == ["arm 0", "arm 1", "arm 2"]
    assert ds.scaling == {"method": "none"} and ds.options["classes"] == 3
    assert ds.y_train.dtype == np.int64 and ds.x_train.dtype == np.float32
    assert ds.validation_data is not None


def test_regression_dataset():
    ds = load_dataset("plane", val_fraction=0.0)
    assert ds.task == "regression" and ds.n_classes is None and ds.n_outputs == 1
    assert ds.y_train.shape[1:] == (1,) and ds.class_counts() is None
    assert ds.validation_data is None


def test_summary_and_repr():
    ds = load_dataset("moons", samples=100)
    summary = ds.summary()
    assert summary["samples"] == {"train": 70, "validation": 15, "test": 15}
    assert summary["classes"] == 2 and sum(summary["class_counts"]) == 70
    assert summary["features"] == 2 and summary["scaling"] == "none"
    assert json.loads(json.dumps(summary)) == summary
    assert repr(ds) == (
        "Dataset('moons', classification, input (2,), 2 classes, train/val/test 70/15/15)"
    )


def test_scaling_statistics_come_from_the_training_split_and_apply_later():
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 3.0, (300, 3)).astype(np.float32)
    y = (x[:, 0] > 10).astype(np.int64)
    ds = dataset_from_arrays("t", "classification", x, y, scaling="standardize", seed=2)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    # Prediction time: raw inputs through the saved statistics give the same scaled inputs.
    _, _, test_rows = split_indices(y, 0.15, 0.15, seed=2)
    preprocessing = json.loads(json.dumps(ds.preprocessing()))
    assert preprocessing["scaling"]["method"] == "standardize"
    np.testing.assert_allclose(ds.apply_scaling(x[test_rows]), ds.x_test, atol=1e-6)
    np.testing.assert_allclose(
        apply_scaling(x[test_rows], preprocessing["scaling"]), ds.x_test, atol=1e-6
    )


def test_minmax_scaling_by_name():
    ds = load_dataset("circle", scaling="minmax")
    assert ds.x_train.min() == pytest.approx(0) and ds.x_train.max() == pytest.approx(1)
    with pytest.raises(DatasetError, match="Unknown scaling 'zscore'"):
        load_dataset("circle", scaling="zscore")


def test_unknown_and_empty_names():
    with pytest.raises(DatasetError, match=r"Unknown dataset 'spirals'. Choose one of: circle"):
        load_dataset("spirals")
    with pytest.raises(DatasetError, match="No dataset name given"):
        load_dataset("")


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(DatasetNotFound, match="does not exist"):
        load_dataset(f"csv:{tmp_path / 'nothing.csv'}")


def test_dataset_checks_its_arrays():
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(DatasetError, match="the val split has 4 inputs but 3 targets"):
        Dataset(
            "d",
            "classification",
            x,
            np.zeros(4, np.int64),
            x,
            np.zeros(3, np.int64),
            x,
            np.zeros(4, np.int64),
            input_shape=(2,),
        )
    with pytest.raises(DatasetError, match=r"classification targets must be int labels \(N,\)"):
        Dataset("d", "classification", x, np.eye(4), x, np.eye(4), x, np.eye(4), input_shape=(2,))
    with pytest.raises(DatasetError, match="Unknown task 'clustering'"):
        Dataset("d", "clustering", x, x, x, x, x, x, input_shape=(2,))


def test_one_class_only_from_arrays():
    with pytest.raises(DatasetError, match=r"every sample has the same class \('a'\)"):
        dataset_from_arrays(
            "d", "classification", np.zeros((5, 2)), np.zeros(5, np.int64), class_names=["a", "b"]
        )


# --------------------------------------------------------------------------------------------
# Where MNIST is found


def test_user_data_dir(monkeypatch, tmp_path):
    # The platform folders are platformdirs' (tests/test_paths.py); the catalog uses them.
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "mine"))
    assert user_data_dir() == tmp_path / "mine"


@pytest.fixture
def places(monkeypatch, tmp_path, mnist_like):
    """Three candidate folders for Fashion-MNIST, each with its own (small) copy."""
    folders = {p: mnist_like(tmp_path / p, seed=i) for i, p in enumerate(["env", "user", "sys"])}
    monkeypatch.setenv("NNSTUDIO_FASHION_MNIST_DIR", str(folders["env"]))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fashion-mnist").symlink_to(folders["user"])
    monkeypatch.setitem(
        catalog.MNIST_SOURCES["fashion-mnist"], "system_dirs", [str(folders["sys"])]
    )
    return folders


def test_find_order_env_then_user_folder_then_system(places, monkeypatch, tmp_path):
    assert find_mnist("fashion-mnist") == places["env"]
    (places["env"] / "train-images-idx3-ubyte.gz").unlink()  # incomplete: skipped
    assert find_mnist("fashion-mnist") == tmp_path / "data" / "fashion-mnist"
    (tmp_path / "data" / "fashion-mnist").unlink()
    assert find_mnist("fashion-mnist") == places["sys"]
    ds = load_dataset("fashion-mnist", val_fraction=0.2)
    assert ds.class_names[0] == "T-shirt/top" and ds.input_shape == (1, 6, 6)
    assert len(ds.x_train) == 24 and len(ds.x_test) == 10
    (places["sys"] / "t10k-labels-idx1-ubyte.gz").unlink()
    assert find_mnist("fashion-mnist") is None


def test_not_found_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(tmp_path / "wrong"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFound) as caught:
        load_dataset("mnist")
    message = str(caught.value)
    assert message.startswith("MNIST is not on this computer. Looked in: ")
    assert f"{tmp_path / 'wrong'} (no files)" in message
    assert f"{tmp_path / 'data' / 'mnist'} (no files)" in message
    assert "Download it (about 11 MB), choose a folder holding the four files" in message
    assert caught.value.can_download


def test_mnist_labels_outside_ten_classes(monkeypatch, tmp_path, mnist_like):
    folder = mnist_like(tmp_path / "m", n_classes=12, n_train=24)
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(folder))
    with pytest.raises(
        DatasetError, match="label 10 at position 10 is outside the class range 0..9"
    ):
        load_dataset("mnist")


def test_import_mnist_rejects_other_files(tmp_path, mnist_like):
    folder = mnist_like(tmp_path / "small")
    with pytest.raises(
        DatasetError,
        match=r"train-images-idx3-ubyte.gz is not the MNIST file "
        r"train-images-idx3-ubyte: its data has SHA-256 .*, expected ba891046e650",
    ):
        import_mnist("mnist", folder, dest=tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []  # nothing copied
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFound, match="lacks t10k-images-idx3-ubyte.gz"):
        import_mnist("mnist", folder, dest=tmp_path / "dest")


@pytest.mark.slow
def test_import_mnist_from_a_chosen_folder(mnist_path, tmp_path, monkeypatch):
    monkeypatch.delenv("NNSTUDIO_MNIST_DIR", raising=False)
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    assert find_mnist("mnist") is None
    dest = import_mnist("mnist", mnist_path)
    assert dest == tmp_path / "mnist"
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in mnist_path.glob("*.gz"))
    assert find_mnist("mnist") == dest
