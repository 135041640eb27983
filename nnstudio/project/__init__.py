"""The Qt-free application layer that the command line and the window share.

- project_data.py: what a project holds and the engine objects it builds; project_file.py
  reads and writes it as a file (.nnsproj), project_parse.py checks its JSON
- presets.py: shipped and user presets
- autosave.py, layer_text.py (``--layers`` text), digit_models.py (the Draw tab's models)
- evaluation.py: a model evaluated on a dataset (``nnstudio evaluate`` and the Evaluate tab)
- doctor.py: the training doctor's warnings in words, with their fixes
- builder_model.py, layer_meta.py, network_checks.py, problems.py, diagram_layout.py: the
  layer builder's model and its live checks
"""

from nnstudio.project.presets import list_presets, load_preset
from nnstudio.project.project_data import (
    FORMAT,
    VERSION,
    DatasetSpec,
    Project,
    ProjectError,
    TrainingSettings,
    check_outputs,
    default_layers,
    finish_project,
)
from nnstudio.project.project_file import SUFFIX, check_named_files, load_project, save_project
from nnstudio.project.project_parse import parse_project

__all__ = [
    "FORMAT",
    "SUFFIX",
    "VERSION",
    "DatasetSpec",
    "Project",
    "ProjectError",
    "TrainingSettings",
    "check_named_files",
    "check_outputs",
    "default_layers",
    "finish_project",
    "list_presets",
    "load_preset",
    "load_project",
    "parse_project",
    "save_project",
]
