"""Where nnstudio's files are: the shipped resources (icons, presets, the bundled models, the
desktop files).

The project keeps them in the top-level ``resources/`` folder beside ``nnstudio/``; a built
wheel maps that folder into the package as ``nnstudio/resources/`` (pyproject.toml,
``force-include``). So an installed copy finds them inside the package, and a checkout or an
editable install finds them beside it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE / "resources", _PACKAGE.parent / "resources")


def resources_dir() -> Path:
    """The folder of the shipped resources (inside an installed package, or the checkout's)."""
    for folder in _CANDIDATES:
        if (folder / "icons").is_dir():
            return folder
    raise FileNotFoundError(
        "nnstudio's resources folder is missing (looked in "
        + " and ".join(str(folder) for folder in _CANDIDATES)
        + "); reinstall nnstudio"
    )


def resource_path(*parts: str) -> Path:
    """Return the path of a shipped file, e.g. ``resource_path("icons", "nnstudio.svg")``."""
    return resources_dir().joinpath(*parts)


def icon_path(name: str = "nnstudio", size: int | None = None) -> Path:
    """The application icon as SVG (``size=None``) or as a PNG of ``size`` pixels."""
    if size is None:
        return resource_path("icons", f"{name}.svg")
    return resource_path("icons", f"{name}-{size}.png")
