"""Learning-rate schedules: values per epoch, warm-up, settings validation, state."""

import doctest
import math

import pytest

from nnstudio.engine import schedules
from nnstudio.engine.schedules import (
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    StepSchedule,
    get_schedule,
)


def test_docstring_examples_run():
    assert doctest.testmod(schedules).failed == 0


def test_constant():
    assert [ConstantSchedule()(0.01, e) for e in range(3)] == [0.01, 0.01, 0.01]
    assert isinstance(get_schedule(None), ConstantSchedule)


def test_step_decays_every_step_size_epochs():
    schedule = StepSchedule(step_size=3, gamma=0.5)
    assert [schedule(1.0, e) for e in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential():
    schedule = ExponentialSchedule(gamma=0.9)
    assert schedule(0.1, 0) == 0.1
    assert schedule(0.1, 2) == pytest.approx(0.081)


def test_cosine_without_warmup_goes_from_base_to_min():
    schedule = CosineSchedule(total_steps=10, min_lr=0.001)
    assert schedule(0.1, 0) == pytest.approx(0.1)
    assert schedule(0.1, 5) == pytest.approx(0.001 + 0.099 * 0.5)  # half way: the mean
    assert schedule(0.1, 10) == pytest.approx(0.001)
    assert schedule(0.1, 50) == pytest.approx(0.001)  # stays at min_lr afterwards
    values = [schedule(0.1, e) for e in range(11)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_cosine_warmup_rises_linearly_then_decays():
    schedule = CosineSchedule(total_steps=6, warmup_steps=3)
    # warm-up: (e + 1) / (3 + 1) of the base
    assert [schedule(0.4, e) for e in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert schedule(0.4, 3) == pytest.approx(0.4)
    assert schedule(0.4, 4) == pytest.approx(0.4 * 0.5 * (1 + math.cos(math.pi / 3)))


def test_cosine_needs_total_steps_after_warmup():
    with pytest.raises(ValueError, match="needs total_steps"):
        CosineSchedule()(0.1, 0)


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("step", {"step_size": 0}, "step_size must be >= 1; got 0"),
        ("step", {"step_size": 2.5}, "step_size must be a whole number; got 2.5"),
        ("step", {"gamma": -1}, "gamma must be >= 0; got -1"),
        ("exponential", {"gamma": "x"}, "gamma must be a number; got 'x'"),
        ("cosine", {"total_steps": 5, "warmup_steps": 5}, "warmup_steps \\(5\\) must be smaller"),
        ("cosine", {"min_lr": -0.1}, "min_lr"),
        ("step", {"gama": 0.1}, "no setting 'gama'. Known settings: step_size, gamma"),
        ("cosnie", {}, "Could not interpret learning-rate schedule 'cosnie'. Known: constant"),
    ],
)
def test_bad_settings_fail_naming_the_value(name, settings, message):
    with pytest.raises(ValueError, match=message):
        get_schedule(name, **settings)


def test_negative_epoch_fails():
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        StepSchedule()(0.1, -1)


def test_state_dict_round_trip():
    schedule = get_schedule("cosine", total_steps=20, min_lr=1e-4, warmup_steps=2)
    state = schedule.state_dict()
    assert state == {"type": "cosine", "total_steps": 20, "min_lr": 1e-4, "warmup_steps": 2}
    other = CosineSchedule(total_steps=3)
    other.load_state_dict(state)
    assert [other(0.1, e) for e in range(25)] == [schedule(0.1, e) for e in range(25)]


def test_old_state_with_a_name_key_still_loads():
    # Before one config key everywhere, schedule configs said "name" instead of "type".
    schedule = StepSchedule()
    schedule.load_state_dict({"name": "step", "step_size": 3, "gamma": 0.5})
    assert schedule.get_config() == {"type": "step", "step_size": 3, "gamma": 0.5}


def test_settings_are_described_for_the_window():
    for cls in schedules.SCHEDULES.values():
        assert cls.label and cls.help.endswith("."), cls
        assert cls().get_config()["type"] == cls.name
        for setting in cls.SETTINGS:
            assert setting.label and len(setting.help) > 20 and setting.help.endswith("."), setting
            assert setting.validate(setting.default, cls.__name__) == setting.default
