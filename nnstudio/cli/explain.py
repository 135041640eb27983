"""``nnstudio explain MODEL.nnz --dataset NAME --index I [--json]``: one sample's forward pass,
loss, backward pass, optimizer step and gradient check, with the real numbers
(nnstudio.project.explain does the work; this module reads the files and prints).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from nnstudio.cli.setting_options import add_setting_option, names_help
from nnstudio.cli.split_option import add_split_option

if TYPE_CHECKING:  # the parser is built at every start: the engine loads only when it runs
    from nnstudio.project.explain_steps import Explanation
    from nnstudio.project.gradient_check import GradientCheck

EXIT_OK = 0


def add_parser(commands, common, dataset_options, non_negative_int) -> None:
    """The ``explain`` sub-command (called by cli/main.py's build_parser)."""
    parser = commands.add_parser(
        "explain",
        prog="nnstudio explain",
        parents=[common, dataset_options],
        help="show the math of one sample: forward, loss, backward, update",
        description="Walk one sample of a dataset through a saved model: each layer's z = xW + "
        "b and a = f(z), the loss with its numbers, dL/da, dL/dz and the weight gradients, "
        "what one optimizer step would change, and a finite-difference check of the gradients.",
    )
    parser.add_argument("model", metavar="MODEL.nnz", help="a model saved by nnstudio")
    parser.add_argument(
        "--index", type=non_negative_int, default=0, metavar="I", help="the sample (default 0)"
    )
    add_split_option(parser, "which split the sample comes from")
    parser.add_argument(
        "--training-mode",
        action="store_true",
        help="run the layers as in training (Dropout draws a mask, BatchNorm uses the "
        "sample's own statistics); default: as in evaluation",
    )
    from nnstudio.engine.registry import OPTIMIZERS
    from nnstudio.project import settings

    trained_with = "the one the model was trained with, else adam"
    parser.add_argument(
        "--optimizer",
        metavar="NAME",
        help="The optimizer whose step is shown. "
        + names_help(settings.OPTIMIZER, OPTIMIZERS, default=trained_with),
    )
    add_setting_option(parser, "--lr", settings.LEARNING_RATE, "RATE", default="the model's")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _optimizer_for(args, bundle):
    """A checkpoint's own optimizer (with its state), else one with the recorded settings."""
    from nnstudio.engine.optimizers import get_optimizer

    optimizer = getattr(bundle, "optimizer", None)
    training = (bundle.metadata or {}).get("training") or {}
    if not isinstance(training, dict):
        training = {}
    name = args.optimizer or (
        type(optimizer).__name__ if optimizer is not None else training.get("optimizer")
    )
    name = name if isinstance(name, str) else "adam"
    if optimizer is not None and type(optimizer).__name__.lower() == name.lower():
        if args.lr is not None:
            optimizer.lr = args.lr
        return optimizer
    settings = training.get("optimizer_settings") if not args.optimizer else {}
    settings = dict(settings) if isinstance(settings, dict) else {}
    lr = args.lr if args.lr is not None else training.get("learning_rate")
    if isinstance(lr, (int, float)) and not isinstance(lr, bool):
        settings["lr"] = float(lr)
    try:
        return get_optimizer(name, **settings)
    except (TypeError, ValueError):
        return get_optimizer(name, **({"lr": settings["lr"]} if "lr" in settings else {}))


def _sample(args, bundle):
    from nnstudio.cli import predict

    dataset = predict._dataset_for(args, bundle)
    x, y = predict._split(dataset, args.split)
    predict._check_fits(bundle, dataset, args.model)
    if args.index >= len(x):
        raise predict.InputError(
            f"--index {args.index} is out of range: the {args.split} split of "
            f"{dataset.name} has {len(x)} samples (0 to {len(x) - 1})"
        )
    chosen = predict._fit_inputs(x[args.index : args.index + 1], dataset, bundle)
    return dataset, chosen[0], y[args.index]


def run_explain(args: argparse.Namespace) -> int:
    from nnstudio.engine.io import json_plain, load_model_or_checkpoint
    from nnstudio.project.explain import explain_sample
    from nnstudio.project.gradient_check import check_gradients

    bundle = load_model_or_checkpoint(args.model)
    dataset, x, target = _sample(args, bundle)
    explanation = explain_sample(
        bundle.model,
        bundle.make_loss(),
        x,
        target,
        optimizer=_optimizer_for(args, bundle),
        training=args.training_mode,
    )
    check = check_gradients(explanation)
    if args.json:
        header = {
            "model": str(args.model),
            "dataset": dataset.name,
            "split": args.split,
            "index": args.index,
        }
        print(json.dumps(json_plain({**header, **to_plain(explanation, check)}), allow_nan=False))
    else:
        print(f"{args.model}, sample {args.index} of the {args.split} split of {dataset.name}")
        print(walkthrough_text(explanation, check))
    return EXIT_OK


# -- plain forms for --json and the text walk-through ----------------------------------------


def to_plain(explanation: Explanation, check: GradientCheck | None = None) -> dict:
    """One JSON-ready dict: input, target, layers, loss, gradients, update, gradient_check."""
    layers = []
    for step in explanation.layers:
        entry = {"name": step.name, "type": step.kind, "formula": step.formula}
        if step.note:
            entry["note"] = step.note
        for key in ("z", "output", "grad_output", "grad_z", "mask"):
            value = getattr(step, key)
            if value is not None:
                entry[key] = value.tolist()
        if step.activation is not None:
            entry["activation"] = step.activation
        layers.append(entry)
    loss = explanation.loss
    plain = {
        "input": explanation.input.tolist(),
        "target": explanation.target.tolist(),
        "training_mode": explanation.training,
        "layers": layers,
        "loss": {
            "name": loss.name,
            "value": loss.value,
            "formula": loss.formula,
            "with_numbers": loss.lines,
            "outputs": loss.outputs.tolist(),
            "grad_outputs": loss.grad_outputs.tolist(),
            "gradient_formula": loss.grad_formula,
            "penalty": loss.penalty,
        },
        "gradients": {name: g.tolist() for name, g in explanation.gradients.items()},
        "update": {
            name: {
                "optimizer": explanation.optimizer,
                "formula": update.formula,
                "change": update.change.tolist(),
                "terms": {k: v.tolist() for k, v in update.terms.items() if k != "gradient g"},
            }
            for name, update in explanation.updates.items()
        },
    }
    if loss.probabilities is not None:
        plain["loss"]["probabilities"] = loss.probabilities.tolist()
    if check is not None:
        plain["gradient_check"] = {
            "max_relative_error": check.max_relative_error,
            "verdict": check.verdict,
            "at_kinks": check.at_kinks,
            "epsilon": check.epsilon,
            "entries": check.rows,
        }
    return plain


def _array_summary(array, limit: int = 8) -> str:
    import numpy as np

    from nnstudio.project.explain_steps import format_number

    flat = np.ravel(array)
    shown = ", ".join(format_number(v) for v in flat[:limit])
    more = f", … ({flat.size} values)" if flat.size > limit else ""
    return f"[{shown}{more}]"


def walkthrough_text(explanation: Explanation, check: GradientCheck | None = None) -> str:
    """The pass as readable lines: forward, loss, backward, update, check."""
    import numpy as np

    from nnstudio.project.explain import chain_rule
    from nnstudio.project.explain_steps import format_number

    mode = "training mode" if explanation.training else "inference mode"
    lines = [f"Forward pass ({mode}); input {_array_summary(explanation.input)}"]
    for step in explanation.layers:
        lines.append(f"  {step.name}: {step.formula}")
        if step.note:
            lines.append(f"      ({step.note})")
        if step.z is not None and step.explainer.weighted_sum:
            lines.append(f"      z = {_array_summary(step.z)}")
        if step.mask is not None:
            lines.append(f"      mask = {_array_summary(step.mask)}")
        lines.append(f"      a = {_array_summary(step.output)}")
    loss = explanation.loss
    lines += [f"Loss: {loss.label}: {loss.formula}"] + [f"  {line}" for line in loss.lines]
    lines.append(f"  {loss.grad_formula} = {_array_summary(loss.grad_outputs)}")
    lines.append("Backward pass (chain rule, last layer first)")
    for step in reversed(explanation.layers):
        lines.append(f"  {step.name}: dL/da = {_array_summary(step.grad_output)}")
        if step.grad_z is not None and step.explainer.weighted_sum:
            unit = int(np.argmax(np.abs(np.ravel(step.grad_z))))
            lines.append(f"      unit {unit}: {chain_rule(step, unit)['text']}")
        for key, grad in step.grads.items():
            lines.append(f"      dL/d{key} {grad.shape}: {_array_summary(grad, 5)}")
    if explanation.updates:
        lines.append(f"One {explanation.optimizer} step on this sample")
        for name, update in explanation.updates.items():
            largest = np.unravel_index(int(np.argmax(np.abs(update.change))), update.change.shape)
            lines.append(f"  {name}: {update.formula}")
            lines.append(
                f"      largest change at {list(map(int, largest))}: "
                f"{format_number(update.before[largest])} → {format_number(update.after[largest])}"
            )
    if check is not None:
        lines.append(
            f"Gradient check (central differences, ε = {check.epsilon:g}): {check.summary()}"
        )
    return "\n".join(lines)
