"""Datasets by name: the toy sets, MNIST, Fashion-MNIST and the user's own files.

Names (GUI picker, project files, CLI): circle, xor, gaussian, spiral, moons, plane,
gaussians-regression, mnist, fashion-mnist, cifar10 (cifar.py), mnist+drawings (MNIST with the
Draw tab's kept drawings mixed in, drawings_mix.py), and idx:FOLDER, csv:PATH, npz:PATH,
images:FOLDER (one sub-folder of pictures per class, image_folder.py).
`load_dataset(name, **options)` returns a `Dataset` whose `options` recreate it exactly.

MNIST and Fashion-MNIST are looked for as mnist.py says. Not found: DatasetNotFound (the GUI
offers to download — `download_mnist` or `download=True` — or to pick a folder —
`import_mnist` copies its verified files into the user's data folder).

>>> ds = load_dataset("spiral", samples=200, classes=3, seed=1)
>>> ds.summary()["samples"], ds.n_classes
({'train': 140, 'validation': 30, 'test': 30}, 3)
>>> load_dataset(ds.name, **ds.options).x_train.tolist() == ds.x_train.tolist()
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.paths import user_data_dir

from . import cifar, idx, image_folder, synthetic, tabular
from .dataset import SCALING_METHODS, Dataset, DatasetError, DatasetNotFound, apply_scaling
from .drawings_mix import MIX_DESCRIPTION, MIX_NAME, load_mnist_with_drawings
from .mnist import (
    MNIST_SOURCES,
    download_mnist,
    find_mnist,
    import_mnist,
    mnist_locations,
    mnist_source,
    not_found_error,
)
from .preprocessing import (
    DEFAULT_TEST_FRACTION,
    DEFAULT_VAL_FRACTION,
    fit_scaler,
    split_indices,
)

# Where MNIST-like sets are found and how they are fetched lives in mnist.py; these names
# are also the catalog's (the window and the tests know them from here).
__all__ = [
    "DATASET_NAMES",
    "DESCRIPTIONS",
    "FILE_PREFIXES",
    "MNIST_SOURCES",
    "dataset_from_arrays",
    "download_mnist",
    "find_mnist",
    "import_mnist",
    "load_dataset",
    "mnist_locations",
    "user_data_dir",
]

FILE_PREFIXES = ("idx:", "csv:", "npz:", "images:")
FILE_FORMS = "idx:FOLDER, csv:PATH, npz:PATH, images:FOLDER"
DATASET_NAMES = [*synthetic.TOY_SETS, "mnist", "fashion-mnist", "cifar10"]

DESCRIPTIONS = {
    **synthetic.DESCRIPTIONS,
    "mnist": "Handwritten digits 0–9, 28×28 grey images (60,000 + 10,000)",
    "fashion-mnist": "Clothing in 10 classes, 28×28 grey images (60,000 + 10,000)",
    "cifar10": "Colour photos in 10 classes, 32×32 (50,000 + 10,000), binary version",
    "idx:": "A folder holding the four MNIST-named IDX files",
    "csv:": "A CSV table: one row per sample, a target column",
    "npz:": "A NumPy .npz file with arrays X and y",
    "images:": "A folder of your own pictures, one sub-folder per class",
    MIX_NAME: MIX_DESCRIPTION,
}


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
    val_fraction=DEFAULT_VAL_FRACTION,
    test_fraction=DEFAULT_TEST_FRACTION,
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
    """(N, H, W) or (N, C, H, W) images as float32 (N, C, H, W); uint8 pixels divided by 255
    into [0, 1]."""
    out = images.astype(np.float32)
    out = out[:, None] if out.ndim == 3 else out
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
            raise not_found_error(kind)
        folder = download_mnist(kind, progress=progress)
    return _load_idx(
        kind,
        folder,
        mnist_source(kind)["class_names"],
        seed=seed,
        val_fraction=val_fraction,
        scaling=scaling,
    )


def _load_cifar10(*, seed, val_fraction, scaling, progress, download):
    folder = cifar.find_cifar10()
    if folder is None:
        if not download:
            raise cifar.not_found_error()
        folder = cifar.download_cifar10(progress=progress)
    x_train, y_train, x_test, y_test = cifar.read_cifar10(folder)
    scaling = _check_scaling(scaling, "none")
    return dataset_from_arrays(
        "cifar10",
        "classification",
        x_train,
        y_train,
        class_names=list(cifar.CLASS_NAMES),
        val_fraction=val_fraction,
        seed=seed,
        scaling=scaling,
        options={"seed": seed, "val_fraction": val_fraction, "scaling": scaling},
        test=(x_test, y_test),
        prepare=_unit_float,
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


def _load_image_folder(
    name, folder, *, image_size, color, seed, val_fraction, test_fraction, scaling, progress
):
    found = image_folder.read_image_folder(folder, image_size, color, progress)
    scaling = _check_scaling(scaling, "none")
    height, width = found.size
    options = {
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "scaling": scaling,
        # The size and colour found, so the same folder with more pictures in it comes back
        # the same shape (and evaluate recreates what the model was trained on).
        "image_size": None if height != width else height,
        "color": found.color,
    }
    dataset = dataset_from_arrays(
        name,
        "classification",
        found.images,
        found.labels,
        class_names=found.class_names,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        scaling=scaling,
        options={k: v for k, v in options.items() if v is not None},
    )
    dataset.image_reading = {"fit": "pad", "color": found.color, "size": [height, width]}
    message = image_folder.skipped_message(found.skipped)
    dataset.notes = [f"{Path(folder).name}: {message}"] if message else []
    return dataset


def load_dataset(
    name: str,
    *,
    samples=synthetic.DEFAULT_SAMPLES,
    noise=synthetic.DEFAULT_NOISE,
    seed=0,
    classes=None,
    val_fraction=DEFAULT_VAL_FRACTION,
    test_fraction=DEFAULT_TEST_FRACTION,
    scaling=None,
    target=None,
    columns=None,
    impute=None,
    progress=None,
    download=False,
    task=None,
    image_size=None,
    color=None,
) -> Dataset:
    """Load a dataset by name; see the module docstring for the names.

    samples, noise, classes: toy sets only (classes: spiral and gaussian). val_fraction and
    test_fraction: shares of the data held out, stratified for classification, seeded by
    `seed`; MNIST-like sets keep their own 10,000-image test set and take the validation split
    from their training images. scaling: "standardize", "minmax" or "none" (default: none for
    toy sets and images, standardize for tables), fitted on the training split. target,
    columns (the feature columns; default all but the target), impute, task: CSV/NPZ (see
    tabular.read_csv). image_size (N for N × N) and color ("rgb" or "gray"): image folders
    (default: the most common size, at most 64 a side; colour when any file is). progress(done,
    total, message): downloads, CSV and image reading. download: fetch MNIST/Fashion-MNIST
    or CIFAR-10 when not found.
    """
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(
            f"No dataset name given. Choose one of: {', '.join(DATASET_NAMES)}, or {FILE_FORMS}."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        # numpy said only "expected non-negative integer"
        raise DatasetError(f"the seed must be a whole number of 0 or more (got {seed!r}).")
    common = {"seed": seed, "val_fraction": val_fraction, "scaling": scaling}
    prefix, _, rest = name.partition(":")
    if rest and prefix.lower() + ":" in FILE_PREFIXES:
        path = Path(rest).expanduser()
        if prefix.lower() == "idx":
            return _load_idx(name, path, None, **common)
        if prefix.lower() == "images":
            return _load_image_folder(
                name,
                path,
                image_size=image_size,
                color=color,
                test_fraction=test_fraction,
                progress=progress,
                **common,
            )
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
    if key == MIX_NAME:  # the Draw tab's kept drawings, oversampled into MNIST's training split
        return load_mnist_with_drawings(
            lambda: _load_mnist("mnist", progress=progress, download=download, **common)
        )
    if key == "cifar10":
        return _load_cifar10(progress=progress, download=download, **common)
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
        f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASET_NAMES)}, or {FILE_FORMS}."
    )
