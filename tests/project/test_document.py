"""The project document without Qt: modified, awaiting the dataset, pending weights, run state,
runs, and the events that tell the window about each."""

import subprocess
import sys
from pathlib import Path

import pytest

from nnstudio.project.document import DocumentEvents, ProjectDocument, RunState
from nnstudio.project.project_data import DatasetSpec, Project, TrainingSettings


def make_project(tmp_path=None, weights=None) -> Project:
    project = Project(
        name="demo",
        dataset=DatasetSpec("spiral", {"samples": 200}),
        model={"layers": [{"type": "Dense", "units": 3}]},
        training=TrainingSettings(batch_size=16, epochs=5),
        weights=weights,
    )
    if tmp_path is not None:
        project.path = tmp_path / "demo.nnsproj"
    return project


class Recorder:
    """Connects to every event of a document and keeps each one it sends, in order, as
    ``(name, *args)``."""

    def __init__(self, document):
        self.events = []
        for name in DocumentEvents.names():
            getattr(document.events, name).connect(self._keeper(name))

    def _keeper(self, name):
        return lambda *args: self.events.append((name, *args))

    def names(self):
        return [event[0] for event in self.events]

    def take(self):
        events, self.events = self.events, []
        return events


@pytest.fixture
def document():
    document = ProjectDocument()
    document.load(make_project())
    return document


@pytest.fixture
def events(document):
    return Recorder(document)


def with_training(document, **changes) -> dict:
    return {**vars(document.training), **changes}


