"""The launcher files validate and install for a user; the wheel ships the resources and,
installed in a fresh virtual environment, works from outside the checkout; the repository's
top level reads as the design card says."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnstudio import APP_ID
from nnstudio.cli.desktop import desktop_entry_text, install_desktop_entry
from nnstudio.paths import resource_path

ROOT = Path(__file__).resolve().parent.parent
DESKTOP_FILE = resource_path("desktop", f"{APP_ID}.desktop")
METAINFO_FILE = resource_path("desktop", f"{APP_ID}.metainfo.xml")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: desktop-file-utils / appstream)")
    return path


def test_desktop_entry_validates():
    result = subprocess.run(
        [_tool("desktop-file-validate"), str(DESKTOP_FILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_metainfo_validates():
    result = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", str(METAINFO_FILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_entry_names_the_app_id_and_category():
    text = DESKTOP_FILE.read_text()
    assert f"Icon={APP_ID}" in text
    assert "Categories=Science;ArtificialIntelligence;Qt;" in text
    assert "StartupWMClass=nnstudio" in text
    assert (ROOT / "packaging" / f"{APP_ID}.desktop").resolve() == DESKTOP_FILE.resolve()


def test_install_desktop_entry_for_a_user(tmp_path):
    written = install_desktop_entry(data_home=tmp_path, command="/opt/nn/bin/nnstudio")
    expected = {
        tmp_path / "applications" / f"{APP_ID}.desktop",
        tmp_path / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg",
        tmp_path / "icons/hicolor/48x48/apps" / f"{APP_ID}.png",
        tmp_path / "icons/hicolor/256x256/apps" / f"{APP_ID}.png",
        tmp_path / "metainfo" / f"{APP_ID}.metainfo.xml",
        tmp_path / "mime/packages" / f"{APP_ID}.xml",
    }
    assert set(written) == expected
    assert all(path.stat().st_size > 0 for path in expected)
    entry = (tmp_path / "applications" / f"{APP_ID}.desktop").read_text()
    assert "Exec=/opt/nn/bin/nnstudio %f" in entry
    assert "TryExec=/opt/nn/bin/nnstudio" in entry
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(tmp_path / "applications" / f"{APP_ID}.desktop")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout


def test_the_launcher_opens_projects_and_models(tmp_path):
    import xml.etree.ElementTree as ElementTree

    kinds = {"application/x-nnstudio-project": "*.nnsproj", "application/x-nnstudio-model": "*.nnz"}
    mime_line = next(line for line in DESKTOP_FILE.read_text().splitlines() if "MimeType=" in line)
    assert set(filter(None, mime_line.split("=", 1)[1].split(";"))) == set(kinds)
    provides = ElementTree.parse(METAINFO_FILE).getroot().find("provides")
    assert {element.text for element in provides.iter("mediatype")} == set(kinds)
    namespace = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime_file = resource_path("desktop", f"{APP_ID}.mime.xml")
    for mime in ElementTree.parse(mime_file).getroot().findall("m:mime-type", namespace):
        assert mime.find("m:glob", namespace).get("pattern") == kinds[mime.get("type")]
        assert mime.find("m:icon", namespace).get("name") == APP_ID  # an icon installed too
    install_desktop_entry(data_home=tmp_path, command="/opt/nn/bin/nnstudio")
    if shutil.which("update-mime-database"):  # the installed database knows both kinds
        globs = (tmp_path / "mime" / "globs2").read_text()
        for mime_type, pattern in kinds.items():
            assert f"{mime_type}:{pattern}" in globs


def test_desktop_entry_text_keeps_every_other_key():
    text = desktop_entry_text("/x/nnstudio")
    shipped = [line for line in DESKTOP_FILE.read_text().splitlines() if "Exec=" not in line]
    assert all(line in text.splitlines() for line in shipped)


def test_icons_are_real_images_of_their_size():
    from PySide6.QtGui import QImage

    for size in (16, 32, 48, 64, 128, 256):
        image = QImage(str(resource_path("icons", f"nnstudio-{size}.png")))
        assert (image.width(), image.height()) == (size, size)
        # Not a flat placeholder: the icon has many distinct colours.
        colours = {image.pixel(x, y) for x in range(size) for y in range(size)}
        assert len(colours) > 20 or size < 32


# The design card's top level: these, plus dotfiles and dot-folders (.ci, .gitignore).
TOP_LEVEL = {"pyproject.toml", "README.md", "nnstudio", "resources", "tests", "packaging"}
# What a working copy holds beside the tracked files (all in .gitignore).
UNTRACKED_OUTPUTS = {"build", "dist", "venv", "bench-results", "__pycache__"}


def _top_level_entries() -> set[str]:
    """The first path component of every tracked file, or of the folder's entries without git."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return {name.split("/", 1)[0] for name in listed}
    return {
        entry.name
        for entry in ROOT.iterdir()
        if entry.name not in UNTRACKED_OUTPUTS and not entry.name.endswith(".egg-info")
    }


