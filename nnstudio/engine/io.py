"""Model files (.nnz) and training checkpoints: zip archives of JSON and .npz, never pickle.

A ``.nnz`` file is a zip holding ``model.json`` (format, format version, model config, loss,
class names, preprocessing statistics, metadata, nnstudio version) and ``weights.npz`` (the
model's ``state_dict``). A checkpoint is the same file plus ``optimizer.npz`` (the optimizer's
state arrays) and ``training.json`` (optimizer settings, epoch, history, fit settings), so
``load_model`` also opens a checkpoint and ``load_checkpoint`` resumes training from one. A
checkpoint may also hold a run timeline (``timeline.json`` + ``timeline.npz``: the weights and
optimizer state of past epochs, see nnstudio.project.timeline); files without one still load.

>>> import tempfile, pathlib, numpy as np
>>> from nnstudio.engine.model import Sequential
>>> from nnstudio.engine.layers import Dense
>>> model = Sequential([Dense(3)], input_shape=(2,))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.nnz"
>>> _ = save_model(path, model, class_names=["a", "b", "c"])
>>> bundle = load_model(path)
>>> bundle.class_names, np.array_equal(bundle.model.predict(np.ones((1, 2))),
...                                    model.predict(np.ones((1, 2))))
(['a', 'b', 'c'], True)

Saving is atomic: the archive is written to a temporary file in the same folder, flushed to
disk, then moved over the destination with ``os.replace`` — a crash or a full disk leaves the
previous file as it was. Every problem is a :class:`ModelFileError` (a ``ValueError``) whose
message names the file, says what is wrong and what to do.
"""

from __future__ import annotations

import errno
import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import nnstudio
from nnstudio.atomic_file import SaveTargetError, write_atomically
from nnstudio.engine.model_file_checks import check_model_size, field_problem, non_finite
from nnstudio.engine.settings import split_config
from nnstudio.safe_read import (
    FileReadError,
    ZipReader,
    json_max_bytes,
    load_npz,
    open_file,
    parse_json,
    shorten,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "ModelBundle",
    "ModelFileError",
    "check_model_size",
    "json_plain",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
    "save_model",
]

FORMAT = "nnstudio-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS_NPZ = "weights.npz"
OPTIMIZER_NPZ = "optimizer.npz"
TRAINING_JSON = "training.json"
TIMELINE_JSON = "timeline.json"
TIMELINE_NPZ = "timeline.npz"


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be read or written; ``path`` names it."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = None if path is None else Path(path)


@dataclass
class ModelBundle:
    """What ``load_model`` returns: the built model with its weights, and what came with it."""

    model: object
    loss: str = "softmax_crossentropy"
    loss_settings: dict = field(default_factory=dict)
    class_names: list[str] | None = None
    preprocessing: dict | None = None
    metadata: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    nnstudio_version: str | None = None
    path: Path | None = None

    def make_loss(self):
        """The loss object the model was trained with."""
        from nnstudio.engine.losses import get_loss

        return get_loss(self.loss, **self.loss_settings)


@dataclass
class Checkpoint(ModelBundle):
    """A model bundle plus what is needed to resume training exactly."""

    optimizer: object = None
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    fit_config: object = None  # a FitConfig, or None when the checkpoint did not store one
    # (timeline.json, timeline.npz) as read, or None: no timeline, or a damaged one (then
    # timeline_problem says what; the model and optimizer still load)
    timeline: tuple[dict, dict] | None = None
    timeline_problem: str = ""


# -- writing --------------------------------------------------------------------------------------


def json_plain(value):
    """``value`` as plain JSON values: NumPy arrays and numbers become lists and Python numbers,
    tuples lists, paths strings, and NaN or infinity None (strict JSON has neither; a history
    after a blow-up holds them). Model files, ``--json`` output and reports all go through it.

    >>> json_plain({"loss": np.float32(0.5), "shape": (1, 2), "val": float("nan")})
    {'loss': 0.5, 'shape': [1, 2], 'val': None}
    """
    if isinstance(value, dict):
        return {key: json_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_plain(item) for item in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return json_plain(value.tolist())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _json_bytes(data: dict) -> bytes:
    try:
        plain = json_plain(data)
    except TypeError as error:
        raise TypeError(f"{error}: it cannot be stored in a model file") from None
    return json.dumps(plain, indent=1, allow_nan=False).encode("utf-8")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(array) for name, array in arrays.items()})
    return buffer.getvalue()


