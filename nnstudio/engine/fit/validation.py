"""After each epoch: the validation pass and early stopping.

>>> stopper = EarlyStopping("val_loss", patience=2, min_delta=0.0, restore_best_weights=False)
>>> [stopper.update({"epoch": e, "val_loss": v}, model=None) for e, v in enumerate([3, 2, 2, 2], 1)]
[True, True, True, False]
>>> stopper.best_epoch, stopper.best_value
(2, 2)
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.engine.metrics import predicted_labels

# Validation runs in eval mode with batches at least this large (no backward pass to store).
VALIDATION_BATCH_SIZE = 1024


def validate(model, loss, x_val, y_val, labels, batch_size: int, penalty: bool, forward=None):
    """``(loss, accuracy)`` on the validation set in eval mode; accuracy is None without
    ``labels`` (integer classes; regression has none). ``penalty``: add the model's L1/L2
    term, as the training loss does, so that the two curves compare. ``forward(x)``: the
    model's outputs in eval mode, if not ``model.forward`` (e.g. split over two cores)."""
    size = max(VALIDATION_BATCH_SIZE, batch_size)
    if forward is None:
        forward = lambda x: model.forward(x, training=False)  # noqa: E731
    total, correct = 0.0, 0
    for lo in range(0, len(x_val), size):
        outputs = forward(x_val[lo : lo + size])
        total += loss.value(outputs, y_val[lo : lo + size]) * len(outputs)
        if labels is not None:
            hits = predicted_labels(outputs) == labels[lo : lo + size]
            correct += int(np.count_nonzero(hits))
    if penalty:
        total += model.penalty() * len(x_val)
    n = len(x_val)
    return total / n, (correct / n if labels is not None else None)


class EarlyStopping:
    """The best epoch of the monitored value (``val_loss``, or ``loss`` without validation),
    and whether ``patience`` epochs went by without an improvement of more than ``min_delta``.

    It always tracks the best epoch (``FitResult.best_epoch``); it only stops with a
    ``patience``. With ``restore_best_weights`` it keeps a copy of the best epoch's weights
    and puts them back into the model when it stops.
    """

    def __init__(self, monitor: str, patience, min_delta: float, restore_best_weights: bool):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore = restore_best_weights and patience is not None
        self.best_value, self.best_epoch, self.wait = math.inf, None, 0
        self.best_state = None

    def resume(self, history: list[dict]) -> None:
        """Recover the best value and the patience used so far from earlier epochs."""
        for entry in history:
            value = entry.get(self.monitor)
            if value is not None and value < self.best_value - self.min_delta:
                self.best_value, self.best_epoch, self.wait = value, entry["epoch"], 0
            else:
                self.wait += 1

    def update(self, info: dict, model) -> bool:
        """After an epoch: True to go on, False when patience ran out (then call ``stop``)."""
        value = info[self.monitor]
        if value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.wait = value, info["epoch"], 0
            if self.restore:
                self.best_state = model.state_dict()
            return True
        self.wait += 1
        return self.patience is None or self.wait < self.patience

    def stop(self, epoch: int, model) -> str:
        """Put the best weights back (when kept); returns the sentence for the user."""
        restored = ""
        if self.restore and self.best_state is not None:
            model.load_state_dict(self.best_state)
            restored = " (its weights were restored)"
        return (
            f"Stopped early after epoch {epoch}: {self.monitor} did not improve by more than "
            f"{self.min_delta:g} for {self.patience} epochs; the best was "
            f"{self.best_value:.4g} at epoch {self.best_epoch}{restored}."
        )
