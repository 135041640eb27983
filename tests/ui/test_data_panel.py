"""Data panel: built-in sets, CSV files, errors in the panel, MNIST found or not."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.ui.panels.data_panel import DataPanel


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.resize(420, 760)
    yield widget
    widget._loader.wait()
    widget._downloader.wait()


def load(qtbot, panel, name, options=None):
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.set_spec(name, options or {})
    return blocker.args[0]


def test_picker_has_the_built_in_sets(panel):
    picker = panel.findChild(type(panel.picker), "datasetPicker")
    names = [picker.itemData(i) for i in range(picker.count())]
    for name in ("circle", "xor", "spiral", "moons", "plane", "mnist", "fashion-mnist", "cifar10"):
        assert name in names


@pytest.mark.parametrize("name", ["circle", "xor", "gaussian", "spiral", "moons", "plane"])
def test_each_toy_set_changes_preview_and_summary(qtbot, panel, name):
    dataset = load(qtbot, panel, name, {"samples": 200, "seed": 1})
    assert panel.dataset() is dataset
    assert dataset.name == name
    assert panel.preview.view() == "scatter"
    assert name in panel.preview.summary.text()
    assert "200" in panel.preview.summary.text()
    if dataset.task == "classification":
        assert sum(panel.preview.balance.counts()) == 200
        points = sum(len(item.data) for item in panel.preview.scatter.items)
        assert points == 200


def test_toy_options_reach_the_loader(qtbot, panel):
    dataset = load(
        qtbot,
        panel,
        "spiral",
        {"samples": 300, "noise": 0.3, "seed": 4, "val_fraction": 0.2, "test_fraction": 0.1},
    )
    name, options = panel.spec()
    assert name == "spiral"
    assert options["samples"] == 300 and options["seed"] == 4
    assert options["noise"] == pytest.approx(0.3)
    assert len(dataset.x_val) == 60 and len(dataset.x_test) == 30


def test_editing_an_option_reloads_a_toy_set(qtbot, panel):
    load(qtbot, panel, "moons", {"samples": 200})
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.options.samples.setValue(260)
    assert (
        len(blocker.args[0].y_train) + len(blocker.args[0].y_val) + len(blocker.args[0].y_test)
        == 260
    )


def write_csv(path, rows):
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    return path


def test_open_csv_with_a_chosen_target(qtbot, panel, tmp_path):
    rng = np.random.default_rng(0)
    rows = [["width", "height", "kind", "weight"]]
    for i in range(120):
        rows.append(
            [
                f"{rng.normal():.3f}",
                f"{rng.normal():.3f}",
                ["a", "b", "c"][i % 3],
                f"{rng.normal():.3f}",
            ]
        )
    path = write_csv(tmp_path / "things.csv", rows)
    # Opened like an NPZ: it loads at once, with the guessed target (the last column), while
    # the raw rows show with that target first.
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.open_file(path)
        assert panel.is_loading()
        assert panel.picker.currentData() == f"csv:{path}"
        targets = [panel.options.target.itemText(i) for i in range(panel.options.target.count())]
        assert targets == rows[0]
        assert panel.preview.view() == "table"
        assert panel.preview.table.source._headers[0] == "weight"  # the target comes first
        assert panel.preview.table.cell_text(0, 0) == rows[1][3]
        assert panel.preview.table.cell_text(0, 3) == rows[1][2]
        assert panel.preview.table.source.rowCount() == 120
    assert blocker.args[0].task == "regression" and panel.spec()[1]["target"] == "weight"
    # Another target loads again by itself, no Load click.
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.options.target.setCurrentIndex(panel.options.target.findText("kind"))
        assert "kind" in panel.preview.summary.text()
    dataset = blocker.args[0]
    assert dataset.task == "classification"
    assert dataset.class_names == ["a", "b", "c"]
    assert panel.spec()[1]["target"] == "kind"
    assert panel.preview.view() == "table"
    assert "3 classes" in panel.preview.summary.text()


def test_bad_csv_shows_the_error_in_the_panel(qtbot, panel, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [["a", "b", "y"], [1, 2, 0], [3, "", 1], [4, 5, 0]])
    panel.open_file(path)
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000) as blocker:
        panel.options.load_button.click()
    assert "missing" in blocker.args[0].lower() or "empty" in blocker.args[0].lower()
    assert panel.message.text() == blocker.args[0]
    assert panel.dataset() is None
    # Filling the gaps makes the same file load.
    panel.options.impute.setCurrentIndex(panel.options.impute.findData("mean"))
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000):
        panel.options.load_button.click()
    assert panel.message.text() == ""


def test_unknown_file_type_is_explained(qtbot, panel, tmp_path):
    path = tmp_path / "notes.docx"
    path.write_text("x")
    with qtbot.waitSignal(panel.dataset_failed, timeout=5000):
        panel.open_file(path)
    assert "CSV" in panel.message.text()


@pytest.mark.slow
def test_mnist_preview_shows_labelled_images(qtbot, panel, mnist_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(mnist_path))
    with qtbot.waitSignal(panel.dataset_changed, timeout=60000) as blocker:
        panel.set_spec("mnist", {})
    dataset = blocker.args[0]
    assert dataset.input_shape == (1, 28, 28)
    assert len(dataset.x_test) == 10000
    assert panel.preview.view() == "images"
    captions = {tile.caption for tile in panel.preview.images.tiles()}
    assert captions == set(dataset.class_names)
    assert "10,000" in panel.preview.summary.text()


def test_mnist_not_found_offers_download_or_folder(qtbot, panel, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(tmp_path / "empty-mnist"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "empty-data"))
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000):
        panel.set_spec("mnist", {})
    assert "not on this computer" in panel.message.text()
    assert panel.message.action("Download…") is not None
    assert panel.message.action("Choose folder…") is not None


def test_choose_folder_imports_mnist_and_loads(qtbot, panel, tmp_path, monkeypatch, mnist_path):
    monkeypatch.setenv("NNSTUDIO_MNIST_DIR", str(tmp_path / "empty-mnist"))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "empty-data"))
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000):
        panel.set_spec("mnist", {})
    with qtbot.waitSignal(panel.dataset_changed, timeout=60000) as blocker:
        panel.use_mnist_folder(str(mnist_path))
    assert blocker.args[0].name == "mnist"
    assert panel.message.text() == ""


def test_download_can_be_cancelled(qtbot, panel, tmp_path, monkeypatch):
    import threading

    from nnstudio import data

    started = threading.Event()

    def fake_download(kind, progress=None, cancel=None, **_):
        progress(10, 100, "file 1 of 4")
        started.set()
        cancel.wait(10)
        raise data.DownloadCancelled("cancelled")

    monkeypatch.setattr(data, "download_mnist", fake_download)
    panel._missing_kind = "mnist"
    panel.start_download()
    qtbot.waitUntil(lambda: panel.message.progress.value() == 100, timeout=5000)
    assert panel.message.action("Cancel") is not None
    panel.message.action("Cancel").click()
    assert "cancelled" in panel.message.text().lower()
    assert panel.message.action("Download…") is not None


def test_classes_option_for_spiral(qtbot, panel):
    dataset = load(qtbot, panel, "spiral", {"samples": 300, "classes": 4})
    assert dataset.n_classes == 4
    assert panel.spec()[1]["classes"] == 4
    assert len(panel.preview.balance.counts()) == 4
    assert len(panel.preview.scatter.items) == 4


def test_busy_indicator_while_loading(qtbot, panel):
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000):
        panel.set_spec("moons", {"samples": 200})
        assert panel.is_loading()
        assert not panel.busy_bar.isHidden()
    assert panel.busy_bar.isHidden()
    assert not panel.is_loading()


def test_dropping_a_file_opens_it(qtbot, panel, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    path = write_csv(
        tmp_path / "drop.csv", [["a", "b", "y"]] + [[i, i % 5, i % 2] for i in range(40)]
    )
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    panel.dropEvent(event)
    assert panel.picker.currentData() == f"csv:{path}"
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.options.load_button.click()
    assert blocker.args[0].name == f"csv:{path}"
    assert panel.acceptDrops()


def test_open_an_idx_folder_and_an_npz_file(qtbot, panel, tmp_path):
    from nnstudio.data import write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "digits"
    folder.mkdir()
    for prefix, count in (("train", 60), ("t10k", 20)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte",
            rng.integers(0, 256, (count, 8, 8), dtype=np.uint8),
        )
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", (np.arange(count) % 3).astype(np.uint8))
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.open_file(folder / "train-images-idx3-ubyte")  # a file of the set opens its folder
    assert blocker.args[0].input_shape == (1, 8, 8)
    assert panel.preview.view() == "images"
    assert panel.spec()[0] == f"idx:{folder}"

    path = tmp_path / "points.npz"
    np.savez(path, X=rng.normal(size=(80, 3)).astype(np.float32), y=np.arange(80) % 2)
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.open_file(path)
    assert blocker.args[0].input_shape == (3,)
    assert panel.preview.view() == "table"
    assert panel.picker.currentText() == "points.npz"


def csv_with_notes(tmp_path):
    """Numbers, a category, a free-text column with gaps, and a class target."""
    rng = np.random.default_rng(1)
    rows = [["id", "width", "height", "town", "note", "kind"]]
    for i in range(90):
        note = "" if i % 4 else f"remark {i}"
        rows.append(
            [i, f"{rng.normal():.3f}", f"{rng.normal():.3f}", ["n", "s"][i % 2], note, "ab"[i % 2]]
        )
    return write_csv(tmp_path / "notes.csv", rows), rows[0]


def toggle(qtbot, picker, name):
    """Check or uncheck a column as a user does: select it, press Space."""
    row = picker.names().index(name)
    picker.list.setCurrentRow(row)
    picker.list.setFocus()
    qtbot.keyClick(picker.list.viewport(), Qt.Key.Key_Space)


def test_csv_input_columns_are_picked_in_the_list(qtbot, panel, tmp_path):
    path, header = csv_with_notes(tmp_path)
    panel.open_file(path)
    picker = panel.options.columns
    assert picker.isVisibleTo(panel)
    assert picker.names() == header
    # Every column but the target is an input at first; the target cannot be checked.
    assert picker.chosen() == header[:-1] and picker.all_chosen()
    target_item = picker.list.item(header.index("kind"))
    assert not target_item.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert "target" in target_item.text()
    assert "columns" not in panel.spec()[1]
    with qtbot.waitSignal(picker.edited):
        toggle(qtbot, picker, "id")
    toggle(qtbot, picker, "note")
    assert picker.chosen() == ["width", "height", "town"]
    assert picker.count_label.text() == "3 of 5"
    # The preview greys the unused columns (target first, then file order).
    table = panel.preview.table.source
    assert table._headers == ["kind", "id", "width", "height", "town", "note"]
    assert set(table._column_colors) == {0, 1, 5}
    assert "3 input columns" in panel.preview.summary.text()
    assert panel.spec()[1]["columns"] == ["width", "height", "town"]
    # The column choice reloads by itself (once, after the clicks).
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        pass
    dataset = blocker.args[0]
    assert dataset.feature_names == ["width", "height", "town=n", "town=s"]
    assert dataset.input_shape == (4,)
    assert dataset.options["columns"] == ["width", "height", "town"]
    assert dataset.class_names == ["a", "b"]


def test_all_columns_with_gaps_fail_until_the_column_is_left_out(qtbot, panel, tmp_path):
    path, _ = csv_with_notes(tmp_path)
    panel.open_file(path)
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000) as blocker:
        panel.options.load_button.click()
    assert "'note'" in blocker.args[0]
    toggle(qtbot, panel.options.columns, "note")
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.options.load_button.click()
    assert blocker.args[0].input_shape == (5,)  # id, width, height, town=n, town=s


def test_no_input_column_is_explained(qtbot, panel, tmp_path):
    path, _ = csv_with_notes(tmp_path)
    panel.open_file(path)
    qtbot.mouseClick(panel.options.columns.none_button, Qt.MouseButton.LeftButton)
    assert panel.options.columns.chosen() == []
    assert panel.spec()[1]["columns"] == []
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000) as blocker:
        panel.options.load_button.click()
    assert "no feature columns chosen" in blocker.args[0]
    assert panel.message.text() == blocker.args[0]
    qtbot.mouseClick(panel.options.columns.all_button, Qt.MouseButton.LeftButton)
    assert panel.options.columns.all_chosen() and "columns" not in panel.spec()[1]


def test_changing_the_target_swaps_it_out_of_the_inputs(qtbot, panel, tmp_path):
    path, header = csv_with_notes(tmp_path)
    panel.open_file(path)
    toggle(qtbot, panel.options.columns, "note")
    panel.options.target.setCurrentIndex(panel.options.target.findText("town"))
    picker = panel.options.columns
    assert picker.chosen() == ["id", "width", "height", "kind"]  # the old target is an input
    assert "town" not in panel.spec()[1]["columns"]
    assert not picker.list.item(header.index("town")).flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert picker.list.item(header.index("kind")).flags() & Qt.ItemFlag.ItemIsUserCheckable


def test_column_choice_round_trips_through_the_options(qtbot, panel, tmp_path):
    path, _ = csv_with_notes(tmp_path)
    options = {"target": "kind", "columns": ["height", "town"], "impute": None}
    dataset = load(qtbot, panel, f"csv:{path}", options)
    assert dataset.feature_names == ["height", "town=n", "town=s"]
    assert panel.options.columns.chosen() == ["height", "town"]
    name, spec = panel.spec()
    assert spec["columns"] == ["height", "town"]
    from nnstudio.data import load_dataset

    again = load_dataset(name, **spec)
    np.testing.assert_array_equal(again.x_train, dataset.x_train)
    # Indices (as a hand-written project may hold) check the same columns.
    load(qtbot, panel, f"csv:{path}", {"columns": [2, 3]})
    assert panel.options.columns.chosen() == ["height", "town"]


def test_picking_the_file_again_keeps_the_column_choice(qtbot, panel, tmp_path):
    path, _ = csv_with_notes(tmp_path)
    panel.open_file(path)
    toggle(qtbot, panel.options.columns, "note")
    toggle(qtbot, panel.options.columns, "id")
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000):
        panel.picker.setCurrentIndex(panel.picker.findData("xor"))
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.picker.setCurrentIndex(panel.picker.findData(f"csv:{path}"))
    assert panel.options.columns.chosen() == ["width", "height", "town"]
    assert blocker.args[0].input_shape == (4,)


def test_the_options_box_gives_each_kind_of_dataset_its_own_keywords(qtbot):
    from nnstudio.ui.panels.data_options import DataOptions

    options = DataOptions()
    qtbot.addWidget(options)
    saved = {"samples": 300, "noise": 0.25, "classes": 4, "seed": 7, "val_fraction": 0.1}
    options.apply({**saved, "test_fraction": 0.2, "scaling": "minmax"}, "spiral")
    spiral = options.options("spiral")
    assert spiral == {**saved, "test_fraction": 0.2, "scaling": "minmax"}
    assert "classes" not in options.options("moons")  # two moons, always
    mnist = options.options("mnist")  # MNIST keeps its own test set and has no sample count
    assert mnist == {"seed": 7, "val_fraction": 0.1, "scaling": "minmax"}
    options.show()
    options.show_for("mnist")
    assert not options.samples.isVisible() and not options.test_percent.isVisible()
    options.show_for("csv:/tmp/table.csv")
    assert options.target.isVisible() and not options.noise.isVisible()


def test_open_a_folder_of_pictures_from_the_menu(qtbot, panel, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from tests.data.conftest import write_shapes_folder

    folder = write_shapes_folder(tmp_path / "shapes", per_class=6, side=10)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.open_folder_action.trigger()  # Open… → A folder of pictures…
    dataset = blocker.args[0]
    assert panel.spec()[0] == f"images:{folder}" and panel.picker.currentText() == "shapes"
    assert dataset.input_shape == (3, 10, 10) and dataset.class_names == [
        "blue-circles",
        "red-squares",
    ]
    assert panel.preview.view() == "images"
    tiles = panel.preview.images.tiles()
    assert {tile.caption for tile in tiles} == {"blue-circles", "red-squares"}
    # The preview is in colour: a red square's tile has red pixels that are not grey.
    red = next(t.rgb for t in tiles if t.caption == "red-squares").astype(int)
    assert ((red[..., 0] - red[..., 2]) > 100).any()
    assert "skipped 2 files: notes.txt, red-squares/broken.png (not an image)" in (
        panel.message.text()
    )
    form = panel.options.form
    assert form.isRowVisible(panel.options.image_size) and form.isRowVisible(panel.options.color)
    assert not form.isRowVisible(panel.options.samples)


def test_image_size_and_colour_reach_the_loader(qtbot, panel, tmp_path):
    from tests.data.conftest import write_shapes_folder

    folder = write_shapes_folder(tmp_path / "shapes", per_class=4, side=10, extras=False)
    dataset = load(qtbot, panel, f"images:{folder}", {"image_size": 6, "color": "gray"})
    assert dataset.input_shape == (1, 6, 6)
    assert panel.spec()[1]["image_size"] == 6 and panel.spec()[1]["color"] == "gray"


def test_a_folder_with_one_class_is_explained_in_the_panel(qtbot, panel, tmp_path):
    (tmp_path / "pictures" / "cats").mkdir(parents=True)
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000):
        panel.open_file(tmp_path / "pictures")
    assert "at least two" in panel.message.text()


def test_cifar10_not_found_offers_download_and_a_chosen_folder_loads(
    qtbot, panel, tmp_path, monkeypatch
):
    from tests.data.test_cifar import write_small_cifar

    monkeypatch.delenv("NNSTUDIO_CIFAR10_DIR", raising=False)
    source = write_small_cifar(tmp_path / "chosen", per_file=10)
    with qtbot.waitSignal(panel.dataset_failed, timeout=20000):
        panel.set_spec("cifar10", {})  # NNSTUDIO_DATA_DIR is empty (the fixture's)
    assert "CIFAR-10 is not on this computer" in panel.message.text()
    assert panel.message.action("Download…") is not None
    with qtbot.waitSignal(panel.dataset_changed, timeout=20000) as blocker:
        panel.use_mnist_folder(str(source))  # what "Choose folder…" does with the folder
    assert blocker.args[0].name == "cifar10" and blocker.args[0].input_shape == (3, 32, 32)
    assert panel.preview.view() == "images"


@pytest.mark.parametrize(
    "options, words",
    [({"image_size": 2}, ["image_size", ">= 4"]), ({"color": "sepia"}, ["color", "rgb"])],
)
def test_a_project_with_bad_image_options_is_refused_naming_the_option(options, words):
    from nnstudio.project.settings import check_dataset_options

    with pytest.raises(ValueError) as caught:
        check_dataset_options(options)
    for word in words:
        assert word in str(caught.value)