def test_importing_the_document_loads_no_qt():
    code = (
        "import sys\n"
        "import nnstudio.project.document, nnstudio.project.runs\n"
        "print(sorted(n for n in sys.modules if n.startswith(('PySide6', 'shiboken6', "
        "'pyqtgraph', 'nnstudio.ui', 'nnstudio.training'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_an_empty_document_is_not_modified():
    document = ProjectDocument()
    assert not document.is_loaded and not document.is_modified()
    assert document.name == "untitled" and document.run_state == RunState.IDLE


def test_loading_a_project_announces_it_and_waits_for_its_dataset():
    document = ProjectDocument()
    events = Recorder(document)
    document.load(make_project(), Path("/somewhere/demo.nnsproj"))
    assert events.names() == ["runs_changed", "project_loaded", "file_changed"]
    assert document.awaiting_dataset and not document.is_modified()
    assert document.name == "demo" and document.path == Path("/somewhere/demo.nnsproj")
    assert document.training.batch_size == 16
    assert document.to_project().to_dict() == make_project().to_dict()


def test_editing_training_settings_makes_it_modified_and_setting_them_back_does_not(
    document, events
):
    saved = vars(document.training).copy()
    document.set_training(with_training(document, batch_size=64))
    assert document.is_modified() and document.training.batch_size == 64
    assert events.take() == [("training_changed",), ("modified", True)]
    document.set_training(with_training(document, learning_rate=0.5))
    assert events.take() == [("training_changed",)]  # "modified" only when it flips
    document.set_training(saved)
    assert not document.is_modified()
    assert events.take() == [("training_changed",), ("modified", False)]


def test_setting_the_same_value_sends_nothing(document, events):
    document.set_training(TrainingSettings(**vars(document.training)))
    document.set_model({"layers": [{"type": "Dense", "units": 3}]})
    document.set_dataset(DatasetSpec("spiral", {"samples": 200}))
    assert events.events == [] and not document.is_modified()


def test_model_and_dataset_edits_are_modifications(document, events):
    document.set_model({"layers": [{"type": "Dense", "units": 4}]})
    assert events.take() == [("model_changed",), ("modified", True)]
    document.set_model({"layers": [{"type": "Dense", "units": 3}]})
    document.set_dataset(DatasetSpec("moons", {}))
    assert events.take() == [
        ("model_changed",),
        ("modified", False),
        ("dataset_changed",),
        ("modified", True),
    ]


def test_the_document_keeps_its_own_copies(document):
    settings = with_training(document, batch_size=8)
    document.set_training(settings)
    settings["batch_size"] = 1
    project = document.to_project()
    project.model["layers"].clear()
    assert document.training.batch_size == 8 and document.model["layers"]


def test_what_views_hand_back_while_a_project_loads_is_part_of_the_saved_copy():
    """The dock and the builder fill in defaults when they show a project: that is not an
    edit, so the freshly opened project is not "modified"."""
    document = ProjectDocument()

    def normalise():
        document.set_model({"layers": [{"type": "Dense", "units": 3, "use_bias": True}]})

    document.events.project_loaded.connect(normalise)
    document.load(make_project())
    assert document.model["layers"][0]["use_bias"] is True
    assert not document.is_modified()


def test_the_projects_dataset_arriving_makes_it_saved_in_its_complete_form(document, events):
    complete = DatasetSpec("spiral", {"samples": 200, "noise": 0.1, "seed": 0})
    assert document.dataset_arrived(complete)
    assert not document.awaiting_dataset and not document.is_modified()
    assert document.dataset == complete
    assert ("dataset_changed",) in events.take()
    # Any later dataset is the user's choice: an edit.
    assert not document.dataset_arrived(DatasetSpec("moons", {"samples": 100}))
    assert document.is_modified()


def test_edits_made_before_the_dataset_arrives_are_kept_as_the_opened_state(document):
    document.set_training(with_training(document, epochs=7))
    document.dataset_arrived(DatasetSpec("spiral", {"samples": 200}))
    assert not document.is_modified()  # the dock's normal form while it loaded, not an edit


def test_a_failed_dataset_ends_the_wait_and_keeps_the_project_as_opened(document):
    document.dataset_failed()
    assert not document.awaiting_dataset and not document.is_modified()
    assert document.dataset == DatasetSpec("spiral", {"samples": 200})
    document.dataset_failed()  # a later failure changes nothing
    assert not document.is_modified()


def test_pending_weights_are_taken_once_the_dataset_arrives(tmp_path):
    document = ProjectDocument()
    document.load(make_project(tmp_path, weights="demo.nnz"), tmp_path / "demo.nnsproj")
    assert document.pending_weights == tmp_path / "demo.nnz"  # next to the project file
    assert document.take_pending_weights() is None  # the model for the old dataset: not yet
    assert document.pending_weights == tmp_path / "demo.nnz"
    document.dataset_arrived(DatasetSpec("spiral", {"samples": 200}))
    assert document.take_pending_weights() == tmp_path / "demo.nnz"
    assert document.take_pending_weights() is None and document.pending_weights is None
    assert not document.has_trained_weights()
    document.mark_weights_restored()
    assert document.has_trained_weights() and not document.is_modified()


def test_a_rebuilt_model_loses_the_restored_weights(tmp_path):
    document = ProjectDocument()
    document.load(make_project(tmp_path, weights="demo.nnz"))
    document.dataset_arrived(DatasetSpec("spiral", {}))
    document.take_pending_weights()
    document.mark_weights_restored()
    assert document.take_pending_weights() is None  # a second build: fresh weights
    assert not document.has_trained_weights()


def test_a_project_without_weights_has_none_pending(document):
    document.dataset_arrived(DatasetSpec("spiral", {}))
    assert document.take_pending_weights() is None


def test_trained_or_reset_weights_are_unsaved_work(document, events):
    document.dataset_arrived(DatasetSpec("spiral", {}))
    events.take()
    document.mark_weights_changed()
    assert document.is_modified() and events.take() == [("modified", True)]
    document.mark_saved(document.to_project(), "/tmp/demo.nnsproj")
    assert not document.is_modified() and not document.weights_dirty
    document.mark_weights_reset()
    assert document.is_modified() and not document.weights_restored


def test_saving_names_the_document_after_its_file(document, events):
    document.set_training(with_training(document, epochs=99))
    project = document.to_project()
    project.name, project.weights = "saved", "saved.nnz"
    document.mark_saved(project, Path("/data/saved.nnsproj"))
    assert events.take()[-2:] == [("file_changed",), ("modified", False)]
    assert document.name == "saved" and document.path == Path("/data/saved.nnsproj")
    assert document.to_project().weights == "saved.nnz"
    assert document.to_project().training.epochs == 99


def test_a_restored_autosave_stays_unsaved_after_its_dataset_arrives(document, events):
    document.mark_restored_autosave()
    assert document.path is None and document.is_modified()
    assert events.take() == [("file_changed",), ("modified", True)]
    document.dataset_arrived(DatasetSpec("spiral", {"samples": 200}))
    assert document.is_modified() and not document.restored_unsaved


def test_run_state_is_an_enum_that_reads_as_a_string(document, events):
    document.set_run_state("paused", "one batch at a time")
    assert document.run_state is RunState.PAUSED and document.run_state == "paused"
    assert document.run_detail == "one batch at a time" and str(document.run_state) == "paused"
    assert events.take() == [("run_state", RunState.PAUSED)]
    document.set_run_state(RunState.IDLE)
    assert document.run_detail == "" and events.take() == [("run_state", RunState.IDLE)]
    with pytest.raises(ValueError):
        document.set_run_state("running")


def test_a_run_records_its_settings_and_epochs(document, events):
    run = document.start_run("spiral")
    assert events.take() == [("runs_changed",), ("run_updated", run)]
    assert document.runs == [run] and document.current_run is run
    assert run.label == "Run 1" and run.status == "training"
    assert run.settings["batch_size"] == 16 and run.model_config == document.model
    assert not document.has_trained_weights()
    document.record_epochs([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}])
    assert events.take() == [("run_updated", run)]
    assert document.has_trained_weights()
    document.finish_run("completed")
    assert run.status == "completed" and len(run.history) == 2


