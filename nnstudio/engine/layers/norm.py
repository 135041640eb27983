"""BatchNorm: normalises each feature (or image channel) over the batch.

In training it uses the batch's mean and variance and updates running averages of them; in
evaluation it uses those running averages, so a single sample gets a stable answer.

>>> import numpy as np
>>> bn = BatchNorm()
>>> bn.build((3,), np.random.default_rng(0))
(3,)
>>> y = bn.forward(np.arange(12.0).reshape(4, 3), training=True)
>>> np.round(y.mean(axis=0), 6).tolist()
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from nnstudio.engine.layers.base import Layer, Setting, ShapeError


class BatchNorm(Layer):
    """y = gamma · (x - mean) / sqrt(var + epsilon) + beta, per feature or per channel.

    Works on (features,) inputs (after Dense) and on (channels, height, width) images (after
    Conv2D: statistics over batch, height and width). Running statistics are updated as
    running = momentum · running + (1 - momentum) · batch (the variance unbiased).
    """

    category = "Normalization"
    description = "Normalises each feature over the batch: faster, steadier training."
    SETTINGS = [
        Setting(
            "momentum",
            "float",
            0.9,
            minimum=0.0,
            maximum=0.9999,
            help="How slowly the running mean/variance used at evaluation follow the "
            "batches; 0.9-0.99 is typical.",
        ),
        Setting(
            "epsilon",
            "float",
            1e-5,
            minimum=0.0,
            maximum=1.0,
            exclusive_minimum=True,
            help="Added to the variance so nothing divides by zero; 1e-5 is standard.",
        ),
    ]

    def __init__(self, momentum=0.9, epsilon=1e-5):
        super().__init__(momentum=momentum, epsilon=epsilon)

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (1, 3):
            raise ShapeError(
                "input (features,) or (channels, height, width)",
                input_shape,
                hint="Add Flatten before BatchNorm.",
            )
        return tuple(input_shape)

    def _build(self, input_shape, rng):
        channels = input_shape[0]
        self.params["gamma"] = np.ones(channels, self.dtype)
        self.params["beta"] = np.zeros(channels, self.dtype)
        self.buffers["running_mean"] = np.zeros(channels, self.dtype)
        self.buffers["running_var"] = np.ones(channels, self.dtype)

    def _parameter_count(self, input_shape):
        """gamma and beta per feature or channel (the running statistics are not trained)."""
        return 2 * input_shape[0]

    def _axes_and_shape(self, x):
        """Axes to average over, and the shape that broadcasts a per-channel vector."""
        if x.ndim == 2:
            return (0,), (1, -1)
        return (0, 2, 3), (1, -1, 1, 1)

    def forward(self, x, training=False):
        axes, shape = self._axes_and_shape(x)
        if training:
            mean = x.mean(axis=axes)
            centred = x - mean.reshape(shape)
            var = np.mean(np.square(centred), axis=axes)
            self._update_running(mean, var, count=x.size // mean.size)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
            centred = x - mean.reshape(shape)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        normalized = np.multiply(centred, inv_std.reshape(shape), out=centred)
        self._normalized, self._inv_std, self._training = normalized, inv_std, training
        y = normalized * self.params["gamma"].reshape(shape)
        y += self.params["beta"].reshape(shape)
        return y

    def _update_running(self, mean, var, count):
        m = self.momentum
        unbiased = var * (count / max(count - 1, 1))
        running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
        running_mean *= m
        running_mean += (1.0 - m) * mean
        running_var *= m
        running_var += (1.0 - m) * unbiased

    def backward(self, grad_y, need_input_grad=True):
        axes, shape = self._axes_and_shape(grad_y)
        normalized = self._normalized
        np.sum(grad_y, axis=axes, out=self.grads["beta"])
        np.sum(grad_y * normalized, axis=axes, out=self.grads["gamma"])
        if not need_input_grad:
            return None
        scale = (self.params["gamma"] * self._inv_std).reshape(shape)
        if not self._training:
            # The statistics are constants in evaluation: a plain per-channel scale.
            return grad_y * scale
        # Training: mean and variance depend on x too, which removes the gradient's mean and
        # its component along the normalised values.
        count = grad_y.size // self.grads["beta"].size
        grad_x = grad_y - (self.grads["beta"] / count).reshape(shape)
        grad_x -= normalized * (self.grads["gamma"] / count).reshape(shape)
        grad_x *= scale
        return grad_x
