"""Live checks of a layer list against the dataset and the loss, through the engine (Qt-free).

Shapes are inferred by building each layer with the engine itself, so the builder can never
disagree with what ``Sequential.from_config`` will do. Fixes are only offered after being
tried on a copy of the network: a button never promises something that does not work.
"""

from __future__ import annotations

import json

import numpy as np

from nnstudio.project import layer_meta
from nnstudio.project.problems import Analysis, Edit, Fix, LayerInfo, Problem

# Losses that take raw scores ("logits") and apply softmax / sigmoid themselves.
LOGIT_LOSSES = {"softmax_crossentropy", "binary_crossentropy"}
SQUASHING = {"softmax", "sigmoid"}


class ShapeCache:
    """Remembers (layer config, input shape) → (output shape, params, error message).

    Typing in the inspector re-checks the network on every keystroke; with the cache only
    the edited layer and those after it whose input changed are built again.
    """

    def __init__(self, limit: int = 512):
        self._entries: dict[str, tuple] = {}
        self._limit = limit

    def build(self, config: dict, input_shape: tuple) -> tuple:
        key = json.dumps([config, list(input_shape)], sort_keys=True, default=str)
        if key not in self._entries:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[key] = _build_one(config, input_shape)
        return self._entries[key]


# Above this many parameters a layer is not built just to count them (typing 100000 units
# would otherwise allocate hundreds of megabytes per keystroke): the engine counts them.
BUILD_LIMIT = 4_000_000


def _build_one(config: dict, input_shape: tuple) -> tuple:
    """(output_shape, n_params, None) or (None, None, the error the engine raised)."""
    from nnstudio.engine import registry

    try:
        layer = registry.layer_from_config(dict(config))
        n_params = layer.parameter_count(input_shape)
        if n_params > BUILD_LIMIT:
            output = layer.compute_output_shape(tuple(input_shape))
            return tuple(int(v) for v in output), n_params, None
        output = layer.build(tuple(input_shape), np.random.default_rng(0))
    except (ValueError, KeyError, TypeError) as error:  # ShapeError is a ValueError
        return None, None, error
    except MemoryError:
        return None, None, ValueError("this layer is too large for the memory of this computer")
    return tuple(int(v) for v in output), int(layer.count_params()), None


def _describe_error(error: Exception, config: dict, source: str) -> str:
    """The engine's error in words, placed: "Dense needs input (features,); it got 16×13×13
    from MaxPool2D (layer 2). Add Flatten before Dense." """
    needs, got = getattr(error, "needs", None), getattr(error, "got", None)
    if needs is not None and got is not None:
        text = f"{config.get('type', 'This layer')} needs {needs}; it got "
        text += f"{layer_meta.format_shape(got)} from {source}."
        hint = getattr(error, "hint", "")
        return f"{text} {hint}".strip()
    text = str(error.args[0]) if error.args else str(error)
    return text.strip().rstrip(".") + "."


def _source_of(layers: list[dict], index: int) -> str:
    if index == 0:
        return "the input"
    number = layer_meta.layer_number(index - 1)
    return f"{layers[index - 1].get('type', '?')} (layer {number})"


def infer(layers: list[dict], input_shape: tuple | None, cache: ShapeCache) -> list[tuple]:
    """One (output_shape, n_params, message) per layer; after an error the shapes are unknown."""
    results = []
    shape = input_shape
    for index, config in enumerate(layers):
        if shape is None:
            results.append((None, None, None))
            continue
        output, n_params, error = cache.build(config, shape)
        message = _describe_error(error, config, _source_of(layers, index)) if error else None
        results.append((output, n_params, message))
        shape = output
    return results


def _builds_at(layers: list[dict], index: int, input_shape, cache: ShapeCache) -> bool:
    """True when every layer up to ``index`` (inclusive) builds."""
    results = infer(layers[: index + 1], input_shape, cache)
    return all(message is None for _, _, message in results)


