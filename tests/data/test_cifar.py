"""CIFAR-10 from its binary version: 3073-byte records, found through NNSTUDIO_CIFAR10_DIR or
the data folder; the tests write small files in the same format."""

import numpy as np
import pytest

from nnstudio.data import DatasetError, DatasetNotFound, load_dataset
from nnstudio.data.cifar import (
    ARCHIVE_FOLDER,
    CLASS_NAMES,
    RECORD_BYTES,
    TEST_FILE,
    TRAIN_FILES,
    read_cifar_batch,
    write_cifar_batch,
)


def write_small_cifar(folder, per_file=20, seed=0):
    """The six batch files with ``per_file`` random images each, labels 0–9 in turn."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in [*TRAIN_FILES, TEST_FILE]:
        images = rng.integers(0, 256, (per_file, 3, 32, 32), dtype=np.uint8)
        write_cifar_batch(folder / name, images, np.arange(per_file) % 10)
    return folder


def test_a_record_is_a_label_then_red_green_and_blue_planes(tmp_path):
    record = np.zeros(RECORD_BYTES, np.uint8)
    record[0] = 7  # horse
    record[1 + 0 * 1024 + 5] = 200  # red, row 0, column 5
    record[1 + 1 * 1024 + 32] = 100  # green, row 1, column 0
    record[1 + 2 * 1024 + 1023] = 50  # blue, row 31, column 31
    (tmp_path / "one.bin").write_bytes(record.tobytes())
    images, labels = read_cifar_batch(tmp_path / "one.bin")
    assert images.shape == (1, 3, 32, 32) and labels.tolist() == [7]
    assert images[0, 0, 0, 5] == 200 and images[0, 1, 1, 0] == 100 and images[0, 2, 31, 31] == 50
    assert images.sum() == 350


def test_cifar10_by_name_from_the_environment_folder(tmp_path, monkeypatch):
    write_small_cifar(tmp_path / "cifar" / ARCHIVE_FOLDER)  # as the archive unpacks
    monkeypatch.setenv("NNSTUDIO_CIFAR10_DIR", str(tmp_path / "cifar"))
    dataset = load_dataset("cifar10", val_fraction=0.2)
    assert dataset.class_names == CLASS_NAMES
    assert dataset.input_shape == (3, 32, 32) and dataset.x_train.dtype == np.float32
    assert len(dataset.x_train) + len(dataset.x_val) == 100 and len(dataset.x_test) == 20
    assert dataset.x_test.min() >= 0.0 and dataset.x_test.max() <= 1.0
    raw, _ = read_cifar_batch(tmp_path / "cifar" / ARCHIVE_FOLDER / TEST_FILE)
    assert np.allclose(dataset.x_test * 255, raw)  # the fixed test set, pixels / 255


def test_cifar10_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("NNSTUDIO_CIFAR10_DIR", raising=False)
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    write_small_cifar(tmp_path / "data" / "cifar10")
    assert load_dataset("cifar10").n_classes == 10


def test_cifar10_not_found_says_where_it_looked_and_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_CIFAR10_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFound) as caught:
        load_dataset("cifar10")
    message = str(caught.value)
    assert message.startswith("CIFAR-10 is not on this computer. Looked in: ")
    assert str(tmp_path / "nothing") in message and str(tmp_path / "data" / "cifar10") in message
    assert "cifar-10-binary.tar.gz" in message


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda raw: raw[:-1], ["not a whole number of 3073-byte"]),
        (lambda raw: bytes([12]) + raw[1:], ["label 12", "outside 0–9"]),
        (lambda raw: b"\x80\x04\x95" + raw[3:10], ["not a whole number", "pickled"]),
    ],
)
def test_a_damaged_or_foreign_batch_file_is_a_clear_error(tmp_path, damage, words):
    folder = write_small_cifar(tmp_path / "cifar", per_file=2)
    path = folder / TRAIN_FILES[0]
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetError) as caught:
        read_cifar_batch(path)
    for word in words:
        assert word in str(caught.value)
