"""``nnstudio lr-find``: the learning-rate range test on a project, a preset or options.

The project is described as for ``nnstudio train`` (train_options.py); the test runs on a
fresh copy of its model (engine/fit/lr_finder.py) and prints the curve and the suggested rate,
or with ``--json`` one object ``{"suggested_lr": ..., "lrs": [...], "losses": [...], ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from nnstudio.engine.fit.guard import format_rate

EXIT_OK = 0
# What `train` has and the range test does not use: project_from_args reads them as unset.
_TRAIN_ONLY = ("resume", "epochs", "schedule", "lr", "augment", "val_split", "early_stopping")


def add_parser(commands, common, dataset_options, positive_int, non_negative_int) -> None:
    """The ``lr-find`` sub-command (called by cli/main.py's build_parser)."""
    parser = commands.add_parser(
        "lr-find",
        prog="nnstudio lr-find",
        parents=[common, dataset_options],
        help="find a good learning rate (the learning-rate range test)",
        description="Train a copy of the network for a few hundred batches while the learning "
        "rate grows from 1e-7 to 10, and suggest the rate a tenth below where the loss is "
        "lowest. The project's own weights are not touched.",
    )
    parser.add_argument("project", nargs="?", metavar="PROJECT.nnsproj", help="a project file")
    parser.add_argument("--preset", metavar="NAME", help="a shipped preset, e.g. mnist-mlp")
    parser.add_argument("--layers", metavar="TEXT", help='e.g. "Dense(64,relu),Dense(3)"')
    parser.add_argument("--loss", help="default: the project's, or one that fits the dataset")
    parser.add_argument("--optimizer", help="adam (default), adamw, sgd or rmsprop")
    parser.add_argument("--batch-size", type=positive_int, metavar="B", help="default: project's")
    parser.add_argument(
        "--seed", type=non_negative_int, help="random seed for data, weights and batches"
    )
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


def run_lr_find(args: argparse.Namespace) -> int:
    from nnstudio.cli.train import load_with_hint
    from nnstudio.cli.train_options import project_from_args
    from nnstudio.engine.fit.lr_finder import find_lr
    from nnstudio.project import finish_project

    project = project_from_args(args)
    dataset = load_with_hint(project.load_dataset, download=args.download)
    finish_project(project, dataset)
    model = project.build_model(dataset)
    started = time.perf_counter()
    result = find_lr(
        model,
        project.make_loss(),
        project.make_optimizer(),
        dataset.x_train,
        dataset.y_train,
        batch_size=project.training.batch_size,
        steps=max(args.steps, 10),
        seed=project.training.seed,
    )
    record = {
        **result.to_dict(),
        "optimizer": project.training.optimizer,
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        # The suggestion first, so it reads at a glance; the curve after it.
        first = {"suggested_lr": record.pop("suggested_lr"), "lrs": record.pop("lrs")}
        print(json.dumps({**first, "losses": record.pop("losses"), **record}, allow_nan=False))
        return EXIT_OK
    lines = [f"Learning-rate range test ({project.training.optimizer}, {len(result.lrs)} batches):"]
    lines += _curve_lines(result)
    lines.append(
        f"Suggested learning rate: {format_rate(float(f'{result.suggested_lr:.2g}'))} "
        f"(a tenth of {format_rate(float(f'{result.min_loss_lr:.2g}'))}, where the smoothed "
        f"loss was lowest). Train with --lr {result.suggested_lr:.2g}."
    )
    print("\n".join(lines), file=sys.stdout, flush=True)
    return EXIT_OK
