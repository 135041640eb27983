"""Export a saved model as one readable Python file that needs only NumPy, with its weights in
an ``.npz`` beside it (loaded with ``allow_pickle=False``).

The script's ``forward`` is written layer by layer the way tutorials write it (im2col for the
convolutions), ``predict(x)`` returns class probabilities (regression: the values), and inputs
are taken as the dataset files hold them, the input scaling being its first lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import nnstudio
from nnstudio.project.export_common import (
    ExportError,
    broadcast_shape,
    class_names,
    dataset_name,
    input_preparation,
    model_steps,
    output_function,
)

HELPERS = {
    "relu": """
def relu(x):
    return np.maximum(x, 0.0)
""",
    "leaky_relu": """
def leaky_relu(x, alpha):
    return np.where(x > 0.0, x, alpha * x)
""",
    "elu": """
def elu(x, alpha):
    return np.where(x > 0.0, x, alpha * np.expm1(np.minimum(x, 0.0)))
""",
    "gelu": '''
def gelu(x):
    """The tanh approximation of GELU (as in BERT and GPT-2)."""
    x3 = np.clip(x, -20.0, 20.0) ** 3
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x3)))
''',
    "sigmoid": """
def sigmoid(x):
    e = np.exp(-np.abs(x))  # exp of -|x| never overflows
    return np.where(x >= 0, 1.0, e) / (1.0 + e)
""",
    "tanh": "",
    "softmax": '''
def softmax(x):
    """Softmax over axis 1 (the classes, or the channels of an image)."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
''',
    "conv": '''
def im2col(x, kernel, stride):
    """Every kernel×kernel window of x (N, C, H, W) as a column: (C·k·k, N·out_h·out_w)."""
    n, c, h, w = x.shape
    out_h, out_w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    columns = np.empty((c, kernel, kernel, n, out_h, out_w), x.dtype)
    for i in range(kernel):
        for j in range(kernel):
            rows, cols = slice(i, i + stride * out_h, stride), slice(j, j + stride * out_w, stride)
            columns[:, i, j] = x[:, :, rows, cols].transpose(1, 0, 2, 3)
    return columns.reshape(c * kernel * kernel, n * out_h * out_w), out_h, out_w


def conv2d(x, W, b, stride, pads):
    """Convolution as one matrix product: W (filters, C·k·k) times the columns."""
    (top, bottom), (left, right) = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    columns, out_h, out_w = im2col(x, W.shape[2], stride)
    y = W.reshape(len(W), -1) @ columns  # (filters, N·out_h·out_w)
    if b is not None:
        y += b[:, None]
    return y.reshape(len(W), len(x), out_h, out_w).transpose(1, 0, 2, 3)
''',
    "pool": '''
def pool(x, size, stride, reduce):
    """Max or average over each size×size window (windows that do not fit are dropped)."""
    n, c, h, w = x.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    windows = [
        x[:, :, slice(i, i + stride * out_h, stride), slice(j, j + stride * out_w, stride)]
        for i in range(size)
        for j in range(size)
    ]
    return reduce(windows, axis=0)
''',
    "batchnorm": '''