def _loss_fields(loss) -> dict:
    """The loss as model.json stores it: its name and its settings."""
    if isinstance(loss, str):
        return {"loss": loss, "loss_settings": {}}
    config = dict(loss.get_config()) if hasattr(loss, "get_config") else {}
    if "type" not in config and "name" not in config:
        config["type"] = getattr(loss, "name", None)
    try:
        name, settings = split_config(config)
    except ValueError:
        raise ValueError(f"Cannot tell the name of loss {loss!r}; pass its name instead") from None
    return {"loss": name, "loss_settings": settings}


def _model_json(model, loss, class_names, preprocessing, metadata) -> dict:
    if not getattr(model, "built", True):
        raise ValueError("The model is not built yet, so it has no weights to save; train it first")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnstudio_version": nnstudio.__version__,
        "config": model.config(),
        "dtype": np.dtype(getattr(model, "dtype", np.float32)).name,
        **_loss_fields(loss),
        "class_names": None if class_names is None else [str(name) for name in class_names],
        "preprocessing": preprocessing,
        "metadata": dict(metadata or {}),
    }


def _write_archive(file, members: dict[str, bytes]) -> None:
    """Write the zip. JSON is compressed, and the timeline (its optimizer states start as
    zeros); other arrays are stored (float noise barely compresses)."""
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            packed = name.endswith(".json") or name == TIMELINE_NPZ
            method = zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=method)


