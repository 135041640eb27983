"""nnstudio: a desktop studio for neural networks, written from scratch in NumPy."""

__version__ = "0.1.0"
APP_ID = "io.github.nnstudio.NNStudio"
APP_NAME = "nnstudio"
