"""The project's "training" object: optimizer and schedule written as whole configs still load."""

import pytest

from nnstudio.project.project_data import FORMAT, VERSION, Project, ProjectError
from nnstudio.project.project_parse import parse_project


def project_with(training: dict) -> Project:
    data = {
        "format": FORMAT,
        "version": VERSION,
        "dataset": {"name": "spiral"},
        "model": {"layers": []},
        "training": training,
    }
    return parse_project(data, source="old.nnsproj")


@pytest.mark.parametrize("key", ["name", "type"])
def test_schedule_and_optimizer_as_configs_become_name_and_settings(key):
    project = project_with(
        {
            "optimizer": {key: "sgd", "momentum": 0.9},
            "schedule": {key: "cosine", "min_lr": 1e-4},
            "schedule_settings": {"warmup_steps": 2},
        }
    )
    training = project.training
    assert (training.optimizer, training.optimizer_settings) == ("sgd", {"momentum": 0.9})
    assert training.schedule == "cosine"
    assert training.schedule_settings == {"warmup_steps": 2, "min_lr": 1e-4}
    assert project.make_optimizer().momentum == 0.9
    assert project.fit_config().make_schedule().min_lr == 1e-4


def test_a_config_without_a_type_is_explained():
    with pytest.raises(ProjectError, match=r'old.nnsproj: training.schedule has no "type"'):
        project_with({"schedule": {"min_lr": 0.0}})