def _why(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "there is no permission to write there"
    return error.strerror or str(error)


def _atomic_save(path, members: dict[str, bytes]) -> Path:
    """Write to a temporary file next to ``path``, fsync, then ``os.replace`` it into place."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(
            f"Cannot save {path}: the folder {folder} does not exist. Choose an existing folder.",
            path,
        )
    try:
        write_atomically(path, lambda file: _write_archive(file, members))
    except SaveTargetError as error:  # /dev/null, a FIFO, a read-only file: already worded
        raise ModelFileError(str(error), path) from error
    except OSError as error:
        previous = " The previous file was left unchanged." if path.exists() else ""
        raise ModelFileError(
            f"Could not save {path}: {_why(error)}.{previous} Free some space or choose another "
            "folder, then save again.",
            path,
        ) from error
    return path


def save_model(
    path,
    model,
    *,
    loss="softmax_crossentropy",
    class_names=None,
    preprocessing=None,
    metadata=None,
    verify: bool = False,
) -> Path:
    """Save ``model`` (config + weights) to a ``.nnz`` file, atomically; returns the path.

    ``loss`` is a loss name or object; ``preprocessing`` is the dataset's scaling statistics
    (e.g. ``{"method": "standardize", "mean": [...], "std": [...]}``) so predictions can scale
    new inputs the same way; ``metadata`` is any plain JSON (dataset name, test accuracy...).
    ``verify``: first read the archive back as :func:`load_model` reads a file, so a model it
    would refuse (a model from elsewhere: NaN weights, 5,000 layers) replaces nothing.
    """
    info = _model_json(model, loss, class_names, preprocessing, metadata)
    members = {MODEL_JSON: _json_bytes(info), WEIGHTS_NPZ: _npz_bytes(model.state_dict())}
    if verify:
        _read_back(Path(path), members)
    return _atomic_save(path, members)


def _read_back(path: Path, members: dict[str, bytes]) -> None:
    """Raise the ModelFileError that loading ``members`` as the file ``path`` would raise."""
    buffer = io.BytesIO()
    _write_archive(buffer, members)
    with ZipReader(buffer.getvalue(), "a model file") as archive:
        _bundle_fields(path, archive)


def save_checkpoint(
    path,
    model,
    optimizer,
    *,
    epoch: int,
    history=None,
    fit_config=None,
    loss="softmax_crossentropy",
    class_names=None,
    preprocessing=None,
    metadata=None,
    timeline: tuple[dict, dict] | None = None,
) -> Path:
    """Save model + optimizer state + epoch + history (+ fit settings) to resume training.

    ``epoch`` is the number of completed epochs; resume with
    ``fit(..., initial_epoch=checkpoint.epoch, history=checkpoint.history)``. ``timeline``:
    (plain JSON, name → array) of past epochs' states, stored as they are.
    """
    if int(epoch) < 0:
        raise ValueError(f"epoch must be >= 0; got {epoch}")
    state = optimizer.state_dict()
    arrays = {key: value for key, value in state.items() if isinstance(value, np.ndarray)}
    scalars = {key: value for key, value in state.items() if key not in arrays}
    training = {
        "epoch": int(epoch),
        "history": list(history or []),
        "fit_config": None if fit_config is None else fit_config.to_dict(),
        "optimizer": scalars,
    }
    info = _model_json(model, loss, class_names, preprocessing, metadata)
    members = {
        MODEL_JSON: _json_bytes(info),
        WEIGHTS_NPZ: _npz_bytes(model.state_dict()),
        TRAINING_JSON: _json_bytes(training),
        OPTIMIZER_NPZ: _npz_bytes(arrays),
    }
    if timeline is not None:
        members[TIMELINE_JSON] = _json_bytes(timeline[0])
        members[TIMELINE_NPZ] = _npz_bytes(timeline[1])
    return _atomic_save(path, members)


# -- reading --------------------------------------------------------------------------------------


def _open_archive(path: Path, kind: str) -> ZipReader:
    """The archive, opened for reading members one at a time, or a ModelFileError saying why
    the file cannot be one (missing, a folder or a FIFO, too large, not a zip, truncated)."""
    try:
        return ZipReader(path, kind)
    except FileReadError as error:
        raise ModelFileError(str(error), path) from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        with open_file(path, kind) as file:
            starts_like_zip = file.read(4) == b"PK\x03\x04"
        if starts_like_zip:
            raise ModelFileError(
                f"{path} is truncated or damaged ({shorten(error, 120)}); it cannot be read. "
                "Use another copy or save the model again.",
                path,
            ) from error
        raise ModelFileError(
            f"{path} is not an nnstudio model file (it is not a .nnz archive). Choose a file "
            "saved by nnstudio.",
            path,
        ) from error


def _read_json(path: Path, archive: ZipReader, name: str) -> dict:
    try:
        data = parse_json(archive.read(name, json_max_bytes()), f"{path}: {name}")
    except FileReadError as error:
        raise ModelFileError(f"{error} The file is damaged; use another copy.", path) from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} is damaged: {name} is not a JSON object.", path)
    return data


def _read_npz(path: Path, archive: ZipReader, name: str) -> dict[str, np.ndarray]:
    if name not in archive:
        raise ModelFileError(f"{path} is damaged: it has no {name}. Use another copy.", path)
    try:
        arrays = load_npz(archive.read(name), f"{path}: {name}", archive.remaining())
        archive.charge(sum(array.nbytes for array in arrays.values()))
        return arrays
    except FileReadError as error:
        message = str(error).replace("archive", f"{path}: {name}", 1)
        raise ModelFileError(f"{message} Use another copy.", path) from None


def _check_header(path: Path, archive: ZipReader) -> dict:
    if MODEL_JSON not in archive:
        raise ModelFileError(
            f"{path} is a zip archive but not an nnstudio model (it has no {MODEL_JSON}). "
            "Choose a .nnz file saved by nnstudio.",
            path,
        )
    info = _read_json(path, archive, MODEL_JSON)
    if info.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not an nnstudio model file (format {shorten(repr(info.get('format')), 60)}"
            f", expected {FORMAT!r}). Choose a .nnz file saved by nnstudio.",
            path,
        )
    version = info.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(
            f"{path} is damaged: bad format_version {shorten(repr(version), 60)}.", path
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer nnstudio (format {version}; this one reads up to "
            f"{FORMAT_VERSION}). Update nnstudio to open it.",
            path,
        )
    problem = field_problem(info)
    if problem:
        raise ModelFileError(
            f"{path} is damaged: {problem}. Use another copy or save the model again.", path
        )
    return info


def _build_model(path: Path, info: dict, archive: ZipReader):
    from nnstudio.engine.model import Sequential

    dtype = info.get("dtype", "float32")
    try:
        config = info.get("config")
        if not isinstance(config, dict):
            raise ValueError("it has no model config")
        check_model_size(config, dtype)
        weights = _read_npz(path, archive, WEIGHTS_NPZ)
        bad = non_finite(weights)
        if bad:
            raise ModelFileError(
                f"{path}: its weights {bad} hold NaN or infinite values (the training "
                "diverged), so every prediction would be NaN. Train again with a lower "
                "learning rate.",
                path,
            )
        model = Sequential.from_config(config, dtype=dtype)
        if not model.built:
            raise ValueError("the model config has no input_shape")
        model.load_state_dict(weights)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(
            f"{path} holds a model this nnstudio cannot rebuild: {shorten(error, 200)} "
            f"(saved by nnstudio {shorten(info.get('nnstudio_version', '?'), 30)}). Update "
            "nnstudio or save the model again.",
            path,
        ) from error
    return model


def _bundle_fields(path: Path, archive: ZipReader) -> dict:
    info = _check_header(path, archive)
    model = _build_model(path, info, archive)
    names = info.get("class_names")
    return {
        "model": model,
        **_read_loss(path, info),
        "class_names": None if names is None else [str(name) for name in names],
        "preprocessing": info.get("preprocessing"),
        "metadata": dict(info.get("metadata") or {}),
        "format_version": info["format_version"],
        "nnstudio_version": info.get("nnstudio_version"),
        "path": path,
    }


def load_model(path) -> ModelBundle:
    """Load a ``.nnz`` model (or checkpoint) file; raises :class:`ModelFileError`.

    Only ``model.json`` and ``weights.npz`` are read, each after its declared size passed the
    limit (``NNSTUDIO_MAX_FILE_MB``); other members are never decompressed."""
    path = Path(path)
    with _open_archive(path, "a model file") as archive:
        return ModelBundle(**_bundle_fields(path, archive))


def is_checkpoint(path) -> bool:
    """True when ``path`` is a checkpoint (it holds training.json); False for a plain model
    file and for anything that is not a readable archive (the loaders say why)."""
    try:
        with _open_archive(Path(path), "a model file") as archive:
            return TRAINING_JSON in archive
    except ModelFileError:
        return False


def load_model_or_checkpoint(path) -> ModelBundle:
    """A checkpoint (with its optimizer, history and timeline) when the file is one, else the
    model; raises :class:`ModelFileError`."""
    return load_checkpoint(path) if is_checkpoint(path) else load_model(path)


def _read_loss(path: Path, info: dict) -> dict:
    """model.json's loss name and settings. A loss stored as a whole config is read too, with
    "type" or, as configs said before, "name"."""
    try:
        name, settings = split_config(info.get("loss") or "softmax_crossentropy")
        if not isinstance(name, str) or not isinstance(settings, dict):
            raise ValueError(f"{shorten(repr(info.get('loss')), 60)} is not a loss name")
    except (ValueError, TypeError) as error:
        message = (
            f"{path} is damaged: its loss cannot be read ({shorten(error, 100)}). Use another copy."
        )
        raise ModelFileError(message, path) from None
    return {"loss": name, "loss_settings": {**settings, **dict(info.get("loss_settings") or {})}}


def _rebuild_optimizer(path: Path, scalars: dict, arrays: dict):
    from nnstudio.engine.optimizers import get_optimizer

    try:
        kind = scalars.get("type", scalars.get("name", ""))  # "name": older configs' key
        optimizer = get_optimizer(str(kind))
        optimizer.load_state_dict({**scalars, **arrays})
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ModelFileError(
            f"{path} has an optimizer state this nnstudio cannot use: {shorten(error, 120)}. "
            "Update nnstudio or train from the saved weights with a new optimizer.",
            path,
        ) from error
    return optimizer


def _training_field(path: Path, training: dict, key: str, kind, default):
    value = training.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelFileError(
            f"{path} is damaged: training.json's {key} has the wrong type "
            f"({shorten(repr(value), 60)}). Use another copy.",
            path,
        )
    return value


# The numbers of an epoch's record; the fit loop compares them (early stopping) and adds to
# them when a run resumes, so each must be a number or null.
_HISTORY_NUMBERS = (
    "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "samples_per_second",
)  # fmt: skip


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _history_problem(history: list) -> str | None:
    """What is wrong with a checkpoint's per-epoch records, or None."""
    for index, entry in enumerate(history):
        where = f"entry {index}"
        if not isinstance(entry, dict):
            return f"{where} is not an object"
        if not isinstance(entry.get("epoch"), int) or isinstance(entry.get("epoch"), bool):
            return f"{where} has no epoch number"
        for key in _HISTORY_NUMBERS:
            if entry.get(key) is not None and not _is_number(entry[key]):
                return f"{where}'s {key} is not a number"
        for key in ("grad_norms", "health"):
            if entry.get(key) is not None and not isinstance(entry[key], dict):
                return f"{where}'s {key} is not an object"
        warnings = entry.get("warnings")
        if warnings is not None and not (
            isinstance(warnings, list) and all(isinstance(w, dict) for w in warnings)
        ):
            return f"{where}'s warnings are not a list of objects"
    return None


def load_checkpoint(path) -> Checkpoint:
    """Load a checkpoint saved by :func:`save_checkpoint`; raises :class:`ModelFileError`."""
    from nnstudio.engine.fit import FitConfig

    path = Path(path)
    with _open_archive(path, "a checkpoint") as archive:
        fields = _bundle_fields(path, archive)
        if TRAINING_JSON not in archive:
            raise ModelFileError(
                f"{path} is a model file without training state, not a checkpoint. Open it as "
                "a model, or train it further from its weights with a new optimizer.",
                path,
            )
        training = _read_json(path, archive, TRAINING_JSON)
        scalars = _training_field(path, training, "optimizer", dict, {})
        optimizer = _rebuild_optimizer(path, dict(scalars), _read_npz(path, archive, OPTIMIZER_NPZ))
        timeline, timeline_problem = _read_timeline(path, archive)
    epoch = _training_field(path, training, "epoch", int, 0)
    history = _training_field(path, training, "history", list, [])
    problem = _history_problem(history)
    if problem:
        raise ModelFileError(
            f"{path} is damaged: training.json's history {problem}. Use another copy.", path
        )
    config = _training_field(path, training, "fit_config", dict, None)
    try:
        fit_config = None if config is None else FitConfig.from_dict(config)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ModelFileError(
            f"{path} has training settings this nnstudio cannot use: {shorten(error, 120)}. "
            "Update nnstudio or start a new training run from the saved weights.",
            path,
        ) from error
    if epoch < 0:
        raise ModelFileError(f"{path} is damaged: training.json's epoch is {epoch}.", path)
    if history and epoch != len(history):  # nnstudio saves one history record per epoch
        raise ModelFileError(
            f"{path} is damaged: training.json's epoch is {shorten(str(epoch), 30)} but its "
            f"history holds {len(history)} epoch(s). Use another copy.",
            path,
        )
    return Checkpoint(
        **fields,
        optimizer=optimizer,
        epoch=epoch,
        history=list(history),
        fit_config=fit_config,
        timeline=timeline,
        timeline_problem=timeline_problem,
    )


def _read_timeline(path: Path, archive: ZipReader) -> tuple[tuple[dict, dict] | None, str]:
    """The timeline members as read, or (None, why) when damaged: a timeline is a view of the
    past, and losing it must not lose the model it came with."""
    if TIMELINE_JSON not in archive:
        return None, ""
    try:
        meta = _read_json(path, archive, TIMELINE_JSON)
        return (meta, _read_npz(path, archive, TIMELINE_NPZ)), ""
    except ModelFileError as error:
        return None, str(error)
