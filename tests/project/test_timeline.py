"""The run timeline (issue 19): snapshots of every epoch, the memory bound and its thinning,
files, and a branch from epoch k that repeats the original run exactly."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.engine.fit import FitConfig, fit
from nnstudio.engine.io import load_checkpoint, save_checkpoint
from nnstudio.engine.layers import Dense
from nnstudio.engine.losses import get_loss
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD, Adam
from nnstudio.project.document import ProjectDocument
from nnstudio.project.runs import Run, run_from_dict, run_to_dict
from nnstudio.project.timeline import (
    RunTimeline,
    Snapshot,
    TimelineRecorder,
    restore,
    snapshot_of,
    timelines_from_files,
    timelines_to_files,
)

SEED = 3


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x, y


def _model():
    return Sequential([Dense(12, activation="relu"), Dense(2)], input_shape=(2,), seed=SEED)


def _train(model, optimizer, epochs, initial_epoch=0, history=None, recorder=None):
    x, y = _data()
    config = FitConfig(epochs=epochs, batch_size=16, seed=SEED, validation_split=0.2)
    callbacks = [recorder] if recorder is not None else []
    return fit(
        model,
        get_loss("softmax_crossentropy"),
        optimizer,
        x,
        y,
        config,
        callbacks=callbacks,
        initial_epoch=initial_epoch,
        history=history,
    )


def _snapshot(epoch, size=100):
    """A snapshot of ``size`` float32 weights (4 bytes each)."""
    return Snapshot(epoch, {"0.W": np.full(size, epoch, np.float32)}, {}, seed=1)


def test_recorder_keeps_every_epoch_and_the_start_as_copies():
    model, optimizer = _model(), Adam(lr=0.01)
    start = model.state_dict()
    recorder = TimelineRecorder(model, optimizer, SEED)
    _train(model, optimizer, 6, recorder=recorder)
    timeline = recorder.timeline
    assert timeline.epochs() == list(range(7))
    for name, value in start.items():
        assert np.array_equal(timeline.get(0).weights[name], value)
    for name, value in model.state_dict().items():  # the last epoch is the model as it is
        assert np.array_equal(timeline.get(6).weights[name], value)
    assert timeline.get(6).optimizer["iterations"] == optimizer.iterations
    assert "m.0.W" in timeline.get(6).optimizer  # Adam's moments travel with the snapshot
    assert not timeline.thinned and timeline.spacing_note() == ""


def test_branch_from_epoch_k_repeats_the_original_run_exactly():
    model, optimizer = _model(), Adam(lr=0.02)
    recorder = TimelineRecorder(model, optimizer, SEED)
    original = _train(model, optimizer, 10, recorder=recorder)
    k = 4
    branch_model, branch_optimizer = _model(), Adam(lr=0.02)
    branch_model.reset_parameters(99)  # other weights: all must come from the snapshot
    assert restore(recorder.timeline.get(k), branch_model, branch_optimizer)
    branched = _train(branch_model, branch_optimizer, 10, k, original.history[:k])
    for before, after in zip(original.history[k:], branched.history[k:], strict=True):
        assert after["epoch"] == before["epoch"]
        assert after["loss"] == before["loss"]  # exactly: same shuffles, same moments
        assert after["val_loss"] == before["val_loss"]
    for name, value in model.state_dict().items():
        assert np.array_equal(branch_model.state_dict()[name], value)


def test_a_branch_with_new_settings_keeps_them_and_the_state():
    model, optimizer = _model(), Adam(lr=0.02)
    recorder = TimelineRecorder(model, optimizer, SEED)
    _train(model, optimizer, 3, recorder=recorder)
    changed = Adam(lr=0.5, beta1=0.5)
    assert restore(recorder.timeline.get(2), _model(), changed)
    assert changed.lr == changed.base_lr == 0.5 and changed.beta1 == 0.5
    assert changed.iterations == recorder.timeline.get(2).optimizer["iterations"]
    other = SGD(lr=0.1)
    assert not restore(recorder.timeline.get(2), _model(), other)  # another kind: fresh
    assert other.iterations == 0


def test_memory_stays_under_the_bound_on_a_200_epoch_run_with_log_spacing():
    size = 400 * 4  # bytes a snapshot
    timeline = RunTimeline(max_bytes=40 * size)
    for epoch in range(201):
        timeline.add(_snapshot(epoch, 400))
        assert timeline.nbytes <= timeline.max_bytes
    epochs = timeline.epochs()
    assert len(epochs) == 40 and timeline.thinned
    assert epochs[0] == 0 and epochs[-1] == 200  # the start and the newest always stay
    gaps = np.diff(epochs)
    assert gaps[-1] == 1 and gaps[0] > 8  # dense near the newest, sparse long ago
    # Logarithmic spacing: the gaps grow going back in time, in few doublings.
    assert np.all(np.diff(gaps) <= 0)
    assert len(set(gaps.tolist())) <= 6
    assert "thinned" in timeline.spacing_note() and "40 of 201" in timeline.spacing_note()
    assert timeline.nearest(101).epoch in epochs


def test_a_200_epoch_run_stays_under_a_small_bound():
    model, optimizer = _model(), Adam(lr=0.01)
    one = snapshot_of(0, model, Adam(lr=0.01), SEED).nbytes  # no moments yet
    bound = 30 * 3 * one  # thirty snapshots with Adam's two moments
    recorder = TimelineRecorder(model, optimizer, SEED, RunTimeline(max_bytes=bound))
    sizes = []
    recorder.timeline.add = _watching(recorder.timeline, sizes)
    _train(model, optimizer, 200, recorder=recorder)
    timeline = recorder.timeline
    assert max(sizes) <= bound and timeline.thinned
    assert timeline.first == 0 and timeline.last == 200 and 25 <= len(timeline) <= 31
    assert timeline.epochs()[-5:] == [196, 197, 198, 199, 200]  # recent epochs all kept
    for name, value in model.state_dict().items():
        assert np.array_equal(timeline.get(200).weights[name], value)


def _watching(timeline, sizes):
    """``timeline.add`` that also notes the bytes kept after each snapshot."""
    add = timeline.add

    def watched(snapshot, **kwargs):
        add(snapshot, **kwargs)
        sizes.append(timeline.nbytes)

    return watched


def test_the_reporter_hands_over_a_copy_at_the_start_and_every_epoch_end():
    from nnstudio.training.reporting import TrainingReporter

    class Data:
        input_shape = (2,)
        x_train, x_val, x_test = _data()[0], None, None

    model, optimizer = _model(), Adam(lr=0.01)
    copies: list[dict] = []
    reporter = TrainingReporter(
        model,
        get_loss("softmax_crossentropy"),
        Data(),
        progress=lambda _p: None,
        epochs=lambda _p: None,
        snapshot=lambda _p: None,
        timeline=copies.append,
        optimizer=optimizer,
        seed=SEED,
    )
    reporter.start(0)
    _train(model, optimizer, 3, recorder=reporter)
    assert [c["epoch"] for c in copies] == [0, 1, 2, 3]
    assert all(c["seed"] == SEED for c in copies)
    assert copies[-1]["optimizer"]["iterations"] == optimizer.iterations
    assert copies[-1]["weights"]["0.W"] is not model.parameters()["0.W"]
    assert np.array_equal(copies[-1]["weights"]["0.W"], model.parameters()["0.W"])
    assert not np.array_equal(copies[0]["weights"]["0.W"], copies[-1]["weights"]["0.W"])


def test_memory_bound_counts_the_optimizer_state():
    snapshot = Snapshot(1, {"w": np.zeros(10, np.float32)}, {"m.w": np.zeros(10, np.float32)})
    assert snapshot.nbytes == 80
    timeline = RunTimeline(max_bytes=200)
    for epoch in range(5):
        timeline.add(Snapshot(epoch, dict(snapshot.weights), dict(snapshot.optimizer)))
    assert timeline.nbytes <= 200 and len(timeline) == 2


def test_snapshot_of_copies_the_live_state():
    model, optimizer = _model(), Adam()
    snapshot = snapshot_of(0, model, optimizer, SEED)
    model.parameters()["0.W"][...] = 7.0
    assert not np.any(snapshot.weights["0.W"] == 7.0)


def test_timelines_go_through_a_checkpoint_and_old_checkpoints_still_load(tmp_path):
    model, optimizer = _model(), Adam(lr=0.01)
    recorder = TimelineRecorder(model, optimizer, SEED)
    result = _train(model, optimizer, 5, recorder=recorder)
    old = tmp_path / "old.nnz"
    save_checkpoint(old, model, optimizer, epoch=5, history=result.history)
    assert load_checkpoint(old).timeline is None  # files from before the timeline

    path = tmp_path / "with-timeline.nnz"
    files = timelines_to_files({1: recorder.timeline, 3: recorder.timeline.copy_until(2)})
    save_checkpoint(path, model, optimizer, epoch=5, history=result.history, timeline=files)
    checkpoint = load_checkpoint(path)
    timelines = timelines_from_files(*checkpoint.timeline)
    assert sorted(timelines) == [1, 3] and timelines[3].epochs() == [2]
    back = timelines[1]
    assert back.epochs() == recorder.timeline.epochs()
    for epoch in back.epochs():
        stored, kept = back.get(epoch), recorder.timeline.get(epoch)
        assert stored.seed == SEED
        for name, value in kept.weights.items():
            assert np.array_equal(stored.weights[name], value)
        for name, value in kept.optimizer_arrays().items():
            assert np.array_equal(stored.optimizer[name], value)
        assert stored.optimizer["iterations"] == kept.optimizer["iterations"]


def test_a_damaged_timeline_does_not_lose_the_checkpoint(tmp_path):
    import zipfile

    model, optimizer = _model(), Adam()
    path = tmp_path / "damaged.nnz"
    save_checkpoint(path, model, optimizer, epoch=1, timeline=({"runs": []}, {}))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["timeline.npz"] = b"not an npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    checkpoint = load_checkpoint(path)
    assert checkpoint.model is not None and checkpoint.timeline is None
    assert checkpoint.timeline_problem
    with pytest.raises(ValueError, match="no list of snapshots"):
        RunTimeline.from_files({"snapshots": "x"}, {})


def test_document_branches_a_run_and_keeps_the_parent_untouched():
    document = ProjectDocument()
    parent = Run(1, "spiral", {"layers": []}, {}, [{"epoch": e, "loss": 1 / e} for e in (1, 2, 3)])
    parent.timeline = RunTimeline()
    for epoch in range(4):
        parent.timeline.add(_snapshot(epoch))
    document.runs = [parent]
    document._runs_started = 1
    branch = document.branch_run(parent, 2)
    assert document.current_run is branch and branch.number == 2
    assert branch.history == parent.history[:2] and len(parent.history) == 3
    assert branch.timeline.epochs() == [2] and parent.timeline.epochs() == [0, 1, 2, 3]
    assert branch.branched_from == {"run": 1, "epoch": 2} and branch.branch_epoch == 2
    assert document.timelines() == {1: parent.timeline, 2: branch.timeline}
    again = run_from_dict(run_to_dict(branch))  # the project file keeps where it came from
    assert again.branched_from == {"run": 1, "epoch": 2}


# -- files the size of their work (issue 31) ------------------------------------------------------


def _recorded_run(epochs, exact_bytes):
    """A run whose timeline keeps few exact snapshots, and every epoch's exact weights (by
    epoch) recorded beside it to compare with."""
    from nnstudio.project.project_data import Project, TrainingSettings

    model = _model()
    project = Project(training=TrainingSettings(learning_rate=0.02, batch_size=16, seed=SEED))
    project.training.validation_split = 0.2
    optimizer = project.make_optimizer()
    timeline = RunTimeline(exact_bytes=exact_bytes)
    recorder = TimelineRecorder(model, optimizer, SEED, timeline, vars(project.training))
    exact = {}

    class Both:  # the recorder, and every epoch's exact weights beside it
        def on_train_begin(self, info):
            recorder.on_train_begin(info)
            exact[0] = model.state_dict()

        def on_epoch_end(self, info):
            recorder.on_epoch_end(info)
            exact[info["epoch"]] = model.state_dict()

    result = _train(model, optimizer, epochs, recorder=Both())
    x, y = _data()
    return project, model, timeline, result.history, exact, (x, y)


def _same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_only_a_few_snapshots_are_exact_and_the_others_are_compact():
    _, _, timeline, _, _, _ = _recorded_run(24, exact_bytes=4_000)
    exact = [e for e in timeline.epochs() if timeline.get(e).exact]
    assert timeline.epochs() == list(range(25))  # every epoch still scrubs
    assert 0 in exact and 2 <= len(exact) <= 6  # the start and a doubling spacing
    assert all(e % timeline.exact_every == 0 for e in exact)
    view = timeline.get(next(e for e in timeline.epochs() if e not in exact))
    assert view.weights["0.W"].dtype == np.float16 and not view.optimizer


class _Dataset:
    """The bits of a Dataset that Project.fit reads."""

    def __init__(self, x, y):
        self.x_train, self.y_train, self.validation_data, self.is_image = x, y, None, False


def test_branching_from_any_epoch_replays_the_original_run_bit_for_bit():
    from nnstudio.project.replay import exact_state

    project, model, timeline, history, exact, (x, y) = _recorded_run(16, exact_bytes=4_000)
    assert sum(timeline.get(e).exact for e in timeline.epochs()) < 8
    for epoch in range(17):
        snapshot = exact_state(timeline, epoch, _model(), _Dataset(x, y), project, history)
        assert snapshot.exact and _same_weights(snapshot.weights, exact[epoch]), epoch
    # ... and the run branched from there goes on exactly as the original did.
    branch_model, branch_optimizer = _model(), project.make_optimizer()
    restore(
        exact_state(timeline, 5, _model(), _Dataset(x, y), project, history),
        branch_model,
        branch_optimizer,
    )
    branched = _train(branch_model, branch_optimizer, 16, 5, history[:5])
    assert [e["loss"] for e in branched.history[5:]] == [e["loss"] for e in history[5:]]
    assert _same_weights(branch_model.state_dict(), model.state_dict())


def test_a_file_keeps_the_anchors_and_thins_views_to_its_budget(tmp_path):
    _, model, timeline, _, _, _ = _recorded_run(40, exact_bytes=4_000)
    view_bytes = timeline.get(1).for_views().nbytes
    budget = 3 * timeline.get(0).nbytes + 10 * view_bytes
    meta, arrays = timelines_to_files({1: timeline}, compact=False)
    back = timelines_from_files(meta, arrays)[1]
    assert back.epochs() == timeline.epochs() and back.anchors == {0}
    small = RunTimeline.from_files(*timeline.to_files(max_bytes=budget))
    assert small.nbytes <= budget and small.thinned
    assert "saved file" in small.spacing_note()
    assert small.get(0).exact and small.last == 40


def test_a_200_epoch_first_launch_run_fits_in_under_3_mb(tmp_path):
    """The first-launch network (2-64-64-64-3, Adam) for 200 epochs: its timeline in the
    project's model file stays small (it was 22 MB with every epoch exact)."""
    from nnstudio.project.presets import load_preset

    project = load_preset("spiral-mlp")
    model = project.build_model()
    optimizer = project.make_optimizer()
    rng = np.random.default_rng(0)
    timeline = RunTimeline()
    for epoch in range(201):
        for value in model.parameters().values():
            value += rng.standard_normal(value.shape).astype(value.dtype) * 0.01
        optimizer.step(model.parameters(), {k: v * 0.1 for k, v in model.parameters().items()})
        timeline.add(snapshot_of(epoch, model, optimizer, SEED), anchor=epoch == 0)
    assert timeline.epochs() == list(range(201))  # in memory: every epoch scrubs
    path = tmp_path / "spiral.nnz"
    meta, arrays = timelines_to_files({1: timeline})
    save_checkpoint(path, model, optimizer, epoch=200, timeline=(meta, arrays))
    assert path.stat().st_size < 3_000_000
    back = timelines_from_files(*load_checkpoint(path).timeline)[1]
    assert back.get(0).exact and back.last == 200 and len(back) > 60


