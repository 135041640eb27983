"""``nnstudio train``: the project (file, preset or options) through the engine's fit loop.

The same `Project` helpers as the window build the dataset, model, loss, optimizer and fit
configuration, so a run on the command line and a run in the window are the same training.
Which project the options describe is train_options.py's part; this module runs it, reports
progress, handles Ctrl+C and SIGTERM and writes the files.

Files are written only when the model holds at least one finished epoch: Ctrl+C a second into
a run never replaces a good model, checkpoint or history with a barely trained one. Every
output path is checked before training starts, so a read-only folder fails in a second rather
than after the last epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nnstudio.atomic_file import SaveTargetError, check_writable, write_atomically
from nnstudio.cli.train_options import TrainUsageError, project_from_args
from nnstudio.cli.train_progress import EPOCH_KEYS, JsonProgress, TextProgress, epoch_record
from nnstudio.engine.io import json_plain
from nnstudio.project import Project, finish_project, save_project

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130


# -- Ctrl+C and SIGTERM -------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """Ctrl+C or SIGTERM before training started, or a second one during it: quit unsaved."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class InterruptHandler:
    """SIGINT (Ctrl+C) and SIGTERM alike, so `kill` and a closing terminal save like Ctrl+C.

    Before training (loading the data) there is nothing to save: quit at once. During training
    the first one asks the fit loop to stop after the current batch and a second one quits at
    once; while saving, further ones wait so that the save completes.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, progress):
        self.progress = progress
        self.control = None  # set by training(): until then a signal quits at once
        self.signum: int | None = None
        self.saving = False
        self.previous: dict[int, Any] = {}

    @property
    def interrupted(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal, as a shell reports it: 130 for Ctrl+C, 143 for SIGTERM."""
        return 128 + (self.signum or signal.SIGINT)

    def training(self, control) -> None:
        self.control = control

    def __call__(self, signum, frame) -> None:
        if self.saving:
            self.signum = self.signum or signum
            return
        if self.control is None or self.interrupted:
            self.signum = self.signum or signum
            raise Interrupted(signum)
        self.signum = signum
        self.control.stop()
        self._note("nnstudio: stopping after this batch (Ctrl+C again to quit without saving)")

    def _note(self, message: str) -> None:
        # A handler runs between two bytecodes, possibly inside a write to stderr.
        with contextlib.suppress(RuntimeError):
            self.progress.note(message)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, self)
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous.clear()


# -- files --------------------------------------------------------------------------------------


def history_path(model_path: str | os.PathLike) -> Path:
    """model.nnz → model-history.csv in the same folder."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}-history.csv")


def write_history_csv(path: Path, history: list[dict[str, Any]]) -> None:
    """The per-epoch history as CSV, written atomically like the model."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EPOCH_KEYS)
    for info in history:
        record = epoch_record(info)
        writer.writerow("" if record[k] is None else record[k] for k in EPOCH_KEYS)
    write_atomically(path, buffer.getvalue())


def _check_writable(path: str | os.PathLike | None, what: str) -> None:
    """Fail before training, not after an hour of it, when an output cannot be written."""
    if not path:
        return
    try:
        check_writable(path)
    except SaveTargetError as error:
        raise TrainUsageError(f"{what}: {error}") from None


def check_outputs(args: argparse.Namespace) -> None:
    """Every file the run will write: --out and its history, --checkpoint, --save-project."""
    _check_writable(args.out, "--out")
    if args.out:
        _check_writable(history_path(args.out), "--out (its history)")
    _check_writable(args.checkpoint, "--checkpoint")
    _check_writable(args.save_project, "--save-project")


@contextlib.contextmanager
def _held_outputs(args: argparse.Namespace):
    """--out and --checkpoint, checked, then held for this run: a second `train` writing the
    same file is refused (else one run's model could end up beside the other's checkpoint)."""
    from nnstudio.atomic_file import exclusive_output

    check_outputs(args)
    with contextlib.ExitStack() as stack:
        for option, path in (("--out", args.out), ("--checkpoint", args.checkpoint)):
            if path:
                stack.enter_context(exclusive_output(path, option))
        yield


# -- the run ------------------------------------------------------------------------------------


def _test_metrics(model, loss, dataset) -> dict[str, Any]:
    if not len(dataset.x_test):
        return {}
    from nnstudio.engine.metrics import evaluate

    report = evaluate(model, loss, dataset.x_test, dataset.y_test)
    keys = (
        ("loss", "accuracy")
        if dataset.task == "classification"
        else ("loss", "mse", "rmse", "mae", "r2")
    )
    return {f"test_{key}": json_plain(report.get(key)) for key in keys}