def batch_norm(x, gamma, beta, mean, var, epsilon):
    """Inference form: the running mean and variance, per feature or image channel."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = (gamma / np.sqrt(var + epsilon)).reshape(shape)
    return (x - mean.reshape(shape)) * scale + beta.reshape(shape)
''',
}


def _weight(key: str) -> str:
    return f'WEIGHTS["{key}"]'


def _bias(step) -> str:
    return _weight(f"{step.name}.b") if "b" in step.arrays else "None"


def _weights_line(name: str, keys) -> str:
    """``W, b = WEIGHTS["layer0_dense.W"], WEIGHTS["layer0_dense.b"]``"""
    return f"{', '.join(keys)} = {', '.join(_weight(f'{name}.{key}') for key in keys)}"


def _step_lines(step) -> list[str]:
    """The lines of ``forward`` for one step (x in, x out)."""
    kind, name = step.kind, step.name
    if kind == "dense":
        if "b" not in step.arrays:
            return [f"x = x @ {_weight(name + '.W')}"]
        return [_weights_line(name, ("W", "b")), "x = x @ W + b"]
    if kind == "conv":
        s = step.settings
        pads = tuple(tuple(int(p) for p in pair) for pair in s["pads"])
        load = (
            _weights_line(name, ("W", "b"))
            if "b" in step.arrays
            else f"W, b = {_weight(name + '.W')}, None"
        )
        return [load, f"x = conv2d(x, W, b, stride={s['stride']}, pads={pads})"]
    if kind in ("maxpool", "avgpool"):
        reduce = "np.max" if kind == "maxpool" else "np.mean"
        size, stride = step.settings["size"], step.settings["stride"]
        return [f"x = pool(x, size={size}, stride={stride}, reduce={reduce})"]
    if kind == "batchnorm":
        epsilon = step.settings["epsilon"]
        return [
            _weights_line(name, ("gamma", "beta")),
            _weights_line(name, ("mean", "var")),
            f"x = batch_norm(x, gamma, beta, mean, var, epsilon={epsilon!r})",
        ]
    if kind == "dropout":
        return [f"# Dropout (rate {step.settings['rate']}) does nothing at prediction time"]
    if kind == "flatten":
        return ["x = x.reshape(len(x), -1)"]
    if kind == "reshape":
        return [f"x = x.reshape(len(x), {', '.join(map(str, step.settings['shape']))})"]
    if kind == "rescale":
        return [f"x = x * {_weight(name + '.scale')} + {_weight(name + '.offset')}"]
    if kind == "tanh":
        return ["x = np.tanh(x)"]
    if kind in ("leaky_relu", "elu"):
        return [f"x = {kind}(x, alpha={step.settings['alpha']!r})"]
    return [f"x = {kind}(x)"]


def _forward_lines(model, steps) -> list[str]:
    lines, shown = [], set()
    for step in steps:
        if step.layer not in shown:
            shown.add(step.layer)
            layer = model.layers[step.layer]
            comment = f"# layer {step.layer}: {layer!r}"
            if len(comment) > 80:  # a Rescale of many targets: its numbers are in WEIGHTS
                comment = f"# layer {step.layer}: {type(layer).__name__}"
            lines.append(f"{comment} -> {tuple(layer.output_shape)}")
        lines.extend(_step_lines(step))
    return lines


def _preparation_lines(preparation, input_shape) -> list[str]:
    lines = ["x = np.asarray(x, dtype=np.float32)"]
    if preparation.pixel_scale is not None:
        lines.append("x = x * np.float32(1 / 255)  # pixels 0-255 to 0-1, as nnstudio loads them")
    if preparation.offset is not None:
        shape = broadcast_shape(preparation.offset, input_shape)
        lines.append(f'offset = WEIGHTS["scaling_offset"].reshape({shape})')
        lines.append(f'divisor = WEIGHTS["scaling_divisor"].reshape({shape})')
        lines.append("x = (x - offset) / divisor  # the dataset's input scaling")
    return lines


def _helpers_needed(steps, function) -> list[str]:
    kinds = {step.kind for step in steps}
    if function:
        kinds.add(function)
    names = []
    for key in HELPERS:
        if key in kinds or (key == "pool" and kinds & {"maxpool", "avgpool"}):
            names.append(key)
    return [HELPERS[key] for key in names if HELPERS[key]]


def _probability_lines(bundle) -> list[str]:
    function = output_function(bundle)
    if function is None:
        return ["return forward(x)"]
    lines = ["z = forward(x).reshape(len(x), -1)"]
    if function == "softmax":
        return [*lines, "return softmax(z)"]
    if int(np.prod(bundle.model.output_shape)) == 1:
        return [*lines, "p = sigmoid(z)", "return np.concatenate([1.0 - p, p], axis=1)"]
    return [*lines, "return sigmoid(z)"]


def _indent(lines, spaces=4) -> str:
    return "\n".join(" " * spaces + line if line else "" for line in lines)


TEMPLATE = '''"""{title}: a neural network exported by nnstudio {version}. Needs only NumPy.

Its weights are in {weights_file} beside this file.
Inputs x: {input_text}.

    import numpy as np
    import {module} as model

    outputs = model.predict(x)       # {predict_text}
    {usage_last}

