"""Layers: the building blocks of a Sequential model.

- base.py: Layer, Setting, ShapeError and the settings every weight layer shares
- core.py: Dense, Flatten, Reshape, Dropout, Rescale and the activation layers
- conv.py: Conv2D, MaxPool2D, AvgPool2D
- fused.py: Conv2D + MaxPool2D(2) as one training step (Sequential uses it in fit)
- norm.py: BatchNorm
"""

from nnstudio.engine.layers.base import CATEGORIES, Layer, Setting, ShapeError
from nnstudio.engine.layers.conv import AvgPool2D, Conv2D, MaxPool2D
from nnstudio.engine.layers.core import (
    ELU,
    GELU,
    Activation,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    ReLU,
    Rescale,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
)
from nnstudio.engine.layers.norm import BatchNorm

__all__ = [
    "CATEGORIES",
    "Layer",
    "Setting",
    "ShapeError",
    "Dense",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "Flatten",
    "Reshape",
    "Dropout",
    "BatchNorm",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Rescale",
]