def test_training_again_continues_the_run_until_the_weights_are_new(document):
    first = document.start_run("spiral")
    document.finish_run("completed", [{"epoch": 1, "loss": 0.3}])
    document.set_training(with_training(document, batch_size=64))
    assert document.start_run("spiral") is first  # continued, with the settings of now
    assert first.status == "training" and first.settings["batch_size"] == 64
    document.finish_run("stopped")
    document.forget_current_run()
    second = document.start_run("spiral")
    assert second is not first and [r.number for r in document.runs] == [1, 2]


def test_forgetting_the_current_run_says_so_once(document, events):
    document.start_run("spiral")
    document.finish_run("completed", [{"epoch": 1, "loss": 0.3}])
    events.take()
    document.forget_current_run()
    document.forget_current_run()  # nothing current any more: nothing to say
    assert document.current_run is None
    assert events.names() == ["current_run_forgotten"]


def test_clearing_finished_runs_keeps_the_current_one_and_never_reuses_a_number(document, events):
    first = document.start_run("spiral")
    document.finish_run("completed")
    document.forget_current_run()
    second = document.start_run("spiral")
    document.finish_run("completed")
    events.take()
    document.clear_finished_runs()
    assert document.runs == [second] and events.take() == [("runs_changed",)]
    document.forget_current_run()
    assert document.start_run("spiral").number == 3
    assert first not in document.runs


def test_recording_without_a_run_does_nothing(document, events):
    document.record_epochs([{"epoch": 1}])
    document.finish_run("completed")
    assert events.events == []


def test_restore_puts_a_half_loaded_document_back_exactly(tmp_path):
    """What a failed open relies on: a snapshot taken before ``load`` brings back every part,
    the path, the saved copy and the flags, and tells the views."""
    document = ProjectDocument()
    document.load(make_project(tmp_path), tmp_path / "demo.nnsproj")
    document.dataset_arrived(DatasetSpec("spiral", {"samples": 200}))
    run = document.start_run("spiral")
    document.set_training({**vars(document.training), "batch_size": 64})  # unsaved edit
    before = document.snapshot()
    form, modified = document.to_project().to_dict(), document.is_modified()
    other = make_project()
    other.model = {"layers": [{"type": "Dense", "units": 7}]}
    other.training.seed = 99
    document.load(other, tmp_path / "other.nnsproj")  # the open that then fails
    recorder = Recorder(document)
    document.restore(before)
    assert document.to_project().to_dict() == form
    assert document.path == tmp_path / "demo.nnsproj"
    assert document.is_modified() == modified is True
    assert not document.awaiting_dataset and document.current_run is run
    assert recorder.names()[:2] == ["restored", "file_changed"]
    assert ("modified", True) in recorder.events
    document.set_training({**vars(document.training), "batch_size": 16})  # edits still count
    assert document.training.batch_size == 16


def test_a_reopened_project_whose_run_resumes_is_not_modified():
    """Its weights load after the dataset arrives, and only then is its run current again:
    closing it straight away must not ask to save changes nobody made."""
    from nnstudio.project.runs import Run, run_to_dict

    project = make_project()
    run = Run(1, "spiral", project.model, {"batch_size": 16}, [{"epoch": 1, "loss": 0.5}])
    project.metadata["runs"] = [run_to_dict(run)]
    project.metadata["current_run"] = 1
    document = ProjectDocument()
    document.load(project)
    document.dataset_arrived(DatasetSpec("spiral", {"samples": 200}))
    assert not document.is_modified()
    resumed = document.resume_run()  # the weights are in: the run continues
    assert resumed is not None and resumed.number == 1
    assert not document.is_modified()
    assert document.to_project().metadata["current_run"] == 1


