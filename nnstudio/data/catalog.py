"""Datasets by name: the toy sets, MNIST, Fashion-MNIST and the user's own files.

Names (GUI picker, project files, CLI): circle, xor, gaussian, spiral, moons, plane,
gaussians-regression, mnist, fashion-mnist, and idx:FOLDER, csv:PATH, npz:PATH.
`load_dataset(name, **options)` returns a `Dataset` whose `options` recreate it exactly.

MNIST is looked for in NNSTUDIO_MNIST_DIR, then the user's data folder; Fashion-MNIST in
NNSTUDIO_FASHION_MNIST_DIR, the user's data folder, then /usr/share/datasets/fashion-mnist
(Debian's dataset-fashion-mnist package). Not found: DatasetNotFound (the GUI offers to
download — `download_mnist` or `download=True` — or to pick a folder — `import_mnist` copies
its verified files into the user's data folder).

>>> ds = load_dataset("spiral", samples=200, classes=3, seed=1)
>>> ds.summary()["samples"], ds.n_classes
({'train': 140, 'validation': 30, 'test': 30}, 3)
>>> load_dataset(ds.name, **ds.options).x_train.tolist() == ds.x_train.tolist()
True
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np

from . import idx, synthetic, tabular
from .dataset import SCALING_METHODS, Dataset, DatasetError, DatasetNotFound, apply_scaling
from .download import download_file, gunzipped_sha256
from .preprocessing import fit_scaler, split_indices

FILE_PREFIXES = ("idx:", "csv:", "npz:")
DATASET_NAMES = [*synthetic.TOY_SETS, "mnist", "fashion-mnist"]

_MNIST_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
# SHA-256 of the uncompressed MNIST files, in the order above; the .gz bytes differ between
# copies (gzip headers hold timestamps), the data does not.
_MNIST_SHA256 = [
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
]

# Where MNIST-like sets come from. Mirrors are tried in order; file names are appended.
MNIST_SOURCES = {
    "mnist": {
        "title": "MNIST",
        "env": "NNSTUDIO_MNIST_DIR",
        "system_dirs": [],
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "sha256": dict(zip(_MNIST_SHAPES, _MNIST_SHA256, strict=True)),
        "class_names": [str(digit) for digit in range(10)],
        "size": "11 MB",
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "env": "NNSTUDIO_FASHION_MNIST_DIR",
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],
        "mirrors": [
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ],
        # No hashes of the uncompressed Fashion-MNIST files that we could check ourselves:
        # downloads are verified by structure instead (IDX headers, 60,000/10,000 28×28 images,
        # labels 0–9), which catches truncated and wrong files, though not altered pixels.
        "sha256": {},
        "class_names": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
        "size": "30 MB",
    },
}

DESCRIPTIONS = {
    **synthetic.DESCRIPTIONS,
    "mnist": "Handwritten digits 0–9, 28×28 grey images (60,000 + 10,000)",
    "fashion-mnist": "Clothing in 10 classes, 28×28 grey images (60,000 + 10,000)",
    "idx:": "A folder holding the four MNIST-named IDX files",
    "csv:": "A CSV table: one row per sample, a target column",
    "npz:": "A NumPy .npz file with arrays X and y",
}


# ---------------------------------------------------------------------------------------------
# Where data lives


def user_data_dir() -> Path:
    """nnstudio's per-user data folder (downloads, autosaves).

    NNSTUDIO_DATA_DIR if set; else %APPDATA%\\nnstudio on Windows, ~/Library/Application
    Support/nnstudio on macOS, $XDG_DATA_HOME/nnstudio or ~/.local/share/nnstudio elsewhere.
    """
    if os.environ.get("NNSTUDIO_DATA_DIR"):
        return Path(os.environ["NNSTUDIO_DATA_DIR"]).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nnstudio"


def _source(kind: str) -> dict:
    if kind not in MNIST_SOURCES:
        raise DatasetError(f"Unknown MNIST kind {kind!r}. Known: {', '.join(MNIST_SOURCES)}.")
    return MNIST_SOURCES[kind]


def mnist_locations(kind: str = "mnist") -> list[tuple[str, Path | None]]:
    """Where `find_mnist` looks, in order: (description, folder or None if unset)."""
    source = _source(kind)
    env = os.environ.get(source["env"])
    places = [
        (source["env"], Path(env).expanduser() if env else None),
        ("the user's data folder", user_data_dir() / kind),
    ]
    places += [("the system's datasets", Path(folder)) for folder in source["system_dirs"]]
    return places


def find_mnist(kind: str = "mnist") -> Path | None:
    """The first folder holding all four files of `kind` ("mnist" or "fashion-mnist")."""
    for _, folder in mnist_locations(kind):
        if folder is not None and not idx.find_idx_files(folder)[1]:
            return folder
    return None


def _not_found(kind: str) -> DatasetNotFound:
    source = _source(kind)
    looked = []
    for description, folder in mnist_locations(kind):
        if folder is None:
            looked.append(f"{description} (not set)")
        else:
            missing = idx.find_idx_files(folder)[1]
            lacks = f"missing {missing[0]}" if len(missing) < 4 else "no files"
            looked.append(f"{folder} ({lacks})")
    return DatasetNotFound(
        f"{source['title']} is not on this computer. Looked in: {'; '.join(looked)}. Download it "
        f"(about {source['size']}), choose a folder holding the four files, or set "
        f"{source['env']}.",
        name=kind,
        can_download=True,
    )


def _verifier(kind: str, base: str):
    """verify(path) for one of the four files: SHA-256 of the data when we know it, else the
    structure (IDX header, shape, label range)."""
    source = _source(kind)
    expected = source["sha256"].get(base)
    if expected:
        return gunzipped_sha256(expected)
    return _structure_check(base, len(source["class_names"]))


def _structure_check(base: str, class_count: int):
    """Verifier for files without a known hash: IDX header, shape and label range."""

    def verify(path: Path) -> None:
        array = idx.read_idx_bytes(path.read_bytes(), path.name)
        if array.shape != _MNIST_SHAPES[base]:
            raise DatasetError(
                f"it holds data of shape {array.shape}, expected {_MNIST_SHAPES[base]}"
            )
        if array.ndim == 1 and array.max(initial=0) >= class_count:
            raise DatasetError(f"it holds label {array.max()}, outside 0..{class_count - 1}")

    return verify


def download_mnist(
    kind: str = "mnist", dest=None, progress=None, mirrors=None, cancel=None
) -> Path:
    """Download the four files of `kind` into `dest` (default: the user's data folder).

    Files already there and verified are kept. progress(done, total, label) reports each
    file; cancel (threading.Event or callable) stops and keeps the partial file for resuming.
    Raises NoNetworkError when offline, DownloadError when every mirror failed.
    """
    source = _source(kind)
    dest = Path(dest) if dest is not None else user_data_dir() / kind
    mirrors = list(mirrors) if mirrors is not None else source["mirrors"]
    advice = f"Download the four files yourself and choose their folder, or set {source['env']}."
    for number, base in enumerate(_MNIST_SHAPES, start=1):
        target = dest / f"{base}.gz"
        verify = _verifier(kind, base)
        if target.exists():
            try:
                verify(target)
                continue
            except DatasetError:
                target.unlink()  # damaged copy: fetch it again
        file_progress = None
        if progress is not None:

            def file_progress(done, total, label, number=number):
                progress(done, total, f"{source['title']} file {number} of 4: {label}")

        download_file(
            [m + target.name for m in mirrors],
            target,
            verify=verify,
            progress=file_progress,
            cancel=cancel,
            what=source["title"],
            advice=advice,
        )
    return dest


def import_mnist(kind: str, folder, dest=None) -> Path:
    """Copy the four files of `kind` from a folder the user chose into `dest` (default: the
    user's data folder), each verified first, so `load_dataset(kind)` finds them from then on.

    For the "choose their folder" answer to a failed download. Files may be gzip or raw.
    """
    source = _source(kind)
    found, missing = idx.find_idx_files(folder)
    if missing:
        raise DatasetNotFound(
            f"{folder} lacks {', '.join(missing)}. Choose the folder holding the four "
            f"{source['title']} files.",
            name=kind,
            can_download=True,
        )
    dest = Path(dest) if dest is not None else user_data_dir() / kind
    dest.mkdir(parents=True, exist_ok=True)
    for role, path in found.items():
        base = idx.MNIST_FILES[role]
        try:
            _verifier(kind, base)(path)
        except DatasetError as error:
            raise DatasetError(
                f"{path} is not the {source['title']} file {base}: {error}. Choose the "
                "folder holding the original files."
            ) from None
        with path.open("rb") as file:
            gzipped = file.read(2) == b"\x1f\x8b"
        target = dest / (f"{base}.gz" if gzipped else base)
        temporary = target.with_name(target.name + ".part")
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
    return dest


# ---------------------------------------------------------------------------------------------
# Building datasets


def _check_scaling(scaling: str | None, default: str) -> str:
    scaling = default if scaling is None else scaling
    if scaling not in SCALING_METHODS:
        raise DatasetError(
            f"Unknown scaling {scaling!r}. Choose one of: {', '.join(SCALING_METHODS)}."
        )
    return scaling


def _check_classes(name: str, y: np.ndarray, class_names) -> None:
    present = np.unique(y)
    if len(present) < 2:
        only = class_names[present[0]] if class_names is not None and len(present) else "none"
        raise DatasetError(
            f"{name}: every sample has the same class ({only!r}); a classifier "
            "needs at least two classes. Choose another target column, or add "
            "samples of the other classes."
        )


def dataset_from_arrays(
    name,
    task,
    x,
    y,
    *,
    class_names=None,
    feature_names=None,
    val_fraction=0.15,
    test_fraction=0.15,
    seed=0,
    scaling="none",
    options=None,
    encoding=None,
    test=None,
    prepare=None,
) -> Dataset:
    """Split (stratified for classification, seeded), fit scaling on the training split, and
    wrap everything in a Dataset.

    test=(x_test, y_test) supplies a fixed test set (then `test_fraction` is not used).
    prepare(x) -> float array is applied to each split after splitting (MNIST: uint8 pixels to
    float32 in [0, 1]), so the full set is never converted and then copied again.
    """
    if task == "classification":
        _check_classes(name, y, class_names)
    labels = y if task == "classification" else len(y)
    train, val, held_out = split_indices(labels, val_fraction, 0.0 if test else test_fraction, seed)
    x_test, y_test = test if test else (x[held_out], y[held_out])
    inputs = [x[train], x[val], x_test]
    if prepare is not None:
        inputs = [prepare(part) for part in inputs]
    stats = fit_scaler(inputs[0], scaling)
    if scaling != "none":
        inputs = [apply_scaling(part, stats) for part in inputs]
    return Dataset(
        name,
        task,
        inputs[0],
        y[train],
        inputs[1],
        y[val],
        inputs[2],
        y_test,
        input_shape=inputs[0].shape[1:],
        class_names=class_names,
        feature_names=feature_names,
        scaling=stats,
        options=options or {},
        encoding=encoding,
    )


def _unit_float(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images as float32 (N, 1, H, W); uint8 pixels divided by 255 into [0, 1]."""
    out = images.astype(np.float32)[:, None]
    if images.dtype == np.uint8:
        out *= np.float32(1 / 255)
    return out


def _load_idx(name, folder, class_names, *, seed, val_fraction, scaling):
    if not Path(folder).is_dir():
        raise DatasetNotFound(
            f"{folder} is not a folder. Choose the folder that holds the four IDX files.", name=name
        )
    n_classes = len(class_names) if class_names else None
    x_train, y_train, x_test, y_test = idx.read_idx_folder(folder, n_classes)
    if class_names is None:
        class_names = [str(k) for k in range(max(y_train.max(), y_test.max()) + 1)]
    scaling = _check_scaling(scaling, "none")
    options = {"seed": seed, "val_fraction": val_fraction, "scaling": scaling}
    return dataset_from_arrays(
        name,
        "classification",
        x_train,
        y_train,
        class_names=class_names,
        val_fraction=val_fraction,
        seed=seed,
        scaling=scaling,
        options=options,
        test=(x_test, y_test),
        prepare=_unit_float,
    )


def _load_mnist(kind, *, seed, val_fraction, scaling, progress, download):
    folder = find_mnist(kind)
    if folder is None:
        if not download:
            raise _not_found(kind)
        folder = download_mnist(kind, progress=progress)
    return _load_idx(
        kind,
        folder,
        _source(kind)["class_names"],
        seed=seed,
        val_fraction=val_fraction,
        scaling=scaling,
    )


def _load_toy(name, *, samples, noise, seed, classes, val_fraction, test_fraction, scaling):
    x, y, task, class_names = synthetic.make_toy(name, samples, noise, seed, classes)
    scaling = _check_scaling(scaling, "none")
    options = {
        "samples": samples,
        "noise": noise,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "scaling": scaling,
    }
    if classes is not None:
        options["classes"] = classes
    return dataset_from_arrays(
        name,
        task,
        x,
        y,
        class_names=class_names,
        feature_names=["x1", "x2"],
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        scaling=scaling,
        options=options,
    )


def _load_file(
    name,
    kind,
    path,
    *,
    seed,
    val_fraction,
    test_fraction,
    scaling,
    target,
    columns,
    impute,
    task,
    progress,
):
    if kind == "csv":
        table = tabular.read_csv(
            path, target, columns=columns, task=task, impute=impute, progress=progress
        )
    else:
        table = tabular.read_npz(path, task=task)
    images = table.x.ndim == 4
    scaling = _check_scaling(scaling, "none" if images else "standardize")
    options = {
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "scaling": scaling,
    }
    options.update({"target": target, "impute": impute} if kind == "csv" else {})
    if kind == "csv" and columns is not None:
        columns = [columns] if isinstance(columns, (str, int)) else columns
        options["columns"] = [c if isinstance(c, str) else int(c) for c in columns]
    if task is not None:
        options["task"] = task
    return dataset_from_arrays(
        name,
        table.task,
        table.x,
        table.y,
        class_names=table.class_names,
        feature_names=table.feature_names,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        scaling=scaling,
        options=options,
        encoding=table.encoding,
    )


def load_dataset(
    name: str,
    *,
    samples=500,
    noise=0.1,
    seed=0,
    classes=None,
    val_fraction=0.15,
    test_fraction=0.15,
    scaling=None,
    target=None,
    columns=None,
    impute=None,
    progress=None,
    download=False,
    task=None,
) -> Dataset:
    """Load a dataset by name; see the module docstring for the names.

    samples, noise, classes: toy sets only (classes: spiral and gaussian). val_fraction and
    test_fraction: shares of the data held out, stratified for classification, seeded by
    `seed`; MNIST-like sets keep their own 10,000-image test set and take the validation split
    from their training images. scaling: "standardize", "minmax" or "none" (default: none for
    toy sets and images, standardize for tables), fitted on the training split. target,
    columns (the feature columns; default all but the target), impute, task: CSV/NPZ (see
    tabular.read_csv). progress(done, total, message): downloads
    and CSV reading. download: fetch MNIST/Fashion-MNIST when not found.
    """
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(
            "No dataset name given. Choose one of: "
            f"{', '.join(DATASET_NAMES)}, or idx:FOLDER, csv:PATH, npz:PATH."
        )
    common = {"seed": seed, "val_fraction": val_fraction, "scaling": scaling}
    prefix, _, rest = name.partition(":")
    if rest and prefix.lower() + ":" in FILE_PREFIXES:
        path = Path(rest).expanduser()
        if prefix.lower() == "idx":
            return _load_idx(name, path, None, **common)
        return _load_file(
            name,
            prefix.lower(),
            path,
            test_fraction=test_fraction,
            target=target,
            columns=columns,
            impute=impute,
            task=task,
            progress=progress,
            **common,
        )
    key = name.strip().lower()
    if key in MNIST_SOURCES:
        return _load_mnist(key, progress=progress, download=download, **common)
    if key in synthetic.TOY_SETS:
        return _load_toy(
            key,
            samples=samples,
            noise=noise,
            classes=classes,
            test_fraction=test_fraction,
            **common,
        )
    raise DatasetError(
        f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASET_NAMES)}, "
        "or idx:FOLDER, csv:PATH, npz:PATH."
    )
