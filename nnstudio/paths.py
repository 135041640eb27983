"""Where nnstudio's files are: the shipped resources (icons, presets, the bundled models, the
desktop files) and the user's own folders.

The project keeps the resources in the top-level ``resources/`` folder beside ``nnstudio/``; a
built wheel maps that folder into the package as ``nnstudio/resources/`` (pyproject.toml,
``force-include``). So an installed copy finds them inside the package, and a checkout or an
editable install finds them beside it.

The user's folders are the platform's, as platformdirs knows them: :func:`user_data_dir`
(downloaded datasets, autosaves, drawings, the user's presets) and :func:`user_config_dir`.
The window's layout and recent files are Qt settings (QSettings), not files of ours.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_FOLDER = "nnstudio"

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


def user_data_dir() -> Path:
    """nnstudio's per-user data folder: ``NNSTUDIO_DATA_DIR`` when set, else the platform's —
    ``~/.local/share/nnstudio`` (or ``$XDG_DATA_HOME/nnstudio``) on Linux,
    ``~/Library/Application Support/nnstudio`` on macOS, ``%APPDATA%\\nnstudio`` on Windows
    (the roaming folder: a user's datasets and presets follow them between machines)."""
    override = os.environ.get("NNSTUDIO_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_FOLDER, appauthor=False, roaming=True)


def user_config_dir() -> Path:
    """nnstudio's per-user configuration folder: ``~/.config/nnstudio`` (or
    ``$XDG_CONFIG_HOME/nnstudio``) on Linux, ``~/Library/Application Support/nnstudio`` on
    macOS, ``%APPDATA%\\nnstudio`` on Windows (on Linux, Qt's settings of the window live
    there too)."""
    return platformdirs.user_config_path(APP_FOLDER, appauthor=False, roaming=True)
