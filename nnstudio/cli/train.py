"""``nnstudio train``: the project (file, preset or options) through the engine's fit loop.

The same `Project` helpers as the window build the dataset, model, loss, optimizer and fit
configuration, so a run on the command line and a run in the window are the same training.
Which project the options describe is train_options.py's part; this module runs it, reports
progress, handles Ctrl+C and writes the files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nnstudio.atomic_file import write_atomically
from nnstudio.cli.train_options import TrainUsageError, finish_project, project_from_args
from nnstudio.engine.io import json_plain
from nnstudio.project import Project, save_project

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
EPOCH_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")


# -- progress -----------------------------------------------------------------------------------


def epoch_record(info: dict[str, Any]) -> dict[str, Any]:
    return {key: json_plain(info.get(key)) for key in EPOCH_KEYS}


def _format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_epoch_line(info: dict[str, Any]) -> str:
    record = epoch_record(info)
    parts = [
        f"epoch {record['epoch']}/{info.get('epochs', '?')}",
        f"loss {_number(record['loss'])}",
    ]
    if record["accuracy"] is not None:
        parts.append(f"accuracy {_percent(record['accuracy'])}")
    if record["val_loss"] is not None:
        parts.append(f"val_loss {_number(record['val_loss'])}")
    if record["val_accuracy"] is not None:
        parts.append(f"val_accuracy {_percent(record['val_accuracy'])}")
    parts.append(f"lr {record['lr']:.3g}" if record["lr"] is not None else "lr -")
    parts.append(f"{record['seconds'] or 0:.1f} s")
    return "  ".join(parts)


class JsonProgress:
    """One JSON object per epoch on stdout, then the final one; nothing else."""

    def __init__(self, out=None):
        self.out = out or sys.stdout

    def emit(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(json_plain(record), allow_nan=False))
        self.out.write("\n")
        self.out.flush()

    def on_epoch_end(self, info: dict[str, Any]) -> None:
        self.emit(epoch_record(info))

    def note(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def final(self, summary: dict[str, Any]) -> None:
        self.emit({"final": True, **summary})


class TextProgress:
    """Epoch lines on stdout; on a terminal also a live bar (loss, accuracy, ETA) on stderr."""

    BAR_WIDTH = 24
    REDRAW_SECONDS = 0.1

    def __init__(self, out=None, err=None, bar: bool | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.bar = self.err.isatty() if bar is None else bar
        self.started = time.perf_counter()
        self.last_draw = 0.0
        self.done_batches = 0
        self.last_accuracy = None
        self.epochs = None
        self.bar_shown = False

    def start(self, epochs: int) -> None:
        self.epochs = epochs
        self.started = time.perf_counter()

    def on_batch_end(self, info: dict[str, Any]) -> None:
        self.done_batches += 1
        now = time.perf_counter()
        if not self.bar or now - self.last_draw < self.REDRAW_SECONDS:
            return
        self.last_draw = now
        batches = max(1, int(info.get("batches") or 1))
        batch = int(info.get("batch", 1))  # 1-based, like the epoch
        epoch = int(info.get("epoch", 1))
        epochs = self.epochs or epoch
        remaining = (epochs - epoch) * batches + (batches - batch)
        eta = (now - self.started) / self.done_batches * remaining
        filled = int(self.BAR_WIDTH * batch / batches)
        bar = "#" * filled + "." * (self.BAR_WIDTH - filled)
        running = info.get("accuracy", self.last_accuracy)
        accuracy = f"  accuracy {_percent(running)}" if running is not None else ""
        self.err.write(
            f"\r\033[Kepoch {epoch}/{epochs} [{bar}] {100 * batch // batches:3d}%  "
            f"loss {float(info['loss']):.4f}{accuracy}  ETA {_format_duration(eta)}"
        )
        self.err.flush()
        self.bar_shown = True

    def clear_bar(self) -> None:
        if self.bar_shown:
            self.err.write("\r\033[K")
            self.err.flush()
            self.bar_shown = False

    def on_epoch_end(self, info: dict[str, Any]) -> None:
        self.clear_bar()
        self.last_accuracy = info.get("accuracy")
        print(format_epoch_line(info), file=self.out, flush=True)

    def note(self, message: str) -> None:
        self.clear_bar()
        print(message, file=self.err, flush=True)

    def final(self, summary: dict[str, Any]) -> None:
        self.clear_bar()
        message = summary.get("message") or f"{summary['epochs_completed']} epochs."
        lines = [f"{message} Time: {_format_duration(summary['seconds'])}."]
        tests = {k: v for k, v in summary.items() if k.startswith("test_") and v is not None}
        if tests:
            lines.append(
                "test: "
                + "  ".join(
                    f"{k[5:]} {_percent(v) if k == 'test_accuracy' else _number(v)}"
                    for k, v in tests.items()
                )
            )
        for key, label in (
            ("model", "model saved to"),
            ("history", "history saved to"),
            ("checkpoint", "checkpoint saved to"),
        ):
            if summary.get(key):
                lines.append(f"{label} {summary[key]}")
        print("\n".join(lines), file=self.out, flush=True)


# -- Ctrl+C -------------------------------------------------------------------------------------


class InterruptHandler:
    """SIGINT asks the fit loop to stop after the current batch; a second one during training
    quits at once; while saving, further ones wait so the file is never left half-written."""

    def __init__(self, control, progress):
        self.control = control
        self.progress = progress
        self.interrupted = False
        self.saving = False
        self.previous = None

    def __call__(self, signum, frame) -> None:
        if self.saving:
            return
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self.control.stop()
        self.progress.note(
            "nnstudio: stopping after this batch and saving (Ctrl+C again to quit without saving)"
        )

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


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


def _check_writable(path: str | None, what: str) -> None:
    """Fail before training, not after an hour of it, when the output folder is missing."""
    if path and not Path(path).expanduser().resolve().parent.is_dir():
        raise TrainUsageError(f"{what} {path}: the folder {Path(path).parent} does not exist")


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


def _prepare_model(project: Project, dataset, args):
    """(model, optimizer, initial_epoch, history): fresh, or from --resume."""
    model = project.build_model(dataset)
    if not args.resume:
        return model, project.make_optimizer(), 0, None
    from nnstudio.engine.io import load_checkpoint

    checkpoint = load_checkpoint(args.resume)
    restored = checkpoint.model
    same_input = tuple(restored.input_shape) == tuple(model.input_shape)
    if not same_input or restored.config()["layers"] != model.config()["layers"]:
        raise TrainUsageError(
            f"--resume {args.resume}: the checkpoint's model differs from this project's; "
            "resume with the same project or --layers"
        )
    if checkpoint.epoch >= project.training.epochs:
        raise TrainUsageError(
            f"--resume {args.resume}: the checkpoint has already trained {checkpoint.epoch} "
            f"epochs; give --epochs above {checkpoint.epoch} (the total to reach)"
        )
    optimizer = checkpoint.optimizer or project.make_optimizer()
    # The schedule starts from the project's base rate, not from the rate the run ended on.
    optimizer.lr = project.training.learning_rate
    return restored, optimizer, int(checkpoint.epoch), list(checkpoint.history or [])


def _save_outputs(args, project: Project, dataset, model, optimizer, result, summary) -> None:
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
        metadata["project_file"] = project.to_dict()
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
        )
        summary["checkpoint"] = str(args.checkpoint)


def _fit(project, dataset, model, optimizer, progress, control, initial_epoch, history):
    from nnstudio.engine.fit import fit

    config = project.fit_config()
    validation = None if config.validation_split else dataset.validation_data
    if project.training.early_stopping and not (validation or config.validation_split):
        raise TrainUsageError("early stopping needs validation data: add --val-split 0.1")
    callbacks = [progress]
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
    from nnstudio.engine.fit import TrainingControl

    progress = JsonProgress() if args.json else TextProgress()
    project = project_from_args(args)
    _check_writable(args.out, "--out")
    _check_writable(args.checkpoint, "--checkpoint")
    dataset = load_with_hint(
        project.load_dataset, progress=_download_progress(progress), download=args.download
    )
    finish_project(project, dataset)
    if args.save_project:
        save_project(project, args.save_project)
    model, optimizer, initial_epoch, history = _prepare_model(project, dataset, args)
    control = TrainingControl()
    started = time.perf_counter()
    with InterruptHandler(control, progress) as interrupt:
        if isinstance(progress, TextProgress):
            progress.start(project.training.epochs)
        result = _fit(project, dataset, model, optimizer, progress, control, initial_epoch, history)
        interrupt.saving = True
        summary = {
            "epochs_completed": result.epochs_completed,
            "stopped_reason": result.stopped_reason,
            "message": result.message,
            "seconds": time.perf_counter() - started,
            **_test_metrics(model, project.make_loss(), dataset),
        }
        _save_outputs(args, project, dataset, model, optimizer, result, summary)
    progress.final(summary)
    if result.stopped_reason == "nan":
        # Training diverged: the last good weights were saved, but the run did not succeed.
        print(f"nnstudio: error: {result.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_INTERRUPTED if interrupt.interrupted else EXIT_OK
