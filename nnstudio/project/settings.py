"""A project's training and dataset settings, described once.

Each setting of a project file's "training" object and of its dataset's "options" is a
:class:`~nnstudio.engine.settings.Setting` here (label, help, range, default), as the engine
describes its layers and optimizers. Everything else reads them: the project file's parser
(``project_parse``) and the checks of a whole project (``project_checks``) judge values with
them, the window's Hyperparameters and Data docks build their controls from them (range,
tooltip, default), and the command line its options and ``--help``. A range changed here is
changed everywhere, so the window and ``nnstudio train`` accept and refuse the same projects.

Defaults the engine or the data layer also need (epochs, the validation limit, the 0.15
splits, the toy sets' size and noise) are numbers of those layers, read from there: they may
not import the project.

>>> EPOCHS.default, SAMPLES.bounds_text()
(20, '>= 20 and <= 100000')
>>> check_training_values({"epochs": 3.0, "batch_size": 16})["epochs"]
3
>>> check_dataset_options({"samples": 5})
Traceback (most recent call last):
...
ValueError: dataset.options.samples must be >= 20 and <= 100000; got 5. Try 500.
"""

from __future__ import annotations

import dataclasses

from nnstudio.data.columns import IMPUTE_METHODS
from nnstudio.data.dataset import SCALING_METHODS, TASKS
from nnstudio.data.image_folder import COLORS, MAX_IMAGE_SIDE
from nnstudio.data.preprocessing import (
    DEFAULT_TEST_FRACTION,
    DEFAULT_VAL_FRACTION,
    check_fractions,
)
from nnstudio.data.synthetic import DEFAULT_NOISE, DEFAULT_SAMPLES, MAX_NOISE
from nnstudio.engine.fit.control import DEFAULT_EPOCHS, MAX_VALIDATION_SPLIT, FitConfig
from nnstudio.engine.layers.base import L1_SETTING, L2_SETTING
from nnstudio.engine.registry import LOSSES, OPTIMIZERS, SCHEDULES
from nnstudio.engine.settings import Setting

__all__ = [
    "DATASET_OPTION_NAMES",
    "DATASET_SETTINGS",
    "TRAINING_SETTINGS",
    "check_dataset_options",
    "check_known_options",
    "check_training_values",
    "names_in",
]

_FIT_DEFAULTS = {field.name: field.default for field in dataclasses.fields(FitConfig)}
SEED_LIMIT = 2**31 - 1  # what a spin box can hold; far more seeds than anyone tries


def names_in(table: dict) -> str:
    """A registry table's names in words: "sgd, rmsprop, adam or adamw"."""
    names = list(table)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# -- training -------------------------------------------------------------------------------------

