"""Image augmentation: exact geometry with fixed draws, and sane random batches."""

import numpy as np
import pytest

from nnstudio.data import augment_images, make_augmenter


class FixedDraws:
    """Stands in for a Generator: every uniform draw returns its upper (or lower) bound."""

    def __init__(self, bound="high"):
        self.bound = bound

    def uniform(self, low, high, size):
        return np.full(size, high if self.bound == "high" else low, dtype=np.float64)


def ring(n=1, side=28, radius=6.0, width=1.5):
    """Centred rings: a stand-in for digits."""
    yy, xx = np.mgrid[:side, :side] - (side - 1) / 2
    image = (np.abs(np.hypot(yy, xx) - radius) < width).astype(np.float32)
    return np.repeat(image[None, None], n, axis=0)


def dot(row, col, side=28):
    image = np.zeros((1, 1, side, side), np.float32)
    image[0, 0, row, col] = 1.0
    return image


def test_shift_moves_content_by_whole_pixels():
    out = augment_images(
        dot(10, 10), FixedDraws(), max_shift=2, max_rotation=0, scale=(1, 1), thickness=False
    )
    assert out[0, 0, 12, 12] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_rotation_by_90_degrees_matches_rot90():
    image = np.random.default_rng(0).random((1, 1, 28, 28)).astype(np.float32)
    out = augment_images(
        image, FixedDraws(), max_shift=0, max_rotation=90, scale=(1, 1), thickness=False
    )
    np.testing.assert_allclose(out[0, 0], np.rot90(image[0, 0]), atol=1e-4)


def test_scale_enlarges_about_the_centre():
    out = augment_images(
        ring(), FixedDraws(), max_shift=0, max_rotation=0, scale=(1.5, 1.5), thickness=False
    )
    yy, xx = np.mgrid[:28, :28] - 13.5
    radius = lambda img: (np.hypot(yy, xx) * img).sum() / img.sum()  # noqa: E731
    assert radius(out[0, 0]) == pytest.approx(1.5 * radius(ring()[0, 0]), rel=0.03)


def test_thickening_and_thinning():
    thick = augment_images(
        dot(14, 14), FixedDraws("high"), max_shift=0, max_rotation=0, scale=(1, 1)
    )
    np.testing.assert_allclose(thick[0, 0, 13:16, 13:16], 1.0)
    assert thick.sum() == pytest.approx(9.0)
    thin = augment_images(dot(14, 14), FixedDraws("low"), max_shift=0, max_rotation=0, scale=(1, 1))
    assert thin[0, 0, 14, 14] == pytest.approx(0.5) and thin.sum() == pytest.approx(0.5)


def test_identity_settings_change_nothing():
    images = np.random.default_rng(1).random((5, 1, 28, 28)).astype(np.float32)
    out = augment_images(
        images, np.random.default_rng(0), max_shift=0, max_rotation=0, scale=(1, 1), thickness=False
    )
    np.testing.assert_array_equal(out, images)


def test_random_batch_properties():
    images = ring(64)
    before = images.copy()
    out = augment_images(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_array_equal(images, before)  # the input is not changed
    assert out.min() >= 0.0 and out.max() <= 1.0
    # Each image gets its own draw: identical inputs come out different.
    assert len({out[i].tobytes() for i in range(64)}) == 64
    # Digits stay in the frame: ink changes by thickness and scale, never disappears.
    ink = out.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert ink.min() > 0.5 and ink.max() < 2.5


def test_seeded():
    a = augment_images(ring(8), np.random.default_rng(3))
    b = augment_images(ring(8), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_other_layouts_and_dtypes():
    flat = ring(4).reshape(4, 784)
    assert augment_images(flat, np.random.default_rng(0)).shape == (4, 784)
    assert augment_images(ring(4)[:, 0], np.random.default_rng(0)).shape == (4, 28, 28)
    colour = np.repeat(ring(2), 3, axis=1).astype(np.float64)
    out = augment_images(colour, FixedDraws(), max_shift=1, max_rotation=30, scale=(1, 1.2))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[:, 0], out[:, 2])  # one transform per image
    with pytest.raises(ValueError, match=r"got shape \(4, 10\)"):
        augment_images(np.zeros((4, 10)), np.random.default_rng(0))


def test_make_augmenter_checks_settings_at_once():
    augment = make_augmenter(max_rotation=5)
    assert augment(ring(2), np.random.default_rng(0)).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="max_shift and max_rotation must be 0 or more"):
        make_augmenter(max_shift=-1)
    with pytest.raises(ValueError, match="scale must be"):
        make_augmenter(scale=(1.2, 0.8))


def test_photos_are_mirrored_only_when_asked_and_keep_their_colours():
    from nnstudio.data.augmentation import augment_photos

    left_red = np.zeros((64, 3, 8, 8), np.float32)
    left_red[:, 0, :, :4] = 1.0  # red on the left half
    still = {"max_shift": 0, "max_rotation": 0, "scale": (1, 1)}
    kept = augment_photos(left_red, np.random.default_rng(0), **still)
    assert (kept[:, 0, :, :4].mean(axis=(1, 2)) > 0.75).all()  # never mirrored
    assert kept[:, 1:].max() == 0.0  # red stays red: no channel mixes into another
    mirrored = augment_photos(left_red, np.random.default_rng(0), flip=True, **still)
    on_the_right = mirrored[:, 0, :, 4:].mean(axis=(1, 2)) > 0.75
    assert 10 < on_the_right.sum() < 54  # about half of them mirrored
    brightness = kept[:, 0, :, :4].mean(axis=(1, 2))
    assert brightness.min() >= 0.8 - 1e-6 and brightness.max() <= 1.2 + 1e-6
    assert brightness.std() > 0.02  # each picture its own brightness