def _candidate_fixes(layers: list[dict], index: int, got: tuple | None) -> list[tuple[Fix, int]]:
    """Fixes worth trying for a layer that cannot take its input, each with the index the
    failing position moves to once the fix is applied (to verify it)."""
    config = layers[index]
    type_name = config.get("type", "?")
    previous = layers[index - 1].get("type") if index > 0 else None
    found: list[tuple[Fix, int]] = []
    if got is not None and len(got) > 1:
        flatten = {"type": "Flatten"}
        found.append((Fix("Insert Flatten", (Edit("insert", index, layer=flatten),)), index + 1))
    if got is not None and len(got) == 1:
        guess = layer_meta.guess_image_shape(got)
        if guess and len(guess) == 3:
            reshape = {"type": "Reshape", "shape": guess}
            label = f"Insert Reshape to {layer_meta.format_shape(guess)}"
            found.append((Fix(label, (Edit("insert", index, layer=reshape),)), index + 1))
    if previous in ("Flatten", "Reshape"):
        found.append((Fix(f"Remove {previous}", (Edit("remove", index - 1),)), index - 1))
    if config.get("padding") == "valid":
        edit = Edit("set", index, name="padding", value="same")
        found.append((Fix("Set padding to same", (edit,)), index))
    found.append((Fix(f"Remove {type_name}", (Edit("remove", index),)), index - 1))
    return found


def shape_fixes(layers, index, got, input_shape, cache) -> tuple[Fix, ...]:
    """The candidate fixes that really make the network build up to the problem's position."""
    working = []
    for fix, check_index in _candidate_fixes(layers, index, got):
        fixed = fix.applied_to(layers)
        if check_index < 0 or _builds_at(fixed, check_index, input_shape, cache):
            working.append(fix)
    return tuple(working[:3])


def expected_outputs(n_classes: int | None, task: str, loss_name: str) -> int | None:
    """How many values the last layer must produce, or None when it cannot be known."""
    if not n_classes:
        return None
    if loss_name == "binary_crossentropy":
        return 1 if n_classes <= 2 else n_classes
    return int(n_classes)


def _last_sizing_layer(layers: list[dict]) -> int | None:
    """Index of the last layer with ``units`` when only shape-keeping layers follow it."""
    for index in range(len(layers) - 1, -1, -1):
        config = layers[index]
        if "units" in config:
            return index
        if not layer_meta.keeps_shape(config.get("type", "")):
            return None
    return None


def output_size_problem(layers, output_shape, expected: int, task: str) -> Problem | None:
    if output_shape is None or tuple(output_shape) == (expected,):
        return None
    targets = "1 target value" if expected == 1 else f"{expected} target values"
    what = f"{expected} classes" if task == "classification" else targets
    if expected == 1 and task == "classification":
        what = "2 classes (one output for binary cross-entropy)"
    message = (
        f"The network ends with {layer_meta.format_shape(output_shape)} outputs but the data has "
        f"{what}: the last layer must output {expected} value{'s' if expected > 1 else ''}."
    )
    end = len(layers)
    dense = {"type": "Dense", "units": expected}
    if len(output_shape) > 1:
        edits = (Edit("insert", end, layer={"type": "Flatten"}), Edit("insert", end + 1, dense))
        fix = Fix(f"Add Flatten and Dense({expected})", edits)
        return Problem(end - 1, message, (fix,))
    sizing = _last_sizing_layer(layers)
    if sizing is not None:
        fix = Fix(f"Set units to {expected}", (Edit("set", sizing, name="units", value=expected),))
        return Problem(sizing, message, (fix,))
    fix = Fix(f"Add Dense({expected}) at the end", (Edit("insert", end, layer=dense),))
    return Problem(end - 1, message, (fix,))


def _final_activation(layers: list[dict]) -> tuple[int, str, str] | None:
    """(index, activation, where) of the activation the network ends with, skipping Dropout
    (any regularization layer: it changes nothing at prediction)."""
    for index in range(len(layers) - 1, -1, -1):
        config = layers[index]
        type_name = config.get("type", "")
        if layer_meta.category_of(type_name) == "Regularization":
            continue
        if config.get("activation"):
            return index, str(config["activation"]).lower(), "setting"
        if config.get("function"):
            return index, str(config["function"]).lower(), "layer"
        if layer_meta.category_of(type_name) == "Activation":
            return index, type_name.lower().replace("leakyrelu", "leaky_relu"), "layer"
        return None
    return None


