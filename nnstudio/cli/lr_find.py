"""``nnstudio lr-find``: the learning-rate range test on a project, a preset, options or a
saved model.

The project is described as for ``nnstudio train`` (train_options.py), or a model file
(``nnstudio lr-find MODEL.nnz --dataset NAME``) gives the network; the test runs on a copy of
it from fresh weights (engine/fit/lr_finder.py; ``--from-current`` keeps the weights, for
fine-tuning) and prints the curve and the suggested rate, or with ``--json`` one object
``{"suggested_lr": ..., "lrs": [...], "losses": [...], ...}``. A curve without a clear valley
gets no suggestion (``"suggested_lr": null``) and an ``advice`` saying so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from nnstudio.cli.setting_options import add_setting_option, loss_help, names_help
from nnstudio.engine.fit.guard import format_rate

EXIT_OK = 0
# What `train` has and the range test does not use: project_from_args reads them as unset.
_TRAIN_ONLY = ("resume", "epochs", "schedule", "lr", "augment", "val_split", "early_stopping")


def add_parser(commands, common, dataset_options, positive_int, non_negative_int) -> None:
    from nnstudio.engine.registry import OPTIMIZERS
    from nnstudio.project import settings

    """The ``lr-find`` sub-command (called by cli/main.py's build_parser)."""
    parser = commands.add_parser(
        "lr-find",
        prog="nnstudio lr-find",
        parents=[common, dataset_options],
        help="find a good learning rate (the learning-rate range test)",
        description="Train a copy of the network from fresh weights for a few hundred batches "
        "while the learning rate grows from 1e-7 to 10, and suggest the rate a tenth below "
        "where the loss is lowest. The project's or model file's own weights are not touched.",
    )
    parser.add_argument(
        "project",
        nargs="?",
        metavar="PROJECT.nnsproj|MODEL.nnz",
        help="a project file, or a model saved by nnstudio (then give --dataset)",
    )
    parser.add_argument(
        "--from-current",
        action="store_true",
        help="start from the current weights (of a model file or a project's saved weights) "
        "instead of fresh ones: for fine-tuning",
    )
    parser.add_argument("--preset", metavar="NAME", help="a shipped preset, e.g. mnist-mlp")
    parser.add_argument("--layers", metavar="TEXT", help='e.g. "Dense(64,relu),Dense(3)"')
    parser.add_argument("--loss", metavar="NAME", help=loss_help())
    parser.add_argument(
        "--optimizer", metavar="NAME", help=names_help(settings.OPTIMIZER, OPTIMIZERS)
    )
    add_setting_option(parser, "--batch-size", settings.BATCH_SIZE, "B", "Default: the project's.")
    add_setting_option(parser, "--seed", settings.SEED, "S")
    parser.add_argument(
        "--steps", type=positive_int, default=300, metavar="N", help="batches (default 300)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.set_defaults(**dict.fromkeys(_TRAIN_ONLY))


def _curve_lines(result, rows: int = 12) -> list[str]:
    """A few points of the curve, evenly spread over the rates tried."""
    step = max(1, len(result.lrs) // rows)
    return [
        f"  lr {format_rate(float(f'{lr:.2g}')):>8}  loss {loss:.4f}"
        for lr, loss in list(zip(result.lrs, result.losses, strict=True))[::step]
    ]


def _is_model_file(path: str | None) -> bool:
    return bool(path) and path.lower().endswith(".nnz")


def _from_project(args: argparse.Namespace) -> dict:
    """The range test's ingredients from a project, a preset or options."""
    from nnstudio.cli.train import load_with_hint
    from nnstudio.cli.train_options import project_from_args
    from nnstudio.project import finish_project

    project = project_from_args(args)
    dataset = load_with_hint(project.load_dataset, download=args.download)
    finish_project(project, dataset)
    training = project.training
    return {
        "model": project.build_model(dataset),
        "loss": project.make_loss(),
        "optimizer": project.make_optimizer(),
        "optimizer_name": training.optimizer,
        "x": dataset.x_train,
        "y": dataset.y_train,
        "batch_size": training.batch_size,
        "seed": training.seed,
    }


def _from_model_file(args: argparse.Namespace) -> dict:
    """The range test's ingredients from a saved model and the dataset named on the line."""
    from nnstudio.cli import predict
    from nnstudio.cli.train_options import TrainUsageError
    from nnstudio.engine.io import load_model
    from nnstudio.engine.optimizers import get_optimizer

    given = [f"--{name}" for name in ("preset", "layers", "loss") if getattr(args, name, None)]
    if given:
        raise TrainUsageError(f"{given[0]} does not go with a model file: it has its network")
    args.model = args.project
    bundle = load_model(args.model)
    dataset = predict._dataset_for(args, bundle)
    predict._check_fits(bundle, dataset, args.model)
    name = args.optimizer or "adam"
    return {
        "model": bundle.model,
        "loss": bundle.make_loss(),
        "optimizer": get_optimizer(name),
        "optimizer_name": name,
        "x": predict._fit_inputs(dataset.x_train, dataset, bundle),
        "y": dataset.y_train,
        "batch_size": args.batch_size or 32,
        "seed": args.seed or 0,
    }


def run_lr_find(args: argparse.Namespace) -> int:
    from nnstudio.engine.fit.lr_finder import find_lr

    parts = _from_model_file(args) if _is_model_file(args.project) else _from_project(args)
    started = time.perf_counter()
    result = find_lr(
        parts["model"],
        parts["loss"],
        parts["optimizer"],
        parts["x"],
        parts["y"],
        batch_size=parts["batch_size"],
        steps=max(args.steps, 10),
        seed=parts["seed"],
        from_current=args.from_current,
    )
    record = {
        **result.to_dict(),
        "optimizer": parts["optimizer_name"],
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        # The suggestion first, so it reads at a glance; the curve after it.
        first = {"suggested_lr": record.pop("suggested_lr"), "lrs": record.pop("lrs")}
        print(json.dumps({**first, "losses": record.pop("losses"), **record}, allow_nan=False))
        return EXIT_OK
    start = "the current weights" if args.from_current else "fresh weights"
    lines = [
        f"Learning-rate range test ({parts['optimizer_name']}, {len(result.lrs)} batches, "
        f"from {start}):"
    ]
    lines += _curve_lines(result)
    lines.append(_verdict(result))
    print("\n".join(lines), file=sys.stdout, flush=True)
    return EXIT_OK


def _verdict(result) -> str:
    if result.suggested_lr is None:
        return result.advice
    return (
        f"Suggested learning rate: {format_rate(float(f'{result.suggested_lr:.2g}'))} "
        f"(a tenth of {format_rate(float(f'{result.min_loss_lr:.2g}'))}, where the smoothed "
        f"loss was lowest). Train with --lr {result.suggested_lr:.2g}."
    )