Or from a shell: python {module}.py INPUTS.npy (prints one prediction per row).
"""

import sys
from pathlib import Path

import numpy as np

CLASS_NAMES = {class_names}
INPUT_SHAPE = {input_shape}
_WEIGHTS_FILE = Path(__file__).with_name("{weights_file}")
with np.load(_WEIGHTS_FILE, allow_pickle=False) as _archive:
    WEIGHTS = {{name: _archive[name] for name in _archive.files}}

{helpers}

def forward(x):
    """The network layer by layer: raw outputs ({output_text}) for inputs x."""
{forward}
    return x


def predict(x):
    """{predict_doc}, for inputs x as the module docstring says."""
{predict}


if __name__ == "__main__":
    inputs = np.load(sys.argv[1], allow_pickle=False).reshape(-1, *INPUT_SHAPE)
    for row in predict(inputs):
        print({print_row})
'''


def python_source(bundle, module: str) -> str:
    """The script's text; ``module`` is its file name without ``.py``."""
    preparation = input_preparation(bundle)
    steps = model_steps(bundle.model)
    function = output_function(bundle)
    input_shape = tuple(bundle.model.input_shape)
    names = class_names(bundle) if function else None
    forward = _preparation_lines(preparation, input_shape) + _forward_lines(bundle.model, steps)
    if function:
        predict_text = "class probabilities, shape (N, classes)"
        usage_last = "labels = [model.CLASS_NAMES[k] for k in outputs.argmax(axis=1)]"
        print_row = "CLASS_NAMES[int(row.argmax())], float(row.max())"
        output_text = "logits"
    else:
        predict_text = "predicted values, shape (N, targets)"
        usage_last = "print(outputs[:5])"
        print_row = "*row.tolist()"
        output_text = "the predicted values"
    return TEMPLATE.format(
        title=module,
        version=nnstudio.__version__,
        weights_file=f"{module}.npz",
        input_text=f"{preparation.description}\n(dataset {dataset_name(bundle) or 'unknown'})",
        module=module,
        predict_text=predict_text,
        usage_last=usage_last,
        class_names=json.dumps(names),
        input_shape=input_shape,
        helpers="\n".join(_helpers_needed(steps, function)),
        forward=_indent(forward),
        output_text=output_text,
        predict_doc=predict_text[0].upper() + predict_text[1:],
        predict=_indent(_probability_lines(bundle)),
        print_row=print_row,
    ).replace("= null", "= None")


def python_weights(bundle) -> dict[str, np.ndarray]:
    """The arrays the script reads, by the names it uses."""
    arrays = {}
    for step in model_steps(bundle.model):
        for key, value in step.arrays.items():
            arrays[f"{step.name}.{key}"] = np.asarray(value, np.float32)
    preparation = input_preparation(bundle)
    if preparation.offset is not None:
        arrays["scaling_offset"] = preparation.offset
        arrays["scaling_divisor"] = preparation.divisor
    return arrays


EXPORT_MARK = "a neural network exported by nnstudio"


def _refuse_foreign_weights(script: Path, weights: Path) -> None:
    """The weights go beside the script under a name the user did not type: an .npz already
    there is replaced only when it belongs to an earlier export of this script."""
    if not weights.exists():
        return
    try:
        earlier = script.is_file() and EXPORT_MARK in script.read_text("utf-8", "replace")[:400]
    except OSError:
        earlier = False
    if not earlier:
        raise ExportError(
            f"{weights} already exists and is not the weights of an earlier export of "
            f"{script.name}; the script's weights would replace it. Choose another script name."
        )


def export_python(bundle, path) -> tuple:
    """Write the script to ``path`` (``.py``) and its weights beside it (same name, ``.npz``),
    each atomically; returns both paths. Both targets are checked before anything is written,
    and a script that fails to save takes a new weights file with it."""
    from nnstudio.atomic_file import check_writable, write_atomically

    path = Path(path)
    weights_path = path.with_suffix(".npz")
    if not path.stem.isidentifier():
        raise ExportError(
            f"{path.name}: the script name must be a Python module name (letters, digits, "
            "underscores; e.g. digit_model.py) so that it can be imported"
        )
    if path.suffix != ".py":
        raise ExportError(f"{path.name}: the script's name must end in .py (e.g. model.py)")
    for target in (path, weights_path):
        check_writable(target)
    _refuse_foreign_weights(path, weights_path)
    source = python_source(bundle, path.stem)
    arrays = python_weights(bundle)
    existed = weights_path.exists()
    write_atomically(weights_path, lambda file: np.savez(file, **arrays))
    try:
        write_atomically(path, source)
    except BaseException:
        if not existed:
            weights_path.unlink(missing_ok=True)
        raise
    return path, weights_path