def output_activation_problems(layers: list[dict], task: str, loss_name: str) -> list[Problem]:
    final = _final_activation(layers)
    if final is None:
        return []
    index, function, where = final
    type_name = layers[index].get("type", "?")
    if where == "setting":
        fix = Fix(
            "Set activation to linear", (Edit("set", index, name="activation", value="linear"),)
        )
    else:
        fix = Fix(f"Remove {type_name}", (Edit("remove", index),))
    if loss_name in LOGIT_LOSSES and function in SQUASHING:
        applies = "softmax" if loss_name == "softmax_crossentropy" else "sigmoid"
        message = (
            f"The loss {loss_name} takes raw scores (logits) and applies {applies} itself; "
            f"a {function} here squashes the outputs twice and the network barely learns."
        )
        return [Problem(index, message, (fix,))]
    if task == "classification" and function in ("relu", "elu", "leaky_relu"):
        message = (
            f"{function} on the outputs clips negative scores, so the network cannot rule a "
            "class out. The last layer usually has no activation."
        )
        return [Problem(index, message, (fix,), severity="warning")]
    return []


def _linear_stack_warnings(layers: list[dict]) -> list[Problem]:
    """Dense → Dense with nothing non-linear between them is one linear layer in disguise."""
    problems = []
    for index in range(len(layers) - 1):
        first, second = layers[index], layers[index + 1]
        if first.get("type") == "Dense" == second.get("type") and (
            first.get("activation", "linear") == "linear"
        ):
            message = (
                "No activation between this Dense and the next: two linear layers in a row "
                "compute no more than one."
            )
            fix = Fix(
                "Set activation to relu", (Edit("set", index, name="activation", value="relu"),)
            )
            problems.append(Problem(index, message, (fix,), severity="warning"))
    return problems


def _dropout_at_the_end(layers: list[dict]) -> list[Problem]:
    """Dropout after the output layer zeroes answers at random while training (issue 21)."""
    index = len(layers) - 1
    if index < 1 or layers[index].get("type") != "Dropout":
        return []
    message = (
        "Dropout after the output layer: while training it zeroes some of the network's "
        "answers at random, so the loss measures damaged outputs. Put Dropout before the last "
        "Dense."
    )
    fix = Fix("Remove this Dropout", (Edit("remove", index),))
    return [Problem(index, message, (fix,), severity="warning")]


def _empty_network_problem(input_shape, expected: int | None) -> Problem:
    message = "The network has no layers yet: drag one in from the palette or pick a preset."
    if expected is None or input_shape is None:
        return Problem(None, message)
    edits = []
    if len(input_shape) > 1:
        edits.append(Edit("insert", 0, layer={"type": "Flatten"}))
    edits.append(Edit("insert", len(edits), layer={"type": "Dense", "units": expected}))
    label = "Add " + " and ".join(layer_meta.card_title(e.layer) for e in edits)
    return Problem(None, message, (Fix(label, tuple(edits)),))


def analyze(layers, input_shape, n_classes, task, loss_name, cache: ShapeCache) -> Analysis:
    """Check everything the builder can know before training; never raises."""
    infos = [LayerInfo() for _ in layers]
    problems: list[Problem] = []
    expected = expected_outputs(n_classes, task, loss_name)
    if input_shape is None:
        problems.append(
            Problem(None, "No dataset yet: pick one so the input shape is known and checked.")
        )
    if not layers:
        problems.append(_empty_network_problem(input_shape, expected))
        return Analysis(infos, problems, input_shape)
    shape = input_shape
    for index, (output, n_params, message) in enumerate(infer(layers, input_shape, cache)):
        infos[index].output_shape, infos[index].n_params = output, n_params
        if message:
            fixes = shape_fixes(layers, index, shape, input_shape, cache)
            problems.append(Problem(index, message, fixes))
        shape = output
    if input_shape is not None and expected is not None and shape is not None:
        size_problem = output_size_problem(layers, shape, expected, task)
        if size_problem:
            problems.append(size_problem)
    problems += output_activation_problems(layers, task, loss_name)
    problems += _linear_stack_warnings(layers)
    problems += _dropout_at_the_end(layers)
    for problem in problems:
        if problem.index is not None and 0 <= problem.index < len(infos):
            infos[problem.index].problems.append(problem)
    return Analysis(infos, problems, input_shape)


def memory_bytes(n_params: int) -> int:
    """Bytes of the float32 weights (what a saved model weighs)."""
    return 4 * n_params