def test_the_top_level_reads_as_the_design_card_says():
    entries = _top_level_entries()
    assert {name for name in entries if not name.startswith(".")} == TOP_LEVEL
    for folder in ("nnstudio", "resources", "tests", "packaging"):
        assert (ROOT / folder).is_dir(), folder


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``pip wheel`` builds from the checkout (once for this module)."""
    wheel_dir = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = wheel_dir.glob("nnstudio-*.whl")
    return built


@pytest.mark.slow
def test_wheel_ships_resources_and_finds_them(wheel, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "nnstudio/resources/icons/nnstudio.svg" in names
    assert f"nnstudio/resources/desktop/{APP_ID}.desktop" in names
    assert "nnstudio/resources/models/digit-model.nnz" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Import from the unpacked wheel alone, not from the checkout.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import nnstudio.paths as r;"
        "assert r.__file__.startswith(sys.argv[1]), r.__file__;"
        "print(r.icon_path().is_file(), r.icon_path(size=48).is_file())"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(site)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stdout.split() == ["True", "True"], result.stderr


def _fresh_venv(folder: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed and no download: the running
    environment's site-packages is made visible (a .pth file) for the dependencies only."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    subprocess.run([*install, "-q", str(wheel)], check=True, capture_output=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Lines of a .pth file are appended to sys.path, after the venv's own site-packages: the
    # installed nnstudio comes first, and .pth files over there (the checkout's editable
    # install) are not run.
    running = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site) / "running-environment.pth").write_text("\n".join(sorted(running)) + "\n")
    return python


def _tiny_mnist_folder(folder: Path) -> Path:
    """The four MNIST-named IDX files with a few 28x28 images of every digit."""
    from nnstudio.data.idx import MNIST_FILES, write_idx

    rng = np.random.default_rng(0)
    folder.mkdir()
    for part, count in (("train", 30), ("test", 20)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        write_idx(folder / f"{MNIST_FILES[f'{part}_images']}.gz", images)
        write_idx(folder / f"{MNIST_FILES[f'{part}_labels']}.gz", labels)
    return folder


@pytest.mark.slow
def test_installed_wheel_evaluates_its_bundled_model_from_outside_the_checkout(wheel, tmp_path):
    python = _fresh_venv(tmp_path / "venv", wheel)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    environment["NNSTUDIO_DATA_DIR"] = str(tmp_path / "data")

    def run(*command):
        return subprocess.run(
            command, capture_output=True, text=True, cwd=outside, env=environment, check=False
        )

    where = run(
        str(python),
        "-c",
        "import nnstudio, nnstudio.paths as p;"
        "print(nnstudio.__file__); print(p.resource_path('models', 'digit-model.nnz'))",
    )
    assert where.returncode == 0, where.stderr  # an installed copy without its resources fails
    package_file, model = where.stdout.split()
    venv = str((tmp_path / "venv").resolve())
    assert package_file.startswith(venv) and model.startswith(venv), where.stdout + where.stderr
    assert Path(model).is_file()
    command = python.with_name("nnstudio.exe" if os.name == "nt" else "nnstudio")
    folder = _tiny_mnist_folder(tmp_path / "tiny-mnist")
    result = run(str(command), "evaluate", model, "--dataset", f"idx:{folder}", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["samples"] == 20 and report["split"] == "test"
    assert 0.0 <= report["accuracy"] <= 1.0
    assert report["class_names"] == [str(digit) for digit in range(10)]


def _readme_system_packages() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"apt-get install -y ([^\n`]+)", readme)
    assert match, "README must list the system packages Qt needs"
    return set(match.group(1).split())


@pytest.mark.slow
def test_readme_lists_every_system_library_qt_links_to():
    """Each Debian package that Qt's libraries link to is named in the README or comes with it."""
    if not (shutil.which("ldd") and shutil.which("dpkg") and shutil.which("apt-cache")):
        pytest.skip("needs ldd, dpkg and apt-cache (Debian)")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    libraries = [
        qt / "plugins/platforms/libqxcb.so",
        *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1],
        *sorted((qt / "lib").glob("libQt6Gui.so*"))[:1],
        *sorted((qt / "lib").glob("libQt6Widgets.so*"))[:1],
    ]
    needed = set()
    for library in libraries:
        output = subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
        for target in re.findall(r"=> (/\S+)", output):
            if "PySide6" in target or "shiboken6" in target:
                continue
            owner = subprocess.run(
                ["dpkg", "-S", str(Path(target).resolve())], capture_output=True, text=True
            )
            if owner.returncode == 0:
                needed.add(owner.stdout.split(":")[0])
    listed = _readme_system_packages()
    closure = subprocess.run(
        [
            "apt-cache",
            "depends",
            "--recurse",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            "--installed",
            *sorted(listed),
        ],
        capture_output=True,
        text=True,
    ).stdout
    provided = listed | {line.strip() for line in closure.splitlines() if not line.startswith(" ")}
    provided |= {re.sub(r":\w+$", "", name) for name in provided}
    missing = sorted(pkg for pkg in needed if pkg not in provided and not _in_base_system(pkg))
    assert not missing, f"README's apt-get line misses {missing}"


def _in_base_system(package: str) -> bool:
    """Packages every Debian system has (priority required), e.g. libc6."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Priority}", package], capture_output=True, text=True
    )
    return result.stdout.strip() in {"required", "important"}