def _refuse_unusable_weights(model, dataset, result) -> None:
    """Finite weights can still give NaN (a blow-up in the very last update, seen by no loss
    and no validation): such a model must not replace anything."""
    import numpy as np

    if not result.history:
        return  # nothing will be saved anyway
    with np.errstate(all="ignore"):  # the overflow is what is reported
        outputs = model.predict(dataset.x_train[:256])
    if not np.isfinite(outputs).all():
        raise TrainUsageError(
            "the trained weights give NaN or infinite outputs (the last updates blew up), so "
            "nothing was saved; train again with a smaller learning rate"
        )


def _prepare_model(project: Project, dataset, args):
    """(model, optimizer, initial_epoch, history, timeline): fresh, or from --resume (and
    --from-epoch)."""
    model = project.build_model(dataset)
    if getattr(args, "from_epoch", None) is not None and not args.resume:
        raise TrainUsageError("--from-epoch needs --resume CHECKPOINT (the run to branch from)")
    if not args.resume:
        return model, project.make_optimizer(), 0, None, None
    from nnstudio.engine.io import load_checkpoint

    checkpoint = load_checkpoint(args.resume)
    restored = checkpoint.model
    same_input = tuple(restored.input_shape) == tuple(model.input_shape)
    if not same_input or restored.config()["layers"] != model.config()["layers"]:
        raise TrainUsageError(
            f"--resume {args.resume}: the checkpoint's model differs from this project's; "
            "resume with the same project or --layers"
        )
    from nnstudio.project.timeline import checkpoint_timeline

    timeline = checkpoint_timeline(checkpoint)
    if getattr(args, "from_epoch", None) is not None:
        return _branch(project, dataset, args, checkpoint, timeline)
    optimizer = _resumed_optimizer(project, checkpoint.optimizer, args)
    history = list(checkpoint.history or [])
    return restored, optimizer, int(checkpoint.epoch), history, timeline


def _branch(project: Project, dataset, args, checkpoint, timeline):
    """--from-epoch K: the checkpoint's state at epoch K (kept, or replayed from the exact
    snapshot before it), its optimizer state carried into the project's optimizer (with the
    options given now), and the history up to K."""
    from nnstudio.project.replay import exact_state
    from nnstudio.project.timeline import restore

    k, where = args.from_epoch, f"--from-epoch {args.from_epoch}"
    if timeline is None or not len(timeline):
        raise TrainUsageError(
            f"{where}: {args.resume} holds no timeline of past epochs (saved without one); "
            "--resume alone continues from its last epoch"
        )
    history = list(checkpoint.history or [])
    if not timeline.first <= k <= min(timeline.last, len(history)):  # else replayed if need be
        kept = timeline.epochs()
        near = sorted({timeline.nearest(k).epoch, kept[min(len(kept) - 1, _after(kept, k))]})
        raise TrainUsageError(
            f"{where}: {args.resume}'s timeline has no epoch {k} (it keeps epochs "
            f"{kept[0]}..{kept[-1]}{', older ones thinned' if timeline.thinned else ''}); "
            f"nearest kept: {' or '.join(map(str, near))}"
        )
    model, optimizer = checkpoint.model, project.make_optimizer()
    optimizer.lr = float(project.training.learning_rate)
    try:
        snapshot = exact_state(timeline, k, model, dataset, project, history)
    except ValueError as error:  # ReplayError: no exact state before it
        raise TrainUsageError(f"{where}: {error}") from None
    if not restore(snapshot, model, optimizer) and snapshot.optimizer:
        _note(f"nnstudio: {where}: {optimizer.label} starts with a fresh optimizer state")
    timeline.truncate_after(k)
    return model, optimizer, k, history[:k], timeline


def _after(epochs: list[int], k: int) -> int:
    """The index of the first kept epoch after ``k``."""
    return next((i for i, e in enumerate(epochs) if e > k), len(epochs) - 1)


