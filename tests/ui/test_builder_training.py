"""What the builder produces is what the engine builds and trains."""

import json

import numpy as np
import pytest

from nnstudio.data.catalog import load_dataset
from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import get_optimizer
from nnstudio.ui.builder.model_builder import QtModelBuilder

CNN_JSON = """
{"input_shape": [1, 28, 28], "layers": [
  {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
  {"type": "BatchNorm"},
  {"type": "MaxPool2D", "pool_size": 2},
  {"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"},
  {"type": "MaxPool2D"},
  {"type": "Dropout", "rate": 0.25},
  {"type": "Flatten"},
  {"type": "Dense", "units": 32, "activation": "relu", "l2": 0.0001},
  {"type": "Dropout", "rate": 0.5},
  {"type": "Dense", "units": 10}
]}
"""


@pytest.fixture
def builder(qtbot):
    widget = QtModelBuilder()
    qtbot.addWidget(widget)
    return widget


def test_stack_config_builds_the_same_model_as_the_engine(builder):
    source = json.loads(CNN_JSON)
    builder.set_input_spec((1, 28, 28), 10, "classification", "softmax_crossentropy")
    builder.set_config(source)
    assert builder.is_valid(), builder.problem()
    from_builder = Sequential.from_config(json.loads(json.dumps(builder.config())), seed=3)
    from_json = Sequential.from_config(source, seed=3)
    assert from_builder.config() == from_json.config()
    assert from_builder.summary() == from_json.summary()
    assert builder.stack.list_model.rowCount() == len(source["layers"])
    shown = [info.output_shape for info in builder.model.analysis().layers]
    assert shown == [row[1] for row in from_json.summary()]
    for name, value in from_json.state_dict().items():
        np.testing.assert_array_equal(from_builder.state_dict()[name], value)
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(from_builder.predict(x), from_json.predict(x))


def test_edits_in_the_builder_reach_the_engine(builder):
    builder.set_input_spec((1, 28, 28), 10, "classification", "softmax_crossentropy")
    builder.set_config(json.loads(CNN_JSON))
    builder.set_setting(7, "units", 48)
    builder.remove_layer(1)
    model = Sequential.from_config(builder.config())
    assert model.layers[6].units == 48
    assert [type(layer).__name__ for layer in model.layers][:2] == ["Conv2D", "MaxPool2D"]
    assert model.count_params() == builder.model.analysis().total_params


@pytest.mark.parametrize(("preset", "dataset"), [("xor-net", "xor"), ("2d-classifier", "circle")])
def test_preset_builds_and_trains_one_epoch(builder, preset, dataset):
    data = load_dataset(dataset, samples=200, seed=0)
    builder.set_input_spec(data.input_shape, data.n_classes, data.task, "softmax_crossentropy")
    builder.load_preset(preset)
    assert builder.is_valid(), builder.problem()
    model = Sequential.from_config(builder.config())
    loss = get_loss("softmax_crossentropy")
    before = loss.value(model.predict(data.x_train), data.y_train)
    result = fit(
        model,
        loss,
        get_optimizer("adam", lr=0.05),
        data.x_train,
        data.y_train,
        FitConfig(epochs=1, batch_size=16),
    )
    assert result.epochs_completed == 1 and len(result.history) == 1
    after = result.history[0]["loss"]
    assert np.isfinite(after) and loss.value(model.predict(data.x_train), data.y_train) < before


def test_cnn_preset_builds_and_trains_one_epoch_on_small_images(builder):
    builder.set_input_spec((1, 28, 28), 10, "classification", "softmax_crossentropy")
    builder.load_preset("mnist-cnn")
    assert builder.is_valid(), builder.problem()
    model = Sequential.from_config(builder.config())
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=64)
    result = fit(model, "softmax_crossentropy", "adam", x, y, FitConfig(epochs=1, batch_size=32))
    assert result.epochs_completed == 1 and np.isfinite(result.history[0]["loss"])


def test_diagram_follows_a_real_training_session(builder, qtbot):
    from nnstudio.training.session import TrainingSession

    data = load_dataset("xor", samples=200, seed=0)
    builder.set_input_spec(data.input_shape, data.n_classes, data.task, "softmax_crossentropy")
    builder.load_preset("xor-net")
    model = Sequential.from_config(builder.config())
    session = TrainingSession(
        model,
        get_loss("softmax_crossentropy"),
        get_optimizer("adam", lr=0.05),
        data,
        FitConfig(epochs=3),
    )
    session.weights_snapshot.connect(builder.diagram.update_weights)
    with qtbot.waitSignal(session.finished, timeout=20_000):
        session.start()
    assert session.wait(5_000)
    # the last snapshot is the trained model: the lines and neuron pictures show it
    final = model.parameters()
    assert set(builder.diagram.weights) == set(final)
    for name, value in final.items():
        np.testing.assert_array_equal(builder.diagram.weights[name], value)
    x_min, x_max, _, _ = builder.diagram.extent
    assert x_min < data.x_train[:, 0].min() and x_max > data.x_train[:, 0].max()
    assert builder.diagram.neuron_picture(1, 0) is not None
