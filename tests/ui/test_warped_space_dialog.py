"""Training → Warped input space… (issue 35): the grid and the data through each hidden layer
of the window's network, animated layer by layer; 2-D data only, said so otherwise."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import Qt

from nnstudio.project.diagram_layout import columns_for
from nnstudio.project.warped_space import principal_axes, warped_space
from nnstudio.ui.panels.warped_space_dialog import STEPS
from nnstudio.ui.window.shortcut_keys import ACTION_KEYS
from nnstudio.ui.window.warped_space import NOT_A_PLANE


def test_the_menu_opens_the_layers_pictures_of_the_plane(qtbot, window):
    assert window.actionWarpedSpace.text() == "Warped input space…"
    assert window.actionWarpedSpace.shortcut().toString() == ACTION_KEYS["actionWarpedSpace"]
    window.actionWarpedSpace.trigger()
    dialog = window.warped_space.dialog
    qtbot.addWidget(dialog)
    stages = dialog.space.stages
    hidden = window.builder.diagram.columns[1:-1]
    assert len(stages) == 1 + len(hidden) and stages[0].title == "Input"
    # The first hidden layer's picture is the model's forward pass of the training points
    # (projected by PCA when it is wider than two units).
    x = window.dataset.x_train[: len(stages[0].points)]
    h = window.model.layers[0].forward(x.astype(np.float32), training=False)
    for layer in window.model.layers[1 : hidden[0].last_index + 1]:
        h = layer.forward(h, training=False)
    if h.shape[1] > 2:  # projected on its principal axes (each axis up to its sign)
        assert stages[1].projected
        basis, mean, _kept = principal_axes(h.astype(np.float64))
        expected = (h - mean) @ basis
        signs = np.sign(np.sum(expected * stages[1].points, axis=0))
        np.testing.assert_allclose(stages[1].points, expected * signs, atol=1e-4)
    else:
        np.testing.assert_allclose(stages[1].points, h, atol=1e-5)
    assert dialog.caption.text() == stages[0].describe()  # it opens on the input plane

    dialog.slider.setValue(STEPS)  # the first hidden layer
    assert dialog.caption.text() == stages[1].describe()
    assert "PCA" in dialog.caption.text() or "drawn as they are" in dialog.caption.text()
    shown = dialog.points_item.data
    np.testing.assert_allclose(shown["x"], stages[1].points[:, 0], atol=1e-6)
    dialog.slider.setValue(STEPS // 2)  # half-way: the picture between the two
    middle = (stages[0].points[:, 1] + stages[1].points[:, 1]) / 2
    np.testing.assert_allclose(dialog.points_item.data["y"], middle, atol=1e-6)


def test_play_moves_the_picture_layer_by_layer_and_stops_at_the_end(qtbot, window):
    window.actionWarpedSpace.trigger()
    dialog = window.warped_space.dialog
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
    assert dialog.timer.isActive() and dialog.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: dialog.slider.value() > 0, timeout=2000)
    dialog.slider.setValue(dialog.slider.maximum())
    dialog._next_frame()  # at the end: it stops by itself
    assert not dialog.timer.isActive() and dialog.play_button.text() == "Play"


def test_data_that_is_not_a_plane_gets_a_message(window, monkeypatch):
    images = SimpleNamespace(input_shape=(28, 28, 1), task="classification")
    monkeypatch.setattr(window.inspector, "dataset_and_model", lambda why: (images, None))
    assert window.warped_space.open() is None
    assert window.message_bar.text() == NOT_A_PLANE


def test_with_the_timeline_moved_back_it_shows_that_epochs_network(qtbot, window):
    """The diagram and the boundary show the epoch the timeline is on; the warped space
    follows them (and says which epoch), not the model at the end of the run."""
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()
    window.training_tab.timeline.slider.setValue(0)  # the weights before training
    assert window.timeline.scrubbed_epoch == 0
    end = {name: value.copy() for name, value in window.model.state_dict().items()}
    dialog = window.warped_space.open()
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Warped input space — epoch 0"
    # The same pictures as the function makes for a copy of the network at epoch 0.
    at_start = copy.deepcopy(window.model)
    at_start.load_state_dict(window.current_run.timeline.get(0).weights)
    dataset = window.dataset
    expected = warped_space(
        at_start, columns_for(at_start.config()), dataset.x_train, dataset.y_train
    )
    np.testing.assert_allclose(dialog.space.stages[1].points, expected.stages[1].points, atol=1e-6)
    # The live model keeps its trained weights (the end of the run).
    for name, value in window.model.state_dict().items():
        np.testing.assert_array_equal(value, end[name])
    assert not np.allclose(at_start.state_dict()["0.W"], end["0.W"])


def test_the_activation_and_landscape_views_follow_the_timeline_too(qtbot, window):
    """Opened with the timeline moved back, every view shows that epoch's network (and says
    so), as the diagram and the boundary do; the live model keeps the end of the run."""
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()
    window.training_tab.timeline.slider.setValue(0)
    start = window.current_run.timeline.get(0).weights
    end = window.model.state_dict()["0.W"].copy()
    activations = window.activations.open()
    qtbot.addWidget(activations)
    assert activations.windowTitle().endswith("— epoch 0")
    np.testing.assert_array_equal(activations.model.state_dict()["0.W"], start["0.W"])
    landscape = window.landscape.open()
    qtbot.addWidget(landscape)
    assert landscape.windowTitle().endswith("— epoch 0")
    np.testing.assert_array_equal(landscape.model.state_dict()["0.W"], start["0.W"])
    np.testing.assert_array_equal(window.model.state_dict()["0.W"], end)
    assert not np.allclose(start["0.W"], end)
