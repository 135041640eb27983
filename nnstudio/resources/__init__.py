"""Files shipped inside the package: icons, presets, the bundled digit model.

They are found through importlib.resources so they work from an installed wheel,
not only from a checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Return the path of a shipped file, e.g. ``resource_path("icons", "nnstudio.svg")``."""
    traversable = resources.files(__name__).joinpath(*parts)
    # Wheels install as plain folders, so the traversable is a real path on disk.
    return Path(str(traversable))


def icon_path(name: str = "nnstudio", size: int | None = None) -> Path:
    """The application icon as SVG (``size=None``) or as a PNG of ``size`` pixels."""
    if size is None:
        return resource_path("icons", f"{name}.svg")
    return resource_path("icons", f"{name}-{size}.png")
