"""``nnstudio landscape MODEL.nnz --dataset NAME [--weights A B | --random-directions]``: the
loss on a grid around the model's weights, along two weights or two random directions
(nnstudio.project.landscape does the work; this module reads the files and prints).
"""

from __future__ import annotations

import json

from nnstudio.cli.split_option import add_split_option

EXIT_OK = 0


def add_parser(commands, common, dataset_options, positive_int, non_negative_int) -> None:
    """The ``landscape`` sub-command (called by cli/main.py's build_parser)."""
    parser = commands.add_parser(
        "landscape",
        prog="nnstudio landscape",
        parents=[common, dataset_options],
        help="the loss on a 2-D slice around a saved model's weights",
        description="Move two of the model's weights (or its weights along two random "
        "directions normalized per unit, as Li et al. 2018) over a grid and print the mean loss "
        "over a split at each point, computed as `nnstudio evaluate` computes it. The model "
        "file is not changed.",
    )
    parser.add_argument("model", metavar="MODEL.nnz", help="a model saved by nnstudio")
    add_split_option(parser, "the samples the loss is averaged over")
    axes = parser.add_mutually_exclusive_group(required=True)
    axes.add_argument(
        "--weights",
        nargs=2,
        metavar=("A", "B"),
        help="two weights named as explain names them, with an index: 0.W[1,3] 1.b[0]",
    )
    axes.add_argument(
        "--random-directions",
        action="store_true",
        help="two random directions, each unit's part scaled to that unit's weights",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="of the random directions (default 0)"
    )
    parser.add_argument(
        "--steps", type=positive_int, default=11, help="grid points on each axis (default 11)"
    )
    parser.add_argument(
        "--span",
        type=float,
        default=1.0,
        help="the grid runs from -SPAN to SPAN on each axis (default 1)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run_landscape(args) -> int:
    from nnstudio.cli import predict
    from nnstudio.cli.images import InputError
    from nnstudio.engine.io import load_model_or_checkpoint
    from nnstudio.project import landscape

    bundle = load_model_or_checkpoint(args.model)
    dataset = predict._dataset_for(args, bundle)
    x, y = predict._split(dataset, args.split)
    predict._check_fits(bundle, dataset, args.model)
    x = predict._fit_inputs(x, dataset, bundle)
    try:
        if args.weights:
            directions = landscape.weight_directions(bundle.model, *args.weights)
        else:
            directions = landscape.random_directions(bundle.model, args.seed)
        landscape.grid_offsets(args.steps, args.span)  # bad values fail before any work
    except ValueError as error:
        raise InputError(str(error)) from None
    centre = {name: value.copy() for name, value in bundle.model.parameters().items()}
    result = landscape.loss_slice(
        bundle.model, bundle.loss, x, y, directions, args.steps, args.span
    )
    path = _path(bundle, centre, directions)
    if args.json:
        header = {"model": str(args.model), "dataset": dataset.name, "split": args.split}
        extra = {"path": [{"epoch": e, "x": a, "y": b} for e, a, b in path]} if path else {}
        print(json.dumps({**header, **result.to_dict(), **extra}, allow_nan=False))
    else:
        print(_table(result, args))
    return EXIT_OK


def _path(bundle, centre, directions) -> list[tuple[int, float, float]]:
    """Where the run's epochs lie on the slice, when the file is a checkpoint with a
    timeline (epochs whose weights do not fit this model are left out)."""
    from nnstudio.project import landscape
    from nnstudio.project.timeline import checkpoint_timeline

    timeline = checkpoint_timeline(bundle)
    if timeline is None:
        return []
    shapes = {name: value.shape for name, value in centre.items()}
    epochs = []
    for epoch in timeline.epochs():
        weights = timeline.get(epoch).weights
        if all(name in weights and weights[name].shape == s for name, s in shapes.items()):
            epochs.append((epoch, weights))
    return landscape.project_path(centre, directions, epochs)


def _table(result, args) -> str:
    """The grid as rows of losses: one row per offset of the first axis."""
    first, second = result.labels
    lines = [
        f"loss of {args.model} on the {args.split} split; centre {result.center_loss:.4f}",
        f"rows: {first} + offset; columns: {second} + offset",
        "offset " + " ".join(f"{b:>8.3g}" for b in result.y),
    ]
    for a, row in zip(result.x, result.loss, strict=True):
        lines.append(f"{a:>6.3g} " + " ".join(f"{value:>8.4g}" for value in row))
    return "\n".join(lines)
