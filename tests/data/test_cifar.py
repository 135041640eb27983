"""CIFAR-10 from its binary version: 3073-byte records, found through NNSTUDIO_CIFAR10_DIR or
the data folder; the tests write small files in the same format."""

import io
import tarfile

import numpy as np
import pytest

from nnstudio.data import DatasetError, DatasetNotFound, DownloadError, load_dataset
from nnstudio.data.cifar import (
    ARCHIVE,
    ARCHIVE_FOLDER,
    CLASS_NAMES,
    RECORD_BYTES,
    TEST_FILE,
    TRAIN_FILES,
    download_cifar10,
    import_cifar10,
    read_cifar_batch,
    write_cifar_batch,
)
from tests.data.test_download import Server


@pytest.fixture
def server():
    """A local HTTP server (nothing here touches the internet)."""
    local = Server()
    yield local
    local.close()


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
    assert "cifar-10-binary.tar.gz" in message and caught.value.can_download


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


def cifar_archive(tmp_path, names=(*TRAIN_FILES, TEST_FILE), folder=ARCHIVE_FOLDER):
    """A cifar-10-binary.tar.gz as the official one is laid out, with small batch files and
    a readme beside them."""
    batches = write_small_cifar(tmp_path / "batches", per_file=10)
    (batches / "readme.html").write_text("<p>CIFAR-10</p>")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in [*names, "readme.html"]:
            tar.add(batches / name, arcname=f"{folder}/{name}")
    return buffer.getvalue()


def test_download_cifar10_from_a_mirror_then_load_it(server, tmp_path, monkeypatch):
    server.files[ARCHIVE] = cifar_archive(tmp_path)
    dest = download_cifar10(tmp_path / "data" / "cifar10", mirrors=[f"{server.url}/good/"])
    assert sorted(p.name for p in dest.iterdir()) == sorted([*TRAIN_FILES, TEST_FILE])
    monkeypatch.setenv("NNSTUDIO_CIFAR10_DIR", str(dest))
    dataset = load_dataset("cifar10")
    assert len(dataset.x_test) == 10 and dataset.class_names == CLASS_NAMES


def test_an_archive_without_every_batch_is_refused_and_nothing_kept(server, tmp_path):
    server.files[ARCHIVE] = cifar_archive(tmp_path, names=TRAIN_FILES)  # no test_batch.bin
    dest = tmp_path / "cifar10"
    with pytest.raises(DownloadError, match="lacks test_batch.bin"):
        download_cifar10(dest, mirrors=[f"{server.url}/good/"])
    assert list(dest.iterdir()) == []


def test_a_path_in_the_archive_never_leaves_the_data_folder(server, tmp_path):
    server.files[ARCHIVE] = cifar_archive(tmp_path, folder="../../outside")
    dest = tmp_path / "deep" / "er" / "cifar10"
    download_cifar10(dest, mirrors=[f"{server.url}/good/"])
    assert not (tmp_path / "outside").exists() and (dest / TEST_FILE).is_file()


def test_import_cifar10_from_a_chosen_folder_checks_each_file(tmp_path):
    source = write_small_cifar(tmp_path / "chosen" / ARCHIVE_FOLDER, per_file=3)
    dest = import_cifar10(tmp_path / "chosen", tmp_path / "dest")  # finds the inner folder
    assert (dest / TEST_FILE).read_bytes() == (source / TEST_FILE).read_bytes()
    (source / TEST_FILE).write_bytes(b"\x00" * 100)
    with pytest.raises(DatasetError, match="not a whole number"):
        import_cifar10(source, tmp_path / "dest2")
