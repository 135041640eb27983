"""Install the desktop launcher for the current user (freedesktop.org menus, Linux and BSD).

`nnstudio --install-desktop` (or `python -m nnstudio.cli.desktop`) writes the .desktop entry, the
AppStream metainfo, the icons (hicolor 48 and 256 PNG + scalable SVG) and the MIME types of
project and model files under ``$XDG_DATA_HOME`` (``~/.local/share``). Qt-free on purpose: it
only copies files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from nnstudio import APP_ID
from nnstudio.paths import icon_path, resource_path


def user_data_home() -> Path:
    """The freedesktop data folder: $XDG_DATA_HOME, else ~/.local/share."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher_command() -> str:
    """Absolute path of the `nnstudio` command of this installation.

    A launcher runs without the user's shell PATH (and without an activated virtual
    environment), so the entry names the executable beside this interpreter.
    """
    beside_python = Path(sys.executable).with_name("nnstudio")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nnstudio") or "nnstudio"


def desktop_entry_text(command: str) -> str:
    """The shipped .desktop entry with Exec/TryExec pointing at ``command``."""
    template = resource_path("desktop", f"{APP_ID}.desktop").read_text(encoding="utf-8")
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={command} %f"
        elif line.startswith("TryExec="):
            line = f"TryExec={command}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install_desktop_entry(data_home: Path | None = None, command: str | None = None) -> list[Path]:
    """Write the launcher, icons, metainfo and MIME types; return the files written."""
    data_home = Path(data_home) if data_home else user_data_home()
    command = command or launcher_command()
    written = [
        _write(data_home / "applications" / f"{APP_ID}.desktop", desktop_entry_text(command)),
        _copy(icon_path(), data_home / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg"),
        _copy(icon_path(size=48), data_home / "icons/hicolor/48x48/apps" / f"{APP_ID}.png"),
        _copy(icon_path(size=256), data_home / "icons/hicolor/256x256/apps" / f"{APP_ID}.png"),
        _copy(
            resource_path("desktop", f"{APP_ID}.metainfo.xml"),
            data_home / "metainfo" / f"{APP_ID}.metainfo.xml",
        ),
        _copy(
            resource_path("desktop", f"{APP_ID}.mime.xml"),
            data_home / "mime/packages" / f"{APP_ID}.xml",
        ),
    ]
    _refresh_caches(data_home)
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _refresh_caches(data_home: Path) -> None:
    # Menus and file managers pick the files up without these too, only later; a missing
    # tool is not an error.
    for command in (
        ["update-desktop-database", "-q", str(data_home / "applications")],
        ["update-mime-database", str(data_home / "mime")],
        ["gtk-update-icon-cache", "-q", "-t", str(data_home / "icons/hicolor")],
    ):
        if shutil.which(command[0]):
            subprocess.run(command, check=False, capture_output=True)


def main() -> int:
    for path in install_desktop_entry():
        print(f"installed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
