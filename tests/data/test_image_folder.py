"""Image folders (images:FOLDER): one sub-folder per class, decoded with Pillow, resized with
the aspect kept, non-images and broken files skipped and counted, reading bounded."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from nnstudio.data import DatasetError, load_dataset
from nnstudio.data.image_folder import (
    MAX_PIXELS,
    fit_image,
    read_image_folder,
    skipped_message,
)
from tests.data.conftest import write_shapes_folder


def test_folder_names_are_the_class_names_and_images_are_nchw_float32(tmp_path):
    write_shapes_folder(tmp_path, per_class=10, side=16)
    dataset = load_dataset(f"images:{tmp_path}")
    assert dataset.class_names == ["blue-circles", "red-squares"]  # sorted folder names
    assert dataset.input_shape == (3, 16, 16)
    assert dataset.x_train.dtype == np.float32
    assert dataset.x_train.min() >= 0.0 and dataset.x_train.max() <= 1.0
    total = len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test)
    assert total == 20  # the broken file and the text file are not samples
    assert dataset.options["image_size"] == 16 and dataset.options["color"] == "rgb"
    assert dataset.preprocessing()["image_reading"]["fit"] == "pad"


def test_png_jpeg_bmp_gif_and_webp_are_decoded_in_colour(tmp_path):
    write_shapes_folder(tmp_path, per_class=5, side=16, extras=False)  # one of each format
    found = read_image_folder(tmp_path)
    assert found.skipped == [] and len(found.images) == 10
    red = found.images[found.labels == found.class_names.index("red-squares")]
    blue = found.images[found.labels == found.class_names.index("blue-circles")]
    # White backgrounds: the shapes make red images redder than blue, and blue ones bluer.
    assert all((image[0] - image[2]).mean() > 0.02 for image in red)
    assert all((image[2] - image[0]).mean() > 0.02 for image in blue)


def test_broken_and_stray_files_are_skipped_and_counted_in_one_line(tmp_path):
    write_shapes_folder(tmp_path, per_class=6, side=8)
    dataset = load_dataset(f"images:{tmp_path}")
    assert dataset.notes == [
        f"{tmp_path.name}: skipped 2 files: notes.txt, red-squares/broken.png (not an image)"
    ]


def test_a_picture_beside_the_class_folders_is_skipped_as_in_no_class(tmp_path):
    write_shapes_folder(tmp_path, per_class=3, side=8, extras=False)
    Image.new("RGB", (8, 8), "green").save(tmp_path / "stray.png")
    assert read_image_folder(tmp_path).skipped == ["stray.png (not in a class folder)"]


def test_the_skipped_message_names_five_files_and_counts_the_rest():
    assert skipped_message([]) is None
    message = skipped_message([f"f{i}.txt" for i in range(8)])
    assert message == "skipped 8 files: f0.txt, f1.txt, f2.txt, f3.txt, f4.txt and 3 more"


def test_a_gif_gives_its_first_frame(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8), "white").save(tmp_path / name / "plain.png")
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    frames[0].save(tmp_path / "a" / "anim.gif", save_all=True, append_images=frames[1:])
    found = read_image_folder(tmp_path)
    red, green, blue = found.images[0].mean(axis=(1, 2))  # a/anim.gif comes first
    assert red > 0.9 and blue < 0.1 and green < 0.1


def test_another_size_keeps_its_aspect_and_is_padded_with_its_border_colour():
    pixels = np.full((20, 40, 3), 255, np.uint8)  # 40 wide, 20 high, white
    pixels[5:15, 15:25] = 0  # a black 10 × 10 square in the middle
    image = fit_image(Image.fromarray(pixels), (20, 20), "rgb")
    dark_rows, dark_cols = np.nonzero(image[0] < 0.5)
    # Halved to 20 × 10: the square stays square (about 5 × 5), not stretched to 5 × 10.
    assert np.ptp(dark_rows) == np.ptp(dark_cols) <= 6
    assert image[:, :5].min() == 1.0 and image[:, 15:].min() == 1.0  # white padding


def test_the_default_size_is_the_most_common_one_capped_at_64(tmp_path):
    for name in ("big", "small"):
        (tmp_path / name).mkdir()
    for i in range(3):
        Image.new("RGB", (100, 100), "red").save(tmp_path / "big" / f"{i}.png")
    Image.new("RGB", (20, 20), "blue").save(tmp_path / "small" / "0.png")
    Image.new("RGB", (20, 20), "blue").save(tmp_path / "small" / "1.png")
    assert read_image_folder(tmp_path).images.shape == (5, 3, 64, 64)
    assert read_image_folder(tmp_path, image_size=8).images.shape == (5, 3, 8, 8)


def test_grey_files_give_one_channel_and_colour_can_be_chosen(tmp_path):
    for name in ("dark", "light"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("L", (6, 6), 20 if name == "dark" else 230).save(tmp_path / name / f"{i}.png")
    assert read_image_folder(tmp_path).images.shape == (4, 1, 6, 6)
    coloured = read_image_folder(tmp_path, color="rgb").images
    assert coloured.shape == (4, 3, 6, 6)
    assert np.allclose(coloured[:, 0], coloured[:, 2])  # grey stays grey in three channels


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda root: (root / "only").mkdir(), ["at least two", "'only'"]),
        (lambda root: None, ["at least two", "found none"]),
    ],
)
def test_fewer_than_two_classes_is_a_clear_error(tmp_path, make, words):
    make(tmp_path)
    with pytest.raises(DatasetError) as caught:
        load_dataset(f"images:{tmp_path}")
    for word in words:
        assert word in str(caught.value)


def test_a_class_without_images_is_a_clear_error(tmp_path):
    write_shapes_folder(tmp_path, per_class=3, side=8, extras=False)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("nothing here")
    with pytest.raises(DatasetError, match="'empty' holds no image"):
        load_dataset(f"images:{tmp_path}")


def test_a_missing_folder_and_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset(f"images:{tmp_path / 'nowhere'}")
    write_shapes_folder(tmp_path, per_class=2, side=8, extras=False)
    with pytest.raises(DatasetError, match="rgb or gray"):
        load_dataset(f"images:{tmp_path}", color="sepia")
    with pytest.raises(DatasetError, match="between 4 and"):
        load_dataset(f"images:{tmp_path}", image_size=100_000)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height and that holds (almost) no pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_skipped_before_it_is_decoded(tmp_path):
    write_shapes_folder(tmp_path, per_class=3, side=8, extras=False)
    side = int(MAX_PIXELS**0.5) + 10
    (tmp_path / "red-squares" / "bomb.png").write_bytes(_png_header_only(side, side))
    found = read_image_folder(tmp_path)
    assert found.skipped == ["red-squares/bomb.png (too big)"]
    assert found.images.shape[2:] == (8, 8)  # its declared size did not count either


def test_a_file_over_the_size_limit_is_skipped_unread(tmp_path, monkeypatch):
    write_shapes_folder(tmp_path, per_class=3, side=8, extras=False)
    big = np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8)
    Image.fromarray(big).save(tmp_path / "blue-circles" / "noise.bmp")  # 270 KB
    monkeypatch.setenv("NNSTUDIO_MAX_FILE_MB", "0.1")
    found = read_image_folder(tmp_path)
    assert found.skipped == ["blue-circles/noise.bmp (cannot be read)"]


def test_a_second_open_reads_the_cache_and_a_changed_folder_is_decoded_again(tmp_path, monkeypatch):
    from nnstudio.data import image_folder

    write_shapes_folder(tmp_path / "shapes", per_class=5, side=8)
    first = read_image_folder(tmp_path / "shapes", color="rgb")

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_folder, "read_image", no_decoding)
    again = read_image_folder(tmp_path / "shapes", color="rgb")
    assert np.array_equal(again.images, first.images) and again.images.dtype == np.float32
    assert np.array_equal(again.labels, first.labels)
    assert (again.class_names, again.skipped, again.size) == (
        first.class_names,
        first.skipped,
        first.size,
    )
    Image.new("RGB", (8, 8), "red").save(tmp_path / "shapes" / "red-squares" / "new.png")
    with pytest.raises(AssertionError, match="decoded again"):
        read_image_folder(tmp_path / "shapes", color="rgb")
