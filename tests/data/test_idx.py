"""IDX reader and writer: every type code, gzip or raw, strict header and size checks."""

import gzip

import numpy as np
import pytest

from nnstudio.data import DatasetError, load_dataset
from nnstudio.data.idx import (
    IDX_DTYPES,
    IdxError,
    find_idx_files,
    read_idx,
    read_idx_folder,
    read_labelled_images,
    write_idx,
)

ALL_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", ["a-idx3", "a-idx3.gz"])
def test_round_trip_every_type_code(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_the_file_is_big_endian_with_the_documented_header(tmp_path):
    write_idx(tmp_path / "a", np.array([[1, 256]], dtype=np.int32))
    raw = (tmp_path / "a").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 2])
    assert raw[4:12] == bytes([0, 0, 0, 1, 0, 0, 0, 2])
    assert raw[12:] == bytes([0, 0, 0, 1, 0, 0, 1, 0])
    assert set(IDX_DTYPES) == {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E}


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    write_idx(tmp_path / "plain.gz", np.arange(5, dtype=np.uint8), compress=False)
    write_idx(tmp_path / "packed", np.arange(5, dtype=np.uint8), compress=True)
    assert read_idx(tmp_path / "plain.gz").tolist() == [0, 1, 2, 3, 4]
    assert read_idx(tmp_path / "packed").tolist() == [0, 1, 2, 3, 4]


def test_unsupported_dtype_is_refused(tmp_path):
    with pytest.raises(IdxError, match="cannot store int64"):
        write_idx(tmp_path / "a", np.arange(3, dtype=np.int64))


def test_wrong_magic_number(tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"hello world, not IDX")
    with pytest.raises(IdxError, match=r"notes.txt has the wrong magic number 0x68656C6C"):
        read_idx(tmp_path / "notes.txt")
    (tmp_path / "badtype").write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))
    with pytest.raises(IdxError, match="wrong magic number 0x00000701"):
        read_idx(tmp_path / "badtype")


def test_truncated_data(tmp_path):
    write_idx(tmp_path / "a", np.zeros((10, 4, 4), np.uint8))
    raw = (tmp_path / "a").read_bytes()
    (tmp_path / "a").write_bytes(raw[:-7])
    with pytest.raises(
        IdxError,
        match=r"a is truncated: its header promises 10 × 4 × 4 uint8 "
        r"\(160 bytes of data\) but it holds 153",
    ):
        read_idx(tmp_path / "a")


def test_truncated_header_and_extra_bytes(tmp_path):
    (tmp_path / "h").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(IdxError, match="truncated inside its header"):
        read_idx(tmp_path / "h")
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(IdxError, match="holds 2 bytes, fewer than the 4 of an IDX magic number"):
        read_idx(tmp_path / "tiny")
    write_idx(tmp_path / "x", np.zeros(4, np.uint8))
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes() + b"\x01\x02")
    with pytest.raises(IdxError, match="2 bytes more than its header describes"):
        read_idx(tmp_path / "x")


def test_truncated_gzip(tmp_path):
    write_idx(tmp_path / "a.gz", np.arange(1000, dtype=np.int32))
    raw = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "a.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IdxError, match="damaged gzip file"):
        read_idx(tmp_path / "a.gz")


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"empty \(0 bytes\)"):
        read_idx(tmp_path / "empty")
    with pytest.raises(DatasetError, match="does not exist"):
        read_idx(tmp_path / "nowhere")


def test_labels_from_another_set(tmp_path):
    write_idx(tmp_path / "images", np.zeros((30, 6, 6), np.uint8))
    write_idx(tmp_path / "labels", np.zeros(10, np.uint8))
    with pytest.raises(
        IdxError,
        match=r"labels holds 10 labels but .*images holds 30 images: "
        "the labels file belongs to another set",
    ):
        read_labelled_images(tmp_path / "images", tmp_path / "labels")


def test_labels_outside_the_class_range(tmp_path):
    write_idx(tmp_path / "images", np.zeros((4, 6, 6), np.uint8))
    write_idx(tmp_path / "labels", np.array([1, 2, 12, 3], np.uint8))
    with pytest.raises(IdxError, match=r"label 12 at position 2 is outside the class range 0..9"):
        read_labelled_images(tmp_path / "images", tmp_path / "labels", n_classes=10)


def test_images_and_labels_swapped(tmp_path):
    write_idx(tmp_path / "images", np.zeros((4, 6, 6), np.uint8))
    write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(IdxError, match="Is it a labels file"):
        read_labelled_images(tmp_path / "labels", tmp_path / "images")


def test_folder_layout_accepts_raw_gzip_and_dotted_names(tmp_path, mnist_like):
    folder = mnist_like(tmp_path / "set")
    raw = folder / "t10k-labels-idx1-ubyte.gz"
    (folder / "t10k-labels.idx1-ubyte").write_bytes(gzip.decompress(raw.read_bytes()))
    raw.unlink()
    found, missing = find_idx_files(folder)
    assert missing == [] and found["test_labels"].name == "t10k-labels.idx1-ubyte"
    x_train, y_train, x_test, y_test = read_idx_folder(folder, n_classes=10)
    assert x_train.shape == (30, 6, 6) and y_test.tolist() == list(range(10))


def test_folder_missing_files_are_named(tmp_path, mnist_like):
    folder = mnist_like(tmp_path / "set")
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(IdxError, match="lacks train-labels-idx1-ubyte.gz"):
        read_idx_folder(folder)


def test_idx_folder_dataset(tmp_path, mnist_like):
    folder = mnist_like(tmp_path / "set", n_train=40, n_test=10, n_classes=4)
    ds = load_dataset(f"idx:{folder}", val_fraction=0.25, seed=3)
    assert ds.input_shape == (1, 6, 6) and ds.is_image
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (30, 10, 10)
    assert ds.class_names == ["0", "1", "2", "3"]
    assert ds.x_train.dtype == np.float32 and ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    assert sorted(ds.class_counts("val")) == [2, 2, 3, 3]  # stratified: 10 of each class
    assert ds.options == {"seed": 3, "val_fraction": 0.25, "scaling": "none"}


def test_idx_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset(f"idx:{tmp_path / 'nowhere'}")


def test_idx_folder_with_labels_of_the_other_set(tmp_path, mnist_like):
    folder = mnist_like(tmp_path / "set", n_train=30, n_test=10)
    train_labels = folder / "train-labels-idx1-ubyte.gz"
    train_labels.write_bytes((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(
        IdxError,
        match=r"train-labels-idx1-ubyte.gz holds 10 labels but .*"
        r"train-images-idx3-ubyte.gz holds 30 images: the labels file belongs "
        "to another set",
    ):
        load_dataset(f"idx:{folder}")
