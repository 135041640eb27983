"""Training → Feature maps…: an image model's filters and one sample's conv maps, the engine's
own, kept live while a run trains (at a bounded rate) and drawn at a timeline epoch."""

import json
import time

import numpy as np
import pytest

from nnstudio.project.feature_maps import RateLimit


def conv_project(tmp_path, samples=60):
    """An .nnsproj on a tiny 12×12 image set (an .npz) with two Conv2D layers."""
    rng = np.random.default_rng(0)
    x = rng.random((samples, 1, 12, 12), dtype=np.float32)
    y = np.arange(samples) % 3
    np.savez(tmp_path / "pictures.npz", X=x, y=y)
    layers = [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Conv2D", "filters": 6, "kernel_size": 3, "activation": "relu"},
        {"type": "Flatten"},
        {"type": "Dense", "units": 3},
    ]
    project = {
        "format": "nnstudio-project",
        "version": 1,
        "name": "tiny-pictures",
        "dataset": {"name": f"npz:{tmp_path / 'pictures.npz'}", "options": {}},
        "model": {"layers": layers},
        "training": {"loss": "softmax_crossentropy", "optimizer": "adam", "batch_size": 4},
    }
    path = tmp_path / "tiny-pictures.nnsproj"
    path.write_text(json.dumps(project))
    return path


@pytest.fixture
def conv_window(make_window, tmp_path, ready):
    window = make_window()
    assert window.files.open_project(conv_project(tmp_path))
    ready(window, name=f"npz:{tmp_path / 'pictures.npz'}")
    return window


def _engine_maps(model, sample):
    """Each Conv2D layer's output for one sample, by the engine's forward pass."""
    x, found = sample[None], []
    for layer in model.layers[:3]:
        x = layer.forward(x, False)
        found.append(x[0])
    return found[0], found[2]


def test_the_maps_are_the_engines_and_follow_the_sample_picker(qtbot, conv_window):
    window = conv_window
    window.training_menu.aboutToShow.emit()
    assert window.actionFeatureMaps.shortcut().toString() == "Ctrl+Shift+M"
    window.actionFeatureMaps.trigger()
    dialog = window.feature_maps.dialog
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    dialog.sample_box.setValue(5)
    first, second = _engine_maps(window.model, window.dataset.x_train[5])
    np.testing.assert_allclose(dialog.shown.layers[0].maps, first, rtol=1e-5)
    np.testing.assert_allclose(dialog.shown.layers[1].maps, second, rtol=1e-5)
    np.testing.assert_array_equal(dialog.shown.filters, window.model.parameters()["0.W"])
    assert dialog.sample_label.text().startswith("Training sample 5: ")
    assert not dialog.filters_picture.pixmap().isNull()
    assert "Layer 2 Conv2D (6 filters" in dialog.map_pictures[1][0].title()


def test_the_view_updates_while_training_and_shows_the_final_weights(qtbot, conv_window):
    window = conv_window
    dialog = window.feature_maps.open()
    qtbot.addWidget(dialog)
    start = dialog.shown.filters.copy()
    dialog.limit = RateLimit(20.0)  # more updates in a short test; the real rate is 2 a second
    window.hyperparameters.epochs_box.setValue(500)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: dialog.updates >= 3, timeout=20_000)
    assert window.session is not None  # updated while the run trains, not only at its end
    assert not np.array_equal(dialog.shown.filters, start)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionStop.trigger()
    np.testing.assert_array_equal(dialog.shown.filters, window.model.parameters()["0.W"])
    first, _ = _engine_maps(window.model, window.dataset.x_train[0])
    np.testing.assert_allclose(dialog.shown.layers[0].maps, first, rtol=1e-5)


def test_while_a_run_trains_the_view_updates_at_most_twice_a_second(qtbot, conv_window):
    """Every weights snapshot reaches the view (five a second); only the rate-limited ones are
    drawn, in a second run too."""
    window = conv_window
    dialog = window.feature_maps.open()
    qtbot.addWidget(dialog)
    window.hyperparameters.epochs_box.setValue(2)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()  # a run before: the timeline has epochs to follow
    window.actionReset.trigger()
    window.tabs.setCurrentWidget(window.training_tab)  # the timeline slider on screen
    window.hyperparameters.epochs_box.setValue(500)
    started, before = time.perf_counter(), dialog.updates
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.document.current_run.history) >= 20, timeout=20_000)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionStop.trigger()
    seconds = time.perf_counter() - started
    assert 1 <= dialog.updates - before <= 2 * seconds + 2  # the first, 2 a second, the last


def test_a_hidden_view_takes_no_update(qtbot, conv_window):
    dialog = conv_window.feature_maps.open()
    qtbot.addWidget(dialog)
    weights = conv_window.model.state_dict()
    assert dialog.offer_weights(weights)
    dialog.limit = RateLimit(1000.0)
    dialog.hide()
    assert not dialog.offer_weights(weights)
    dialog.close()


def test_a_timeline_epoch_shows_that_epochs_filters(qtbot, conv_window):
    window = conv_window
    window.hyperparameters.epochs_box.setValue(3)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    dialog = window.feature_maps.open()
    qtbot.addWidget(dialog)
    window.training_tab.timeline.slider.setValue(0)
    kept = window.document.current_run.timeline.get(0).weights
    np.testing.assert_array_equal(dialog.shown.filters, kept["0.W"])
    assert not np.array_equal(dialog.shown.filters, window.model.parameters()["0.W"])
    window.training_tab.timeline.slider.setValue(3)  # back at the end: the model's own
    np.testing.assert_array_equal(dialog.shown.filters, window.model.parameters()["0.W"])


def test_a_network_without_a_convolution_gets_a_message_not_a_dialog(window):
    assert window.feature_maps.open() is None
    assert "no Conv2D layer" in window.message_bar.text()


def test_maps_opened_before_the_training_tab_is_made_follow_its_timeline(qtbot, conv_window):
    """The Training tab (and its timeline slider) is made by the first run: the maps opened
    before still take the run's snapshots and then the slider's epochs."""
    window = conv_window
    assert window.built_page("training") is None
    dialog = window.feature_maps.open()
    qtbot.addWidget(dialog)
    start = dialog.shown.filters.copy()
    window.hyperparameters.epochs_box.setValue(3)
    with qtbot.waitSignal(window.training_finished, timeout=20_000):
        window.actionTrain.trigger()
    assert not np.array_equal(dialog.shown.filters, start)
    slider = window.built_page("training").timeline.slider
    assert slider.maximum() == 3  # the run's epochs, kept while the page did not exist
    slider.setValue(0)
    kept = window.document.current_run.timeline.get(0).weights
    np.testing.assert_array_equal(dialog.shown.filters, kept["0.W"])