def test_loading_another_project_replaces_every_run(document, events):
    """New, Open, a preset, a lesson: one project at a time (issue 31). The runs of the old
    project leave with it, and the new one's first run is its Run 1."""
    document.start_run("mnist")
    document.finish_run("completed", [{"epoch": 1, "loss": 0.3}])
    document.forget_current_run()
    document.start_run("mnist")
    events.take()
    document.load(make_project())
    assert document.runs == [] and document.current_run is None
    assert document.resumable_run is None
    assert ("runs_changed",) in events.take()
    assert document.start_run("spiral").number == 1


def test_a_failed_open_brings_the_runs_back_and_says_so(document):
    run = document.start_run("spiral")
    before = document.snapshot()
    document.load(make_project())
    recorder = Recorder(document)
    document.restore(before)
    assert document.runs == [run] and document.current_run is run
    assert "runs_changed" in recorder.names()


def test_runs_of_another_file_come_only_when_imported_and_say_where_from(document, events):
    from nnstudio.project.runs import Run

    own = document.start_run("spiral")
    other = Run(1, "spiral", {"layers": []}, {"batch_size": 8}, [{"epoch": 1, "loss": 0.2}])
    events.take()
    added = document.import_runs([other], "other.nnsproj")
    assert document.runs == [own, *added] and added[0] is not other
    assert added[0].number == 2 and added[0].label == "Run 2 (other.nnsproj)"
    assert ("runs_changed",) in events.take()
    assert document.is_modified()  # the project now keeps them: unsaved work
    document.load(make_project())
    assert document.runs == []


def test_a_project_with_100000_runs_opens_with_the_latest_ones(tmp_path):
    """Issue 38: a 35 MB project of 100,000 runs (under the 64 MB limit) froze the window for
    a minute and took 1.9 GB; the latest MAX_SAVED_RUNS are kept."""
    import time

    from nnstudio.project.runs import MAX_SAVED_RUNS

    run = {"number": 0, "dataset": "spiral", "model": {}, "settings": {}, "status": "completed"}
    run["history"] = [{"epoch": 1, "loss": 0.5}]
    project = make_project()
    project.metadata["runs"] = [{**run, "number": n} for n in range(1, 100_001)]
    document = ProjectDocument()
    started = time.perf_counter()
    document.load(project)
    assert time.perf_counter() - started < 1.5
    assert len(document.runs) == MAX_SAVED_RUNS
    assert document.runs[-1].number == 100_000


# Each event with a change that sends it (after a load, whose own events are taken).
CHANGES = {
    "restored": lambda d: d.restore(d.snapshot()),
    "project_loaded": lambda d: d.load(make_project()),
    "file_changed": lambda d: d.mark_restored_autosave(),
    "training_changed": lambda d: d.set_training({**vars(d.training), "epochs": 7}),
    "dataset_changed": lambda d: d.set_dataset(DatasetSpec("moons", {})),
    "model_changed": lambda d: d.set_model({"layers": []}),
    "modified": lambda d: d.mark_weights_changed(),
    "run_state": lambda d: d.set_run_state(RunState.TRAINING),
    "runs_changed": lambda d: d.add_finished_run("spiral", {}, {}, [], "completed"),
    "run_updated": lambda d: d.start_run("spiral"),
    "current_run_forgotten": lambda d: (d.start_run("spiral"), d.forget_current_run()),
}


def test_every_event_has_a_change_that_sends_it():
    assert sorted(CHANGES) == sorted(DocumentEvents.names())


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_each_event_fires_on_its_change(document, name):
    received = []
    getattr(document.events, name).connect(lambda *args: received.append(args))
    CHANGES[name](document)
    assert received, f"{name} was not sent"


def test_a_misspelled_event_fails_where_it_is_connected(document):
    with pytest.raises(AttributeError, match="no event 'training_chnged'.*training_changed"):
        document.events.training_chnged.connect(print)


def test_a_disconnected_handler_hears_no_more(document):
    received = []

    def handler():
        received.append("model_changed")

    document.events.model_changed.connect(handler)
    document.set_model({"layers": []})
    document.events.model_changed.disconnect(handler)
    document.set_model({"layers": [{"type": "Dense", "units": 2}]})
    assert received == ["model_changed"]
