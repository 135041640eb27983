"""The per-neuron maps in the window (issue 35): after training the diagram shows the trained
network; at a timeline epoch its maps and an open unit's dialog are that epoch's network."""

from __future__ import annotations

import numpy as np

from nnstudio.project.neuron_maps import NeuronProbe


def test_the_maps_and_the_unit_dialog_follow_the_timeline_epoch(qtbot, window):
    window.show()
    window.hyperparameters.epochs_box.setValue(3)
    with qtbot.waitSignal(window.training_finished, timeout=60_000):
        window.actionTrain.trigger()
    window.tabs.setCurrentWidget(window.builder)
    diagram = window.builder.diagram
    assert diagram.shows_plane  # the first-launch spiral: a 2-D input
    # It trained on the Training tab: the Model tab shows the trained network at once.
    trained = window.model.parameters()
    assert all(np.array_equal(diagram.weights[name], trained[name]) for name in trained)
    assert len(diagram._thumbs) == sum(c.neurons for c in diagram.columns[1:])
    dialog = window.builder.open_neuron(1, 0)
    at_end = diagram.neuron_picture(1, 0).copy()
    dialog_at_end = dialog.values.copy()

    window.training_tab.timeline.slider.setValue(0)  # the run's start
    stored = window.current_run.timeline.get(0).weights
    probe = NeuronProbe(window.model.config())
    probe.load(stored)
    expected = probe.neuron_maps(diagram.columns, diagram.extent, 24)[(1, 0)]
    np.testing.assert_allclose(diagram.neuron_picture(1, 0, size=24), expected, atol=1e-6)
    assert not np.allclose(diagram.neuron_picture(1, 0), at_end)
    assert not np.allclose(dialog.values, dialog_at_end)  # the dialog shows epoch 0 too

    window.training_tab.timeline.slider.setValue(3)  # back to the end
    np.testing.assert_allclose(diagram.neuron_picture(1, 0), at_end, atol=1e-6)
    np.testing.assert_allclose(dialog.values, dialog_at_end, atol=1e-6)
