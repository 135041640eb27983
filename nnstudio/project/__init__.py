"""The Qt-free application layer that the command line and the window share.

- project_file.py: the project file (.nnsproj) and the engine objects it builds
- presets.py: shipped and user presets
- autosave.py, layer_text.py (``--layers`` text), digit_models.py (the Draw tab's models)
- evaluation.py: a model evaluated on a dataset (``nnstudio evaluate`` and the Evaluate tab)
- doctor.py: the training doctor's warnings in words, with their fixes
- builder_model.py, layer_meta.py, network_checks.py, problems.py, diagram_layout.py: the
  layer builder's model and its live checks
"""

from nnstudio.project.presets import list_presets, load_preset
from nnstudio.project.project_file import (
    FORMAT,
    SUFFIX,
    VERSION,
    DatasetSpec,
    Project,
    ProjectError,
    TrainingSettings,
    check_named_files,
    check_outputs,
    default_layers,
    finish_project,
    load_project,
    save_project,
)

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
    "save_project",
]
