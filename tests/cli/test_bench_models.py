"""`nnstudio bench`'s models: the same-padding CNNs run, and PyTorch's copies match them."""

from __future__ import annotations

import pytest

from nnstudio.cli import bench
from nnstudio.cli.main import main
from nnstudio.engine.model import Sequential


def test_bench_times_the_same_padding_cnns(capsys):
    models = "cnn-same,cnn-same-s2"
    args = ["bench", "--samples", "128", "--epochs", "1", "--models", models, "--no-torch"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "CNN-SAME: nnstudio" in out and "CNN-SAME-S2: nnstudio" in out


def test_the_same_padding_cnns_keep_the_image_size_until_pooled_or_strided():
    for name, shapes in (
        ("cnn-same", [(16, 28, 28), (16, 14, 14), (32, 14, 14), (32, 7, 7)]),
        ("cnn-same-s2", [(16, 14, 14), (32, 7, 7)]),
    ):
        model = Sequential.from_config({"input_shape": [1, 28, 28], "layers": bench.MODELS[name]})
        image_shapes = [shape for _, shape, _ in model.summary() if len(shape) == 3]
        assert image_shapes == shapes, name


@pytest.mark.parametrize("name", sorted(bench.MODELS))
def test_pytorch_builds_the_same_network(name):
    """Same output shape and as many parameters: the comparison is of the same work."""
    torch = pytest.importorskip("torch")
    from nnstudio.cli.bench_torch import torch_model

    config = {"input_shape": [1, 28, 28], "layers": bench.MODELS[name]}
    ours = Sequential.from_config(config)
    theirs = torch_model(bench.MODELS[name], (1, 28, 28))
    assert tuple(theirs(torch.zeros(2, 1, 28, 28)).shape) == (2, 10)
    assert sum(p.numel() for p in theirs.parameters()) == ours.count_params()