def test_a_hand_edited_timeline_with_odd_anchors_still_loads():
    timeline = RunTimeline()
    timeline.add(_snapshot(0), anchor=True)
    timeline.add(_snapshot(1))
    meta, arrays = timeline.to_files()
    meta.update(anchors=[[1], "x", 0, 7], exact_every="two")
    back = RunTimeline.from_files(meta, arrays)
    assert back.anchors == {0} and back.exact_every == 1


def test_settings_of_another_version_are_read_as_far_as_known():
    from nnstudio.project.project_data import TrainingSettings
    from nnstudio.project.replay import training_settings

    settings = training_settings({"batch_size": 8, "from_the_future": 1}, TrainingSettings())
    assert settings.batch_size == 8 and settings.epochs == TrainingSettings().epochs


def test_the_timelines_bookkeeping_matches_its_snapshots_through_anchors_thinning_and_cuts():
    """The byte count and the exact epochs are kept as snapshots come and go (summing every
    snapshot at every epoch cost the window 2.3 ms an epoch at epoch 3,000)."""
    timeline = RunTimeline(max_bytes=60_000, exact_bytes=12_000)
    optimizer = {"type": "Adam", "m.0.W": np.zeros(100, np.float32)}
    for epoch in range(400):
        weights = {"0.W": np.full(100, epoch, np.float32)}
        timeline.add(Snapshot(epoch, weights, dict(optimizer), seed=1), anchor=epoch in (0, 250))
        if epoch == 300:
            timeline.truncate_after(280)
        kept = [timeline.get(e) for e in timeline.epochs()]
        assert timeline.nbytes == sum(s.nbytes for s in kept)
        exact = [s.epoch for s in kept if s.exact]
        for probe in (0, epoch // 2, epoch):
            expected = max((e for e in exact if e <= probe), default=None)
            found = timeline.exact_before(probe)
            assert (found.epoch if found else None) == expected
    assert timeline.thinned and timeline.exact_every > 1
    assert {0, 250} <= set(timeline.epochs()) and timeline.get(250).exact
