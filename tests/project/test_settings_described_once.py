"""The training and dataset settings (project/settings.py) are the one description that the
project file, the engine's defaults, the data layer's keywords and the command line follow."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from nnstudio.data.catalog import load_dataset
from nnstudio.engine.fit import FitConfig
from nnstudio.engine.registry import LOSSES, OPTIMIZERS, SCHEDULES
from nnstudio.project import TrainingSettings
from nnstudio.project import settings as project_settings
from nnstudio.project.settings import (
    DATASET_OPTION_NAMES,
    DATASET_SETTINGS,
    TRAINING_SETTINGS,
    check_dataset_options,
    check_known_options,
)


def test_every_load_dataset_keyword_is_a_described_option():
    keywords = set(inspect.signature(load_dataset).parameters) - {"name", "progress", "download"}
    assert set(DATASET_OPTION_NAMES) == keywords


def test_the_dataset_defaults_are_load_datasets():
    parameters = inspect.signature(load_dataset).parameters
    for setting in DATASET_SETTINGS:
        assert parameters[setting.name].default == setting.default, setting.name


def test_a_training_settings_default_is_its_settings_and_the_engines():
    defaults = TrainingSettings()
    fit_defaults = {field.name: field.default for field in dataclasses.fields(FitConfig)}
    for setting in TRAINING_SETTINGS:
        assert getattr(defaults, setting.name) == setting.default, setting.name
    # One number each, whether a project, the CLI's options or the engine's fit() decides.
    assert defaults.epochs == fit_defaults["epochs"] == 20
    assert defaults.batch_size == fit_defaults["batch_size"]
    assert defaults.early_stopping == fit_defaults["early_stopping_patience"]
    described = {s.name for s in TRAINING_SETTINGS} | {"optimizer_settings", "schedule_settings"}
    assert described == set(vars(defaults))


def test_the_names_a_project_may_choose_are_the_registrys():
    assert project_settings.LOSS.choices == tuple(LOSSES)
    assert project_settings.OPTIMIZER.choices == tuple(OPTIMIZERS)
    assert project_settings.SCHEDULE.choices == tuple(SCHEDULES)


def test_unknown_and_out_of_range_options_are_named():
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'colour'"):
        check_known_options({"colour": "rgb"})
    with pytest.raises(ValueError, match=r"dataset.options.noise must be >= 0.0 and <= 2.0"):
        check_dataset_options({"noise": 2.5})
    assert check_dataset_options({"samples": 300.0, "target": 0})["samples"] == 300


def test_the_two_shares_together_must_leave_training_data():
    assert check_dataset_options({"val_fraction": 0.5, "test_fraction": 0.45})
    assert check_dataset_options({"val_fraction": None, "test_fraction": 0.5})
    with pytest.raises(ValueError, match="leaves no training data"):
        check_dataset_options({"val_fraction": 0.5, "test_fraction": 0.5})
