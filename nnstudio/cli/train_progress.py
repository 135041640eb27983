"""How ``nnstudio train`` reports its epochs: a progress bar and lines on a terminal, or one
JSON object per epoch (and a final summary) with ``--json``."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from nnstudio.engine.io import json_plain

EPOCH_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")


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
        self.doctor = None  # the run's TrainingDoctor: its warnings after a blow-up

    def emit(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(json_plain(record), allow_nan=False))
        self.out.write("\n")
        self.out.flush()

    def on_epoch_end(self, info: dict[str, Any]) -> None:
        record = epoch_record(info)
        # The training doctor's per-layer numbers and warnings (nnstudio/project/doctor.py).
        record.update({key: info[key] for key in ("health", "warnings") if key in info})
        self.emit(record)

    def note(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def final(self, summary: dict[str, Any]) -> None:
        warnings = self.doctor.final_warnings if self.doctor is not None else []
        self.emit({"final": True, **summary, "warnings": warnings})


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
        self.warned: set[str] = set()  # the training doctor's warning kinds already shown

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
        for warning in info.get("warnings") or ():
            if warning["kind"] not in self.warned:  # once per kind (--json has every epoch's)
                self.warned.add(warning["kind"])
                self.note(f"warning: {warning['message']} {warning['fix']}.")

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
