"""The dataset and the model built for it from the document's layers, without Qt: built once
per dataset, not under a running session, saved weights loaded or refused in words."""

import numpy as np
import pytest

from nnstudio.data import load_dataset
from nnstudio.engine.io import save_model
from nnstudio.project.document import ProjectDocument
from nnstudio.project.model_lifecycle import ModelLifecycle, model_size_problem
from nnstudio.project.project_data import DatasetSpec, Project, TrainingSettings

LAYERS = [{"type": "Dense", "units": 4, "activation": "relu"}, {"type": "Dense", "units": 2}]


@pytest.fixture(scope="module")
def spiral():
    return load_dataset("spiral", samples=60, seed=0)


def make(weights=None, loss="softmax_crossentropy"):
    document = ProjectDocument()
    project = Project(
        name="demo",
        dataset=DatasetSpec("spiral", {"samples": 60}),
        model={"layers": LAYERS},
        training=TrainingSettings(loss=loss),
        weights=weights,
    )
    document.load(project)
    training = {"busy": False}
    lifecycle = ModelLifecycle(document, lambda: training["busy"])
    heard = []
    for name in lifecycle.events.names():
        getattr(lifecycle.events, name).connect(lambda *args, n=name: heard.append((n, *args)))
    return document, lifecycle, training, heard


def arrive(document, lifecycle, dataset):
    with lifecycle.taking_dataset(dataset):
        document.dataset_arrived(DatasetSpec("spiral", {"samples": 60}))


def test_a_dataset_is_checked_against_and_built_for_once(spiral):
    document, lifecycle, _, heard = make()
    arrive(document, lifecycle, spiral)
    assert heard[0] == ("layers_to_check", (2,), 2, "classification", "softmax_crossentropy")
    assert [event[0] for event in heard].count("built") == 1
    assert lifecycle.model is not None and lifecycle.model.layers[-1].units == 2


def test_a_layer_edit_rebuilds_but_not_under_a_running_session(spiral):
    document, lifecycle, training, heard = make()
    arrive(document, lifecycle, spiral)
    first = lifecycle.model
    training["busy"] = True
    document.set_model({"layers": [{"type": "Dense", "units": 8}, {"type": "Dense", "units": 2}]})
    assert lifecycle.model is first and lifecycle.rebuild_pending
    training["busy"] = False
    lifecycle.rebuild()
    assert lifecycle.model.layers[0].units == 8 and not lifecycle.rebuild_pending


def test_a_loss_for_another_task_is_replaced_in_the_document():
    regression = load_dataset("gaussians-regression", samples=40, seed=0)
    document, lifecycle, _, heard = make()
    with lifecycle.taking_dataset(regression):
        pass
    assert document.training.loss == "mse"
    # Nothing is built: the opened project still awaits its own dataset.
    assert heard == [("layers_to_check", (2,), 1, "regression", "mse")]


def test_layers_that_cannot_be_built_are_a_message_and_no_model(spiral):
    document, lifecycle, _, heard = make()
    arrive(document, lifecycle, spiral)
    document.set_model({"layers": [{"type": "Dense", "units": 3}]})  # 3 outputs for 2 classes
    assert lifecycle.model is None
    assert heard[-1][0] == "build_failed" and "2" in heard[-1][1]


def test_saved_weights_go_into_the_first_model_or_are_refused_in_words(spiral, tmp_path):
    document, lifecycle, _, _ = make()
    arrive(document, lifecycle, spiral)
    path = tmp_path / "weights.nnz"
    save_model(path, lifecycle.model)
    saved = lifecycle.model.parameters()

    document, lifecycle, _, heard = make(weights=str(path))
    arrive(document, lifecycle, spiral)
    for name, value in lifecycle.model.parameters().items():
        np.testing.assert_array_equal(value, saved[name])
    assert document.weights_restored

    path.write_bytes(b"not a model")
    document, lifecycle, _, heard = make(weights=str(path))
    arrive(document, lifecycle, spiral)
    refused = [event for event in heard if event[0] == "weights_refused"]
    assert refused and "weights.nnz could not be used" in refused[0][1]
    assert lifecycle.model is not None and not document.weights_restored


def test_a_model_too_big_to_build_is_refused_before_it_is_allocated():
    problem = model_size_problem([{"type": "Dense", "units": 100_000}], (1_000,))
    assert problem.startswith("the model would have 100,100,000 parameters")
