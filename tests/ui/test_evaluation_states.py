"""The Evaluate tab says one true thing in each state: not trained yet, a run going with no
results, evaluating, results, results a run has made out of date. Nothing is evaluated while a
run goes; the run's end evaluates the model it made (so "Evaluating…" never waits forever)."""

from __future__ import annotations

import pytest

from nnstudio.ui.panels import evaluation
from nnstudio.ui.panels.evaluation import (
    NOT_EVALUATED,
    OUTDATED_WHILE_RUNNING,
    RUN_GOING,
    EvaluationPanel,
)


def shows_only_its_sentence(page, text: str) -> bool:
    """No results: one sentence in place of the views (and of their own placeholders)."""
    return (
        page.body_stack.currentWidget() is page.state_label
        and page.state_label.text() == text
        and page.summary.text() == ""
    )


def start_a_long_run(window):
    window.hyperparameters.epochs_box.setValue(500)
    window.actionTrain.trigger()
    assert window.session is not None


def wait_for_an_epoch(qtbot, window) -> None:
    """(A run stopped before its first epoch leaves the model "untrained".)"""
    qtbot.waitUntil(lambda: len(window.training_tab.plots.epoch_numbers()) >= 1, timeout=20_000)


def stop_and_wait_for_the_evaluation(qtbot, window) -> dict:
    """Stop the run after its first epoch, and wait for the page to evaluate what it made."""
    page = window.evaluation
    wait_for_an_epoch(qtbot, window)
    with (
        qtbot.waitSignal(page.evaluated, timeout=30_000) as blocker,
        qtbot.waitSignal(window.training_finished, timeout=30_000),
    ):
        window.actionStop.trigger()
    return blocker.args[0]


def test_before_any_training_it_says_evaluating_then_names_the_untrained_model(qtbot, window):
    page = window.evaluation
    assert shows_only_its_sentence(page, NOT_EVALUATED)
    with qtbot.waitSignal(page.evaluated, timeout=20_000):
        window.tabs.setCurrentWidget(page)  # opening the tab evaluates the model there is
        # No "Train a classifier, then evaluate it" of the empty matrix beside it.
        assert shows_only_its_sentence(page, f"Evaluating on {window.dataset.name}…")
        assert not page.evaluate_button.isEnabled()
    assert page.body_stack.currentWidget() is page.body
    assert page.summary.text().startswith("<b>Untrained model</b> · Test split")
    assert page.evaluate_button.isEnabled()


def test_while_a_run_goes_with_no_results_it_waits_for_the_run_to_end(qtbot, window):
    start_a_long_run(window)
    page = window.evaluation
    window.tabs.setCurrentWidget(page)
    # The copy from before the run is not evaluated (the old code said "Evaluating on …"
    # and then showed the untrained model's numbers while the run trained).
    assert not page._runner.busy()
    assert shows_only_its_sentence(page, RUN_GOING)
    assert not page.evaluate_button.isEnabled()
    wait_for_an_epoch(qtbot, window)
    window.actionPause.trigger()  # paused, the model is still the run's
    assert shows_only_its_sentence(page, RUN_GOING)
    report = stop_and_wait_for_the_evaluation(qtbot, window)
    assert page.summary.text().startswith("Test split") and "Untrained" not in page.summary.text()
    assert report["accuracy"] == page.report()["accuracy"]
    assert page.evaluate_button.isEnabled()


def test_evaluate_asked_during_a_run_is_done_when_it_ends(qtbot, window):
    page = window.evaluation
    with qtbot.waitSignal(page.evaluated, timeout=20_000):
        window.tabs.setCurrentWidget(page)
    start_a_long_run(window)
    window.tabs.setCurrentWidget(page)
    page.evaluate_requested.emit()  # as the button did when it was still on
    assert not page._runner.busy() and "Training owns the model" in window.message_bar.text()
    stop_and_wait_for_the_evaluation(qtbot, window)
    assert page.report() is not None and page.body_stack.currentWidget() is page.body


def test_results_from_before_a_run_say_they_are_out_of_date_until_it_ends(qtbot, window):
    page = window.evaluation
    with qtbot.waitSignal(page.evaluated, timeout=20_000):
        window.tabs.setCurrentWidget(page)
    before = page.report()
    start_a_long_run(window)
    window.tabs.setCurrentWidget(page)
    assert page.report() is before and page.body_stack.currentWidget() is page.body
    assert page.summary.text().endswith(f"<i>{OUTDATED_WHILE_RUNNING}</i>")
    assert not page.evaluate_button.isEnabled()
    stop_and_wait_for_the_evaluation(qtbot, window)
    assert page.report() is not before
    assert "<i>" not in page.summary.text() and "Untrained" not in page.summary.text()


@pytest.fixture
def panel(qtbot):
    widget = EvaluationPanel()
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def test_a_failed_evaluation_says_so_once_and_offers_evaluate_again(qtbot, panel, monkeypatch):
    from nnstudio.data import load_dataset

    def failing(model, loss, dataset, cancel_event):
        raise ValueError("the model takes 5 inputs")

    monkeypatch.setattr(evaluation, "evaluate_dataset", failing)
    dataset = load_dataset("moons", samples=100, seed=0)
    panel.evaluate(object(), "softmax_crossentropy", dataset)
    assert shows_only_its_sentence(panel, "Evaluating on moons…")
    qtbot.waitUntil(lambda: panel.evaluate_button.isEnabled(), timeout=10_000)
    assert shows_only_its_sentence(panel, evaluation.EVALUATION_FAILED)
    assert "5 inputs" in panel.message.text()
