"""A banner about a problem goes once the problem is fixed (issue 21, item 3)."""

from __future__ import annotations

import copy


def _set_last_units(window, units):
    config = copy.deepcopy(window.document.model)
    config["layers"][-1]["units"] = units
    window.builder.set_config(config)  # as the builder's one-click fix does


def test_output_banner_goes_when_the_units_are_fixed(make_window, qtbot):
    window = make_window()
    _set_last_units(window, 2)
    qtbot.waitUntil(lambda: window.model is None)
    assert window.message_bar.isVisibleTo(window)
    assert "outputs" in window.message_bar.text()
    _set_last_units(window, 3)
    qtbot.waitUntil(lambda: window.model is not None)
    assert not window.message_bar.isVisibleTo(window)


def test_an_unrelated_banner_stays(make_window, qtbot):
    window = make_window()
    _set_last_units(window, 2)
    qtbot.waitUntil(lambda: window.model is None)
    window.show_message("Saved elsewhere", "info")
    _set_last_units(window, 3)
    qtbot.waitUntil(lambda: window.model is not None)
    assert window.message_bar.text() == "Saved elsewhere"
