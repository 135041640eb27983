"""The diagram's gradient flow: the edges coloured by the last batch's |dL/dW| on one log
scale for all layers, from the gradients the training snapshots carry."""

import numpy as np
import pytest

from nnstudio.data.catalog import load_dataset
from nnstudio.engine.layers import Dense
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.training.reporting import SnapshotMaker
from nnstudio.ui.builder.model_builder import QtModelBuilder
from nnstudio.ui.builder.neuron_pictures import GRADIENT_DECADES, gradient_strengths


def test_strengths_share_one_log_scale_so_vanishing_layers_fade():
    strengths = gradient_strengths(
        {"0.W": np.full((2, 3), 1e-3), "1.W": np.array([[-1.0], [1e-9]])}
    )
    assert strengths["1.W"][0, 0] == 1.0  # the largest gradient of the network
    assert strengths["0.W"][0, 0] == pytest.approx(1 - 3 / GRADIENT_DECADES)  # 3 decades lower
    assert strengths["1.W"][1, 0] == 0.0  # below the scale's floor
    assert not gradient_strengths({"0.W": np.zeros((2, 2))})["0.W"].any()


def test_training_snapshots_carry_the_last_batchs_weight_gradients():
    data = load_dataset("circle", samples=100)
    model = Sequential([Dense(4, activation="relu"), Dense(2)], input_shape=(2,), seed=0)
    loss = get_loss("softmax_crossentropy")
    _, grad = loss.value_and_grad(model.forward(data.x_train[:8], True), data.y_train[:8])
    model.backward(grad)
    payload = SnapshotMaker(model, loss, data).make(histograms=False)
    assert set(payload["gradients"]) == {"0.W", "1.W"}
    np.testing.assert_array_equal(payload["gradients"]["1.W"], model.gradients()["1.W"])
    assert payload["gradients"]["1.W"] is not model.gradients()["1.W"]  # a copy


def test_the_checkbox_paints_the_gradients_and_a_past_epoch_clears_them(qtbot, monkeypatch):
    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.resize(1100, 700)
    builder.set_input_spec((2,), 2, "classification", "softmax_crossentropy")
    hidden = {"type": "Dense", "units": 3, "activation": "relu"}
    config = {"input_shape": [2], "layers": [hidden, {"type": "Dense", "units": 2}]}
    builder.set_config(config)
    diagram = builder.diagram
    painted = []
    monkeypatch.setattr(
        diagram, "_paint_gradient_lines", lambda painter, n, strengths: painted.append(strengths)
    )
    weights = {"0.W": np.ones((2, 3)), "1.W": np.ones((3, 2))}
    gradients = {"0.W": np.full((2, 3), 1e-3), "1.W": np.full((3, 2), 0.5)}
    diagram.update_weights({"weights": weights, "gradients": gradients})
    diagram.grab()
    assert painted == []  # weights, until the box is ticked
    builder.gradient_flow.setChecked(True)
    diagram.grab()
    assert [s.shape for s in painted] == [(2, 3), (3, 2)]
    assert painted[0].max() < painted[1].min()  # the first layer's smaller gradients fade
    diagram.update_weights({"weights": weights})  # the current weights again: gradients stay
    assert set(diagram.gradients) == {"0.W", "1.W"}
    diagram.update_weights({"weights": weights, "gradients": None})  # a past epoch clears them
    assert diagram.gradients == {}


def test_a_run_in_the_window_leaves_its_gradients_and_scrubbing_back_clears_them(qtbot, window):
    window.builder.gradient_flow.setChecked(True)
    window.hyperparameters.epochs_box.setValue(3)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()  # watched on the Training tab
    window.tabs.setCurrentWidget(window.builder)
    diagram = window.builder.diagram
    qtbot.waitUntil(lambda: bool(diagram.gradients), timeout=5000)
    assert set(diagram.gradients) == {n for n in window.model.parameters() if n.endswith(".W")}
    window.training_tab.timeline.slider.setValue(1)  # back to epoch 1
    qtbot.waitUntil(lambda: diagram.gradients == {}, timeout=5000)
