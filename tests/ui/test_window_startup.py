"""The window opens sooner (issue 39): the pages it does not show first are made when first
needed, and the first project's dataset follows the first frame."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from nnstudio.ui.panels.data_panel import DataPanel
from nnstudio.ui.widgets.page_tabs import ScrollingTabWidget


def test_a_lazy_tab_is_made_when_opened_or_asked_for(qtbot):
    made, seen = [], []

    def make_page():
        made.append(QLabel("page"))
        return made[-1]

    tabs = ScrollingTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("first"), "First")
    index = tabs.add_lazy_tab(make_page, "Second")
    tabs.when_built(index, seen.append)
    assert not made and not tabs.is_built(index)
    assert tabs.indexOf(QLabel()) == -1 and not made  # looking for a page makes none
    tabs.setCurrentIndex(index)  # opening the tab makes its page
    assert made and tabs.is_built(index) and tabs.currentWidget() is made[0]
    assert seen == made  # once, with the page
    tabs.when_built(index, seen.append)  # already made: at once
    assert seen == [made[0], made[0]] and len(made) == 1
    assert tabs.indexOf(made[0]) == index


def test_the_window_opens_on_the_model_tab_with_the_other_pages_not_made(make_window):
    window = make_window()
    assert [window.built_page(name) for name in ("training", "evaluation", "draw")] == [None] * 3
    # The Layer health dock shows before the Training tab is made, and is that tab's panel.
    assert window.health_dock.widget() is window.health_panel
    assert window.training_tab.health is window.health_panel
    assert window.built_page("training") is window.training_tab


def test_pages_made_later_show_what_is_current(qtbot, window):
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        window.actionTrain.trigger()
    # Train opened the Training tab: its page has the dataset and the run's curves.
    assert window.built_page("training") is window.tabs.currentWidget()
    assert len(window.training_tab.plots.epoch_numbers()) == 8
    assert window.built_page("evaluation") is None
    evaluation = window.evaluation  # made now, not yet shown
    # Opening Evaluate for the first time evaluates the trained model.
    with qtbot.waitSignal(evaluation.evaluated, timeout=20_000):
        window.findChild(type(window.actionTrain), "actionShowEvaluateTab").trigger()
    assert "ccuracy" in evaluation.summary.text()


def test_held_loads_start_when_released(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.hold_loads()
    loaded = []
    panel.dataset_changed.connect(loaded.append)
    panel.set_spec("moons", {"samples": 100, "seed": 1})
    assert not panel.is_loading() and not loaded
    assert "Loading" in panel.busy_label.text()
    with qtbot.waitSignal(panel.dataset_changed, timeout=20_000):
        panel.release_loads()
    assert loaded[0].name == "moons" and panel.preview.view() == "scatter"
    panel._loader.wait()


def test_exporting_the_curves_before_the_training_tab_exists_says_so(make_window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a) or ("", ""))
    window = make_window()
    window.actionExportCsv.trigger()
    assert not asked and "Nothing to export yet" in window.message_bar.text()
    assert window.built_page("training") is None  # no empty page made for it
    window.training_tab.png_button.click()  # the tab made: its button asks where to save
    assert len(asked) == 1