def _resumed_optimizer(project: Project, saved, args):
    """The project's optimizer and learning rate (--optimizer, --lr) apply on --resume too.

    The same optimizer carries its state (momentum, moments) on with the project's rate;
    another one starts with a fresh state. Either change is said in a line on stderr.
    """
    from nnstudio.engine.fit.guard import format_rate

    wanted = project.make_optimizer()
    lr = float(project.training.learning_rate)
    if saved is None or type(saved) is not type(wanted):
        if saved is not None:
            _note(
                f"nnstudio: --resume: continuing with {wanted.label} (learning rate "
                f"{format_rate(lr)}) instead of the checkpoint's {saved.label}, "
                "with a fresh optimizer state"
            )
        optimizer = wanted
    else:
        optimizer = saved
        before = float(getattr(saved, "base_lr", saved.lr))
        if not math.isclose(before, lr, rel_tol=1e-6):
            _note(
                f"nnstudio: --resume: learning rate {format_rate(lr)} instead of the "
                f"checkpoint's {format_rate(before)}; the {saved.label} state carries on"
            )
    # The schedule starts from the project's base rate, not from the rate the run ended on
    # (the fit loop takes base_lr of a resumed optimizer as the schedule's base).
    optimizer.lr = optimizer.base_lr = lr
    return optimizer


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _nothing_to_save(args: argparse.Namespace) -> str:
    """Why a run that finished no epoch writes nothing, naming what it left alone."""
    kept = [str(p) for p in (args.out, args.checkpoint) if p and Path(p).exists()]
    left = f" ({', '.join(kept)} left as {'it was' if len(kept) == 1 else 'they were'})"
    return "No epoch finished, so nothing was saved" + (left if kept else "") + "."


class EpochEndState:
    """The model and optimizer as the last finished epoch left them (a fit callback).

    A checkpoint records how many epochs finished; after a stop or a blow-up mid-epoch it
    holds this state rather than the half epoch since, so resuming from it repeats the
    uninterrupted run exactly.
    """

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer
        self.state = (model.state_dict(), optimizer.state_dict())  # a resume's starting point

    def on_epoch_end(self, info) -> None:
        self.state = (self.model.state_dict(), self.optimizer.state_dict())

    def restore(self, result) -> None:
        """Put that state back when the run ended inside an epoch (stopped or diverged)."""
        if result.stopped_reason in ("stopped", "nan"):
            self.model.load_state_dict(self.state[0])
            self.optimizer.load_state_dict(self.state[1])


def _save_outputs(
    args,
    project: Project,
    dataset,
    model,
    optimizer,
    result,
    summary,
    epoch_end=None,
    timeline=None,
) -> None:
    if not result.history:
        return  # a barely trained model must not replace a good file (see run_train)
    metadata = {
        "project": project.name,
        # What recreates this exact dataset (seed included), for evaluate's default.
        "dataset": {"name": project.dataset_name(), "options": dataset.options},
        "training": vars(project.training),
        "epochs_completed": result.epochs_completed,
        "stopped_reason": result.stopped_reason,
        "test": {k[5:]: v for k, v in summary.items() if k.startswith("test_")},
    }
    if args.out:
        from nnstudio.engine.io import save_model

        save_model(
            args.out,
            model,
            loss=project.training.loss,
            class_names=dataset.class_names,
            preprocessing=dataset.preprocessing(),
            metadata=metadata,
        )
        write_history_csv(history_path(args.out), result.history)
        summary["model"] = str(args.out)
        summary["history"] = str(history_path(args.out))
    if args.checkpoint:
        from nnstudio.engine.io import save_checkpoint

        # The whole project rides along, so `train --resume FILE` alone can continue.
        metadata["project_file"] = _project_for_checkpoint(project)
        if epoch_end is not None:
            epoch_end.restore(result)  # after --out: the model file keeps the latest weights
        save_checkpoint(
            args.checkpoint,
            model,
            optimizer,
            epoch=len(result.history),
            history=result.history,
            fit_config=project.fit_config(),
            loss=project.training.loss,
            class_names=dataset.class_names,
            preprocessing=dataset.preprocessing(),
            metadata=metadata,
            timeline=_timeline_files(timeline, len(result.history)),
        )
        summary["checkpoint"] = str(args.checkpoint)


def _project_for_checkpoint(project: Project) -> dict:
    """The project as a checkpoint keeps it, its data file as an absolute path: a resume from
    another folder reads the same file (and only when it lies beside the checkpoint, or the
    user names it again)."""
    from nnstudio.project.project_file import named_data_file

    saved = project.to_dict()
    if named_data_file(project.dataset.name) is not None:
        prefix, _, rest = project.dataset_name().partition(":")
        saved["dataset"]["name"] = f"{prefix}:{os.path.abspath(rest)}"
    return saved


def _timeline_files(timeline, epochs: int):
    """The run's timeline as a checkpoint keeps it (run 1, the one continued), up to the epoch
    the checkpoint holds (a stop mid-epoch saves the last finished one)."""
    if timeline is None:
        return None
    from nnstudio.project.timeline import timelines_to_files

    timeline.truncate_after(epochs)
    meta, arrays = timelines_to_files({1: timeline})
    return {**meta, "current": 1}, arrays


