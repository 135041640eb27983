"""The project a ``nnstudio train`` command line describes: a project file, a preset, a
checkpoint's project or options alone, then the options given next to it as overrides."""

from __future__ import annotations

import argparse

from nnstudio.project import (
    DatasetSpec,
    Project,
    TrainingSettings,
    check_named_files,
    load_preset,
    load_project,
    parse_project,
)
from nnstudio.project.project_checks import check_project

# The dataset options of the command line (argparse's names are load_dataset's keywords).
DATASET_OPTION_KEYS = ("samples", "noise", "classes", "target", "columns", "image_size", "color")
# The training settings the command line sets, and the argparse name of each option.
TRAINING_OPTION_NAMES = {
    "loss": "loss",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "schedule": "schedule",
    "learning_rate": "lr",
    "seed": "seed",
    "augment": "augment",
    "validation_split": "val_split",
    "early_stopping": "early_stopping",
}


def flag(name: str) -> str:
    """The command-line flag of an argparse name: "batch_size" -> "--batch-size"."""
    return "--" + name.replace("_", "-")


class TrainUsageError(ValueError):
    """Options that do not go together; the message says which."""


def _base_project(args: argparse.Namespace) -> Project:
    if args.project and args.preset:
        raise TrainUsageError("give a project file or --preset, not both")
    if args.project:
        project = load_project(args.project)
        if not args.dataset:  # a --dataset given replaces the file the project names
            check_named_files(project, project.path.parent, args.project)
        return project
    if args.preset:
        return load_preset(args.preset)
    if args.resume and not args.dataset:
        return _project_of_checkpoint(args.resume)
    if not args.dataset:
        raise TrainUsageError(
            "nothing to train: give a project file, --preset NAME or "
            "--dataset NAME (see nnstudio train --help)"
        )
    # Options only: the model and loss are chosen once the dataset is known (finish_project).
    return Project(
        name=args.dataset,
        dataset=DatasetSpec(args.dataset),
        model={"layers": []},
        training=TrainingSettings(loss=""),  # "": the loss that fits the dataset
    )


def _project_of_checkpoint(path: str) -> Project:
    """The project a checkpoint carries; a data file it names must lie beside the checkpoint
    (else the user names it with --dataset, and the options describe the project)."""
    from pathlib import Path

    from nnstudio.engine.io import load_checkpoint

    saved = (load_checkpoint(path).metadata or {}).get("project_file")
    if saved is None:
        raise TrainUsageError(
            f"--resume {path}: the checkpoint does not hold its project; "
            "give the project file or --dataset and --layers as before"
        )
    project = parse_project(saved, source=path)
    project.path = Path(path).resolve()  # a relative data file resolves beside the checkpoint
    check_named_files(project, project.path.parent, f"--resume {path}")
    project.weights = None  # the checkpoint itself holds the weights
    return project


def _apply_dataset_options(project: Project, args: argparse.Namespace) -> None:
    if args.dataset and args.dataset != project.dataset.name:
        project.dataset = DatasetSpec(args.dataset)
        project.model.pop("input_shape", None)
    for key in DATASET_OPTION_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            project.dataset.options[key] = value


def _apply_training_options(project: Project, args: argparse.Namespace) -> None:
    training = project.training
    if args.optimizer and args.optimizer.lower() != training.optimizer.lower():
        # Settings such as SGD's momentum mean nothing to another optimizer.
        training.optimizer_settings = {}
    if args.schedule and args.schedule.lower() != training.schedule.lower():
        training.schedule_settings = {}
    overrides = {key: getattr(args, name) for key, name in TRAINING_OPTION_NAMES.items()}
    for key, value in overrides.items():
        if value is not None:
            setattr(training, key, value)


def project_from_args(args: argparse.Namespace) -> Project:
    """The project a `train` command line describes: file or preset, then the overrides."""
    project = _base_project(args)
    _apply_dataset_options(project, args)
    if args.layers:
        from nnstudio.project.layer_text import parse_layers

        project.model = {"layers": parse_layers(args.layers)}
    _apply_training_options(project, args)
    # The checks the window makes before it opens a project: both take the same ones.
    check_project(project, args.project or args.preset or "the options")
    return project
