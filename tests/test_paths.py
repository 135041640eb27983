"""The user's folders (platformdirs, NNSTUDIO_DATA_DIR) and the shipped resources."""

import sys

import platformdirs
import pytest

from nnstudio import paths

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders")


def test_nnstudio_data_dir_overrides_the_platform_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "mine"))
    assert paths.user_data_dir() == tmp_path / "mine"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", "~/elsewhere")
    assert paths.user_data_dir() == tmp_path / "elsewhere"


def test_without_the_override_the_data_folder_is_the_platforms(monkeypatch):
    monkeypatch.delenv("NNSTUDIO_DATA_DIR", raising=False)
    expected = platformdirs.user_data_path("nnstudio", appauthor=False, roaming=True)
    assert paths.user_data_dir() == expected
    assert paths.user_data_dir().name == "nnstudio"


@linux_only
def test_linux_folders_follow_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("NNSTUDIO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    assert paths.user_data_dir() == tmp_path / "xdg-data" / "nnstudio"
    assert paths.user_config_dir() == tmp_path / "xdg-config" / "nnstudio"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.user_data_dir() == tmp_path / ".local" / "share" / "nnstudio"
    assert paths.user_config_dir() == tmp_path / ".config" / "nnstudio"


def test_the_data_layer_and_the_project_use_the_same_data_folder(monkeypatch, tmp_path):
    from nnstudio.data import catalog
    from nnstudio.project import autosave, presets

    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    assert catalog.user_data_dir() == tmp_path
    assert dict(catalog.mnist_locations("mnist"))["the user's data folder"] == tmp_path / "mnist"
    assert autosave.default_folder() == tmp_path / "autosave"
    assert presets.user_presets_dir() == tmp_path / "presets"


def test_shipped_resources_are_found():
    assert (paths.resources_dir() / "icons").is_dir()
    assert paths.resource_path("models", "digit-model.nnz").is_file()
    assert paths.icon_path(size=48).is_file()
