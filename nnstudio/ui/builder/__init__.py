"""The layer builder: palette, stack, inspector, undo commands, network diagram.

``from nnstudio.ui.builder import QtModelBuilder`` gives the Model tab. The widgets are
imported lazily so that the Qt-free parts (builder_model, checks, presets) load without Qt.
"""

from __future__ import annotations

__all__ = ["QtModelBuilder", "QtNetworkDiagram", "BuilderModel"]


def __getattr__(name: str):
    if name == "QtModelBuilder":
        from nnstudio.ui.builder.model_builder import QtModelBuilder

        return QtModelBuilder
    if name == "QtNetworkDiagram":
        from nnstudio.ui.builder.network_diagram import QtNetworkDiagram

        return QtNetworkDiagram
    if name == "BuilderModel":
        from nnstudio.project.builder_model import BuilderModel

        return BuilderModel
    raise AttributeError(name)