def _fit(project, dataset, model, optimizer, progress, control, initial_epoch, history, extra=()):
    from nnstudio.engine.fit import fit

    config = project.fit_config()
    # Epochs means "that many more", as in the window: a resumed run goes on from where it is.
    config.epochs = initial_epoch + project.training.epochs
    validation = None if config.validation_split else dataset.validation_data
    if project.training.early_stopping and not (validation or config.validation_split):
        raise TrainUsageError("early stopping needs validation data: add --val-split 0.1")
    from nnstudio.project.doctor import TrainingDoctor

    # First: it adds health to each epoch's report (the optimizer: a blow-up's fix rate).
    doctor = progress.doctor = TrainingDoctor(optimizer=optimizer, earlier=history or ())
    callbacks = [doctor, progress, *extra]
    return fit(
        model,
        project.make_loss(),
        optimizer,
        dataset.x_train,
        dataset.y_train,
        config,
        validation_data=validation,
        callbacks=callbacks,
        control=control,
        augment=project.make_augment(dataset),
        initial_epoch=initial_epoch,
        history=history,
    )


def load_with_hint(load, **kwargs):
    """Call a dataset loader; when the set can be downloaded, say how on the command line."""
    from nnstudio.data.dataset import DatasetNotFound

    try:
        return load(**kwargs)
    except DatasetNotFound as error:
        if getattr(error, "can_download", False) and not kwargs.get("download"):
            raise DatasetNotFound(
                f"{error} Or run again with --download.", error.name, error.can_download
            ) from None
        raise


def _download_progress(progress):
    """Download / file-reading progress for load_dataset: a line on stderr every second or
    so, and only once the work has taken a second (a small CSV says nothing)."""
    last = {"shown": time.perf_counter()}

    def report(done, total, message=""):
        now = time.perf_counter()
        if now - last["shown"] < 1.0:
            return
        last["shown"] = now
        share = f" {100 * done / total:.0f}%" if total else ""
        progress.note(f"nnstudio: {message or 'loading'}{share}")

    return report


def run_train(args: argparse.Namespace) -> int:
    progress = JsonProgress() if args.json else TextProgress()
    handler = InterruptHandler(progress)
    try:
        with handler, _held_outputs(args):
            return _train(args, progress, handler)
    except Interrupted as interrupt:
        print("nnstudio: interrupted; nothing was saved", file=sys.stderr, flush=True)
        return 128 + interrupt.signum


def _train(args: argparse.Namespace, progress, interrupt: InterruptHandler) -> int:
    from nnstudio.engine.fit import TrainingControl

    project = project_from_args(args)
    check_outputs(args)
    dataset = load_with_hint(
        project.load_dataset, progress=_download_progress(progress), download=args.download
    )
    for note in dataset.notes:  # e.g. the files of an image folder that were skipped
        progress.note(f"nnstudio: {note}")
    finish_project(project, dataset)
    if args.save_project:
        save_project(project, args.save_project)
    model, optimizer, initial_epoch, history, timeline = _prepare_model(project, dataset, args)
    from nnstudio.project.timeline import TimelineRecorder

    settings = dict(vars(project.training))  # what a later branch replays with
    recorder = TimelineRecorder(model, optimizer, project.training.seed, timeline, settings)
    control = TrainingControl()
    started = time.perf_counter()
    interrupt.training(control)
    if isinstance(progress, TextProgress):
        progress.start(initial_epoch + project.training.epochs)
    epoch_end = EpochEndState(model, optimizer)
    # A timeline only when it will be saved: it copies the state at every epoch end.
    extra = [epoch_end, recorder] if args.checkpoint else [epoch_end]
    result = _fit(
        project, dataset, model, optimizer, progress, control, initial_epoch, history, extra
    )
    interrupt.saving = True
    _refuse_unusable_weights(model, dataset, result)
    summary = {
        "epochs_completed": result.epochs_completed,
        "stopped_reason": result.stopped_reason,
        "message": result.message,
        "seconds": time.perf_counter() - started,
        **_test_metrics(model, project.make_loss(), dataset),
    }
    _save_outputs(
        args, project, dataset, model, optimizer, result, summary, epoch_end, recorder.timeline
    )
    progress.final(summary)
    unsaved = "" if result.history or not (args.out or args.checkpoint) else _nothing_to_save(args)
    if result.stopped_reason == "nan":
        # Training diverged: the last good weights were restored, but the run did not succeed.
        problem = " ".join(filter(None, [result.message, unsaved]))
        print(f"nnstudio: error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if unsaved:
        _note(f"nnstudio: {unsaved}")
    return interrupt.exit_code if interrupt.interrupted else EXIT_OK