LOSS = Setting(
    "loss",
    "choice",
    "softmax_crossentropy",
    choices=tuple(LOSSES),
    label="Loss",
    help="What the network minimises. Must fit the task: cross-entropy for classes, "
    "squared/absolute error for numbers.",
)
OPTIMIZER = Setting(
    "optimizer",
    "choice",
    "adam",
    choices=tuple(OPTIMIZERS),
    label="Optimizer",
    help="How gradients turn into weight updates. Adam is the forgiving default; SGD + "
    "momentum for the classic feel.",
)
LEARNING_RATE = Setting(
    "learning_rate",
    "float",
    0.01,
    minimum=1e-12,  # a schedule's decayed rate times ten (the doctor's "raise it") stays in
    maximum=1e9,  # a blow-up to watch is 1e6 away; nobody trains beyond
    label="Learning rate",
    help="The size of each step: 1e-3 suits Adam, 0.01 to 0.1 SGD.",
    log_scale=True,
)
BATCH_SIZE = Setting(
    "batch_size",
    "int",
    _FIT_DEFAULTS["batch_size"],
    minimum=1,
    maximum=65_536,
    label="Batch size",
    help="Samples per weight update. Small (16 to 64) = noisier, more updates; large "
    "(128 to 512) = faster per sample.",
)
EPOCHS = Setting(
    "epochs",
    "int",
    DEFAULT_EPOCHS,
    minimum=1,
    maximum=100_000,
    label="Epochs",
    help="Passes over the training data. 2-D toy sets: 100 to 500; MNIST: 5 to 20.",
)
SCHEDULE = Setting(
    "schedule",
    "choice",
    "constant",
    choices=tuple(SCHEDULES),
    label="Schedule",
    help="How the learning rate changes over the epochs. Constant is fine to start; cosine "
    "for the last percent.",
)
VALIDATION_SPLIT = Setting(
    "validation_split",
    "float",
    _FIT_DEFAULTS["validation_split"],
    minimum=0.0,
    maximum=MAX_VALIDATION_SPLIT,
    label="Validation split",
    help="Share of the training data held out to watch overfitting, used only when the "
    "dataset has no validation part. 0.1 to 0.2 is typical.",
)
EARLY_STOPPING = Setting(
    "early_stopping",
    "int",
    _FIT_DEFAULTS["early_stopping_patience"],
    minimum=1,
    maximum=10_000,
    label="Patience",
    none_label="off",
    help="Epochs without a better validation loss before stopping (the best weights are "
    "kept): 5 to 20.",
)
#: The dock's patience field: early stopping's setting, at the value it starts from when on.
PATIENCE = EARLY_STOPPING.with_default(10, name="patience")
SEED = Setting(
    "seed",
    "int",
    _FIT_DEFAULTS["seed"],
    minimum=0,
    maximum=SEED_LIMIT,
    label="Seed",
    help="Fixes the random start and shuffling: the same seed gives the same run. Change it "
    "to see how much luck matters.",
)
AUGMENT = Setting(
    "augment",
    "bool",
    False,
    label="Augment images",
    help="Randomly shift, rotate and scale training images each epoch (images only): "
    "better on hand-drawn digits.",
)
#: L1/L2 are the weight layers' own settings; the dock sets them on every weight layer.
L1 = L1_SETTING.with_default(
    0.0,
    label="L1",
    help="Penalty on |weights| in every weight layer: pushes weights to exactly 0. 0 = off; "
    "try 1e-5 to 1e-3.",
)
L2 = L2_SETTING.with_default(
    0.0,
    label="L2",
    help="Penalty on weights² in every weight layer: keeps weights small and smooths the "
    "boundary. 0 = off; try 1e-4 to 1e-2.",
)

#: The "training" object's settings, in the file's order (optimizer_settings and
#: schedule_settings are the chosen optimizer's and schedule's own SETTINGS).
TRAINING_SETTINGS = (
    LOSS,
    OPTIMIZER,
    LEARNING_RATE,
    BATCH_SIZE,
    EPOCHS,
    SCHEDULE,
    VALIDATION_SPLIT,
    EARLY_STOPPING,
    SEED,
    AUGMENT,
)

# The registry names a choice setting looks up; the engine's lookup decides (it takes
# "Adam" and "adam_w" as the optimizer's name, say).
_NAMED = {"loss": LOSSES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES}


def _check_name(setting: Setting, value, where: str) -> str:
    from nnstudio.engine.losses import loss_class
    from nnstudio.engine.optimizers import optimizer_class
    from nnstudio.engine.schedules import schedule_class

    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a name such as {setting.default!r}; got {value!r}")
    lookup = {"loss": loss_class, "optimizer": optimizer_class, "schedule": schedule_class}
    try:
        lookup[setting.name](value)
    except ValueError:
        raise ValueError(
            f"{where} {value!r} is unknown; known: {names_in(_NAMED[setting.name])}"
        ) from None
    return value


def check_training_values(values: dict, section: str = "training.") -> dict:
    """``values`` (some or all of a "training" object) checked against their settings and
    converted (3.0 epochs -> 3); a ValueError names the first bad one and its range."""
    checked = dict(values)
    for setting in TRAINING_SETTINGS:
        if setting.name not in values:
            continue
        value = values[setting.name]
        if setting.name in _NAMED:
            checked[setting.name] = _check_name(setting, value, section + setting.name)
        else:
            checked[setting.name] = setting.validate(value, section)
    return checked


# -- dataset --------------------------------------------------------------------------------------

