"""Feature maps: the maps are the engine's conv layer outputs for the sample, the filters are the
first convolution's weights, a snapshot's weights change them, and updates are rate-limited."""

import numpy as np
import pytest

from nnstudio.engine.layers import Dense, Flatten
from nnstudio.engine.layers.conv import Conv2D, MaxPool2D
from nnstudio.engine.model import Sequential
from nnstudio.project.feature_maps import (
    MAX_MAPS,
    FeatureMapView,
    NoConvolution,
    RateLimit,
    filter_pictures,
    tile,
)


def _cnn(seed=0) -> Sequential:
    layers = [
        Conv2D(4, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(6, 3, padding="same", activation="tanh"),
        Flatten(),
        Dense(3),
    ]
    return Sequential(layers, input_shape=(2, 10, 10), seed=seed)


@pytest.fixture
def images():
    return np.random.default_rng(0).normal(size=(5, 2, 10, 10)).astype(np.float32)


def test_the_maps_are_the_conv_layers_outputs_and_the_filters_their_weights(images):
    model = _cnn()
    shown = FeatureMapView(model).compute(images[3])
    assert [layer.index for layer in shown.layers] == [0, 2]
    # The engine's own forward pass of the same sample, layer by layer.
    first = model.layers[0].forward(images[3:4], False)
    second = model.layers[2].forward(model.layers[1].forward(first, False), False)
    np.testing.assert_allclose(shown.layers[0].maps, first[0], rtol=1e-6)
    np.testing.assert_allclose(shown.layers[1].maps, second[0], rtol=1e-6)
    assert shown.layers[0].maps.shape == (4, 8, 8) and shown.layers[1].maps.shape == (6, 4, 4)
    np.testing.assert_array_equal(shown.filters, model.parameters()["0.W"])
    assert shown.layers[0].label == "0 Conv2D (4 filters, 3×3, relu)"


def test_a_snapshots_weights_replace_the_copys_and_the_model_itself_is_untouched(images):
    model, trained = _cnn(seed=0), _cnn(seed=5)
    view = FeatureMapView(model)
    before = model.state_dict()
    view.set_weights({name: value.copy() for name, value in trained.parameters().items()})
    shown = view.compute(images[0])
    np.testing.assert_array_equal(shown.filters, trained.parameters()["0.W"])
    expected = trained.layers[0].forward(images[:1], False)[0]
    np.testing.assert_allclose(shown.layers[0].maps, expected, rtol=1e-6)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_a_network_without_a_convolution_is_refused_in_words():
    model = Sequential([Flatten(), Dense(2)], input_shape=(1, 4, 4))
    with pytest.raises(NoConvolution, match="no Conv2D layer"):
        FeatureMapView(model)


def test_updates_come_at_most_twice_a_second():
    now = [0.0]
    limit = RateLimit(2.0, clock=lambda: now[0])
    ready = []
    for _ in range(20):  # snapshots every 0.1 s for 2 s
        ready.append(limit.ready())
        now[0] += 0.1
    assert sum(ready) == 4 and ready[0]


def test_tile_puts_each_map_in_its_own_scaled_cell():
    maps = np.stack([np.full((2, 3), 7.0), np.arange(6.0).reshape(2, 3), -np.ones((2, 3))])
    picture = tile(maps)
    assert picture.shape == (2 * 2 + 1, 2 * 3 + 1)  # 2 × 2 cells, a 1-pixel gap
    np.testing.assert_array_equal(picture[:2, :3], 0)  # a flat map: all 0
    np.testing.assert_allclose(picture[:2, 4:], np.arange(6.0).reshape(2, 3) / 5)
    assert np.isnan(picture[2, 0]) and np.isnan(picture[3:, 4:]).all()  # the gap, no 4th map
    assert tile(np.zeros((100, 2, 2))).shape == (8 * 3 - 1, 8 * 3 - 1)  # at most MAX_MAPS
    assert MAX_MAPS == 64
    zoomed = tile(maps, zoom=3)  # each pixel 3 × 3, the gap still 1
    assert zoomed.shape == (2 * 6 + 1, 2 * 9 + 1) and np.isnan(zoomed[6, 0])
    assert filter_pictures(np.ones((4, 3, 5, 5))).shape == (4, 5, 5)
