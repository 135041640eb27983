"""The loss page: each loss class writes its own formula, and one sample's numbers fill it in
without the page comparing loss names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nnstudio.engine.registry import LOSSES
from nnstudio.project import explain_loss
from nnstudio.project.explain_loss import loss_lines, target_batch


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_writes_its_formula_and_its_gradients(name):
    loss_class = LOSSES[name]
    assert loss_class.FORMULA.count("L =") == 1
    assert loss_class.GRADIENT_FORMULA.startswith(("dL/dy =", "dL/dz ="))


def test_the_loss_page_compares_no_loss_names():
    source = Path(explain_loss.__file__).read_text()
    names = "|".join(sorted(LOSSES))
    assert not re.search(rf'\.name\s*(==|!=|in\b)|"({names})"', source)


def test_one_samples_numbers_fill_in_each_formula():
    outputs, target = np.array([0.5, 2.0]), np.array([1.0, 1.0])
    mse, mae, huber = (LOSSES[name]() for name in ("mse", "mae", "huber"))
    assert loss_lines(mse, outputs, target, 0.625, None) == [
        "L = ((0.5 − 1)² + (2 − 1)²) / 2 = 0.625"
    ]
    assert loss_lines(mae, outputs, target, 0.75, None) == ["L = (|0.5 − 1| + |2 − 1|) / 2 = 0.75"]
    assert loss_lines(huber, outputs, target, 0.3, None) == ["y − t = [-0.5, 1]   L = 0.3"]
    softmax = LOSSES["softmax_crossentropy"]()
    lines = loss_lines(softmax, np.array([0.0, 0.0]), np.array(1), 0.6931, np.array([0.5, 0.5]))
    assert lines[-1] == "L = −log p_1 = −log(0.5) = 0.6931"


def test_a_class_label_is_a_batch_of_one_label_and_a_target_a_row():
    softmax, mse = LOSSES["softmax_crossentropy"](), LOSSES["mse"]()
    assert target_batch(softmax, np.array(2)).dtype == np.intp
    assert target_batch(mse, np.array(2.5)).shape == (1, 1)
    assert target_batch(mse, np.array([1.0, 2.0])).shape == (1, 2)