SAMPLES = Setting(
    "samples",
    "int",
    DEFAULT_SAMPLES,
    minimum=20,  # fewer leaves a split without every class
    maximum=100_000,  # beyond, a 2-D toy set teaches nothing new and slows every plot
    label="Samples",
    help="Number of generated points of a toy set. 200 to 1,000 trains in seconds.",
)
NOISE = Setting(
    "noise",
    "float",
    DEFAULT_NOISE,
    minimum=0.0,
    maximum=MAX_NOISE,
    label="Noise",
    help="How much the points of a toy set scatter around their shape. 0.1 is clean; 0.3 "
    "makes the task harder.",
)
CLASSES = Setting(
    "classes",
    "int",
    None,
    minimum=2,
    maximum=12,
    label="Classes",
    none_label="2",
    help="Number of classes of spiral and gaussian (arms or blobs). 2 to 4 is easy to see; "
    "more makes the task harder.",
)
DATA_SEED = Setting(
    "seed",
    "int",
    0,
    minimum=0,
    maximum=SEED_LIMIT,
    label="Seed",
    help="Random seed of the data and the split: the same seed gives the same samples.",
)
VAL_FRACTION = Setting(
    "val_fraction",
    "float",
    DEFAULT_VAL_FRACTION,
    minimum=0.0,
    maximum=0.5,
    label="Validation",
    help="Share held out to watch overfitting while training. 0.1 to 0.2 is usual.",
)
TEST_FRACTION = Setting(
    "test_fraction",
    "float",
    DEFAULT_TEST_FRACTION,
    minimum=0.0,
    maximum=0.5,
    label="Test",
    help="Share held out for the final evaluation. MNIST keeps its own 10,000 test images.",
)
IMAGE_SIZE = Setting(
    "image_size",
    "int",
    None,
    minimum=4,
    maximum=MAX_IMAGE_SIDE,
    label="Image size",
    none_label="Automatic",
    help="A folder of pictures: every picture is made this many pixels square (aspect kept, "
    "padded). Automatic: the most common size among the files, at most 64.",
)
COLOR = Setting(
    "color",
    "choice",
    None,
    choices=COLORS,
    label="Colour",
    none_label="from the files",
    help="A folder of pictures: colour keeps red, green and blue (3 channels); grey has 1 and "
    "trains faster. From the files: colour as soon as one picture is in colour.",
)
SCALING = Setting(
    "scaling",
    "choice",
    None,
    choices=SCALING_METHODS,
    label="Scaling",
    none_label="default for this data",
    help="How inputs are rescaled, fitted on the training split. Standardize suits tables; "
    "images are already in [0, 1].",
)
IMPUTE = Setting(
    "impute",
    "choice",
    None,
    choices=IMPUTE_METHODS,
    label="Missing values",
    none_label="stop with an error",
    help="A CSV file: what to do with empty or NA cells: stop with an error, fill them, or "
    "drop those rows.",
)
TASK = Setting(
    "task",
    "choice",
    None,
    choices=TASKS,
    label="Task",
    none_label="from the target",
    help="A CSV or NPZ file: classes or numbers to predict; by default text or few whole "
    "numbers in the target are classes.",
)

#: The dataset "options" described as settings (a CSV's target and columns are names, so
#: they are checked apart).
DATASET_SETTINGS = (
    SAMPLES,
    NOISE,
    CLASSES,
    DATA_SEED,
    VAL_FRACTION,
    TEST_FRACTION,
    IMAGE_SIZE,
    COLOR,
    SCALING,
    IMPUTE,
    TASK,
)
#: Every option a dataset may record: the settings and a CSV's target and input columns.
DATASET_OPTION_NAMES = (*(setting.name for setting in DATASET_SETTINGS), "target", "columns")


def check_known_options(options: dict, section: str = "dataset.options") -> None:
    """A ValueError naming the options that are none of ``load_dataset``'s keywords."""
    unknown = sorted(set(options) - set(DATASET_OPTION_NAMES))
    if unknown:
        raise ValueError(
            f"{section} has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"known keys: {', '.join(sorted(DATASET_OPTION_NAMES))}"
        )


def check_dataset_options(options: dict, section: str = "dataset.options.") -> dict:
    """``options`` checked against the dataset settings and converted; null means "the
    default", as an option left out does. A ValueError names the first bad one."""
    checked = dict(options)
    for setting in DATASET_SETTINGS:
        value = options.get(setting.name)
        if value is not None:
            checked[setting.name] = setting.validate(value, section)
    # Both shares together must leave some training data: the data layer's rule, said now
    shares = [checked.get(s.name) for s in (VAL_FRACTION, TEST_FRACTION)]
    defaults = (VAL_FRACTION.default, TEST_FRACTION.default)
    check_fractions(*(d if v is None else v for v, d in zip(shares, defaults, strict=True)))
    target = options.get("target")
    if target is not None and not _is_column(target):
        raise ValueError(f"{section}target must be a column name or number; got {target!r}")
    columns = options.get("columns")
    if columns is not None and not (
        isinstance(columns, list) and all(_is_column(c) for c in columns)
    ):
        raise ValueError(
            f"{section}columns must be a list of column names or numbers; got {columns!r}"
        )
    return checked


def _is_column(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)
