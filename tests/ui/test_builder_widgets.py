"""The Model tab's widgets: drag and drop, keyboard, undo/redo, checks, fixes, presets."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox, QMainWindow, QMenu, QSpinBox

from nnstudio.engine import registry
from nnstudio.project import presets
from nnstudio.ui.builder.card_delegate import PROBLEM_ROLE, card_layout
from nnstudio.ui.builder.layer_palette import LAYER_TYPE_MIME
from nnstudio.ui.builder.layer_stack import layer_index_mime
from nnstudio.ui.builder.model_builder import QtModelBuilder

MLP = {
    "layers": [
        {"type": "Flatten"},
        {"type": "Dense", "units": 64, "activation": "relu"},
        {"type": "Dense", "units": 10},
    ]
}


@pytest.fixture
def builder(qtbot):
    widget = QtModelBuilder()
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    widget.set_input_spec((1, 28, 28), 10, "classification", "softmax_crossentropy")
    widget.set_config(MLP)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def types(builder):
    return [layer["type"] for layer in builder.config()["layers"]]


def row_point(builder, row, lower_half=False) -> QPointF:
    rect = builder.stack.view.visualRect(builder.stack.list_model.index(row))
    y = rect.bottom() - 4 if lower_half else rect.top() + 4
    return QPointF(rect.center().x(), y)


def drop(view, mime, position: QPointF, target=None):
    """What Qt delivers during a real drag: enter, move (the indicator), then drop.
    ``target`` is the widget under the cursor (default: the list's viewport)."""
    viewport = target if target is not None else view.viewport()
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    point = position.toPoint()
    QApplication.sendEvent(viewport, QDragEnterEvent(point, actions, mime, buttons, mods))
    move = QDragMoveEvent(point, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    indicator = view.drop_row
    dropped = QDropEvent(position, actions, mime, buttons, mods, QEvent.Type.Drop)
    QApplication.sendEvent(viewport, dropped)
    return indicator, move.isAccepted(), dropped.isAccepted()


def test_palette_shows_every_registry_type_with_tooltip(builder):
    palette = builder.palette_view
    assert palette.objectName() == "layerPalette"
    assert sorted(palette.type_names()) == sorted(registry.LAYERS)
    for name in palette.type_names():
        assert name in palette.item_for(name).toolTip()
    palette.filter_edit.setText("pool")
    visible = [n for n in palette.type_names() if not palette.item_for(n).isHidden()]
    assert visible == ["MaxPool2D", "AvgPool2D"]


def test_drop_from_palette_inserts_at_the_drop_position(builder):
    palette = builder.palette_view
    mime = palette.list.mimeData([palette.item_for("Dropout")])
    assert mime.hasFormat(LAYER_TYPE_MIME)
    # lower half of card 1 (Dense 64) → the new layer goes between Dense 64 and Dense 10
    indicator, accepted_move, accepted_drop = drop(
        builder.stack.view, mime, row_point(builder, 1, lower_half=True)
    )
    assert indicator == 2 and accepted_move and accepted_drop
    assert types(builder) == ["Flatten", "Dense", "Dropout", "Dense"]
    assert builder.stack.current_row() == 2
    assert builder.stack.view.drop_row is None  # the indicator goes away after the drop
    builder.undo_action.trigger()
    assert types(builder) == ["Flatten", "Dense", "Dense"]
    builder.redo_action.trigger()
    assert types(builder) == ["Flatten", "Dense", "Dropout", "Dense"]


def test_drop_on_top_half_inserts_before(builder):
    mime = builder.palette_view.list.mimeData([builder.palette_view.item_for("BatchNorm")])
    drop(builder.stack.view, mime, row_point(builder, 0))
    assert types(builder)[0] == "BatchNorm"


def test_unknown_payload_is_refused(builder):
    from PySide6.QtCore import QMimeData

    mime = QMimeData()
    mime.setText("Dense")
    _, accepted_move, _ = drop(builder.stack.view, mime, row_point(builder, 0))
    assert not accepted_move and types(builder) == ["Flatten", "Dense", "Dense"]


def test_enter_and_double_click_add_after_the_selected_layer(builder, qtbot):
    palette = builder.palette_view
    builder.stack.select_row(0)
    palette.list.setCurrentItem(palette.item_for("ReLU"))
    qtbot.keyClick(palette.list, Qt.Key.Key_Return)
    assert types(builder) == ["Flatten", "ReLU", "Dense", "Dense"]
    item = palette.item_for("Tanh")
    palette.list.scrollToItem(item)
    center = palette.list.visualItemRect(item).center()
    # a real double-click: the view only reacts when the press landed on the same item
    qtbot.mouseClick(palette.list.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.mouseDClick(palette.list.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert types(builder) == ["Flatten", "ReLU", "Tanh", "Dense", "Dense"]


def test_a_new_layer_never_goes_after_the_output_layer(builder, qtbot):
    palette = builder.palette_view
    builder.stack.select_row(2)  # the output layer
    palette.list.setCurrentItem(palette.item_for("Dropout"))
    qtbot.keyClick(palette.list, Qt.Key.Key_Return)
    assert types(builder) == ["Flatten", "Dense", "Dropout", "Dense"]
    builder.stack.select_row(-1)  # nothing selected: before the output too
    qtbot.keyClick(palette.list, Qt.Key.Key_Return)
    assert types(builder)[-2:] == ["Dropout", "Dense"]
    assert builder.config()["layers"][-1]["units"] == 10


def test_filter_then_enter_adds_the_highlighted_layer(builder, qtbot):
    """Typing "dropout" then Enter (in the filter, or after Tab in the list) adds Dropout, not
    the hidden row that was current (Dense)."""
    palette = builder.palette_view
    builder.stack.select_row(1)
    palette.list.setCurrentItem(palette.item_for("Dense"))
    palette.filter_edit.setFocus()
    qtbot.keyClicks(palette.filter_edit, "dropout")
    assert palette.list.currentItem() is palette.item_for("Dropout")
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    assert types(builder) == ["Flatten", "Dense", "Dropout", "Dense"]
    qtbot.keyClick(palette.list, Qt.Key.Key_Return)  # Tab took the focus to the list
    assert types(builder).count("Dropout") == 2 and types(builder)[-1] == "Dense"


def test_up_and_down_in_the_filter_move_over_the_shown_layers(builder, qtbot):
    palette = builder.palette_view
    qtbot.keyClicks(palette.filter_edit, "pool")
    shown = [
        palette.list.item(row).data(Qt.ItemDataRole.UserRole + 1)
        for row in palette.list.shown_layer_rows()
    ]
    assert len(shown) >= 2 and palette.list.currentItem().text() == shown[0]
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Down)
    assert palette.list.currentItem().text() == shown[1]
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Up)
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Up)  # stays on the first
    assert palette.list.currentItem().text() == shown[0]


def test_reorder_by_dragging_a_card(builder):
    indicator, _, _ = drop(builder.stack.view, layer_index_mime(0), row_point(builder, 2, True))
    assert indicator == 3
    assert types(builder) == ["Dense", "Dense", "Flatten"]
    assert builder.stack.current_row() == 2
    builder.undo_action.trigger()
    assert types(builder) == ["Flatten", "Dense", "Dense"]
    builder.redo_action.trigger()
    assert types(builder) == ["Dense", "Dense", "Flatten"]


def test_dropping_a_card_onto_itself_changes_nothing(builder):
    drop(builder.stack.view, layer_index_mime(1), row_point(builder, 1))
    assert builder.undo_stack.count() == 0


def test_delete_key_removes_and_undo_redo(builder, qtbot):
    view = builder.stack.view
    builder.stack.select_row(1)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert types(builder) == ["Flatten", "Dense"]
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert len(types(builder)) == 1
    builder.undo_action.trigger()
    builder.undo_action.trigger()
    assert builder.config()["layers"] == builder.model.config()["layers"]
    assert types(builder) == ["Flatten", "Dense", "Dense"]
    assert builder.config()["layers"][1]["units"] == 64
    builder.redo_action.trigger()
    assert types(builder) == ["Flatten", "Dense"]


def test_ctrl_d_duplicates_and_undo(builder, qtbot):
    view = builder.stack.view
    builder.stack.select_row(1)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert types(builder) == ["Flatten", "Dense", "Dense", "Dense"]
    assert builder.config()["layers"][2] == builder.config()["layers"][1]
    assert builder.stack.current_row() == 2
    builder.undo_action.trigger()
    assert types(builder) == ["Flatten", "Dense", "Dense"]


def test_context_menu_offers_the_same_actions(builder):
    menu = QMenu()
    builder.stack._add_layer_actions(menu, 1)
    texts = [action.text() for action in menu.actions()]
    assert {"Duplicate layer", "Delete layer", "Move up", "Move down"} <= set(texts)
    shortcuts = {a.text(): a.shortcut().toString() for a in menu.actions()}
    assert shortcuts["Duplicate layer"] == "Ctrl+D" and shortcuts["Delete layer"] == "Del"


def test_inspector_widgets_follow_settings(builder):
    builder.stack.select_row(1)
    editors = builder.inspector.editors
    assert builder.inspector.objectName() == "layerInspector"
    assert isinstance(editors["units"], QSpinBox)
    assert (editors["units"].minimum(), editors["units"].maximum()) == (1, 100_000)
    assert isinstance(editors["activation"], QComboBox) and editors["activation"].value() == "relu"
    assert isinstance(editors["initializer"], QComboBox)
    assert isinstance(editors["l2"], QDoubleSpinBox)
    for editor in editors.values():
        assert editor.toolTip()


def test_typing_a_value_applies_as_you_type_as_one_undo_step(builder, qtbot):
    builder.stack.select_row(1)
    spin = builder.inspector.editors["units"]
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "128")
    assert builder.config()["layers"][1]["units"] == 128
    assert builder.undo_stack.count() == 1
    assert "units" in builder.undo_stack.undoText()
    builder.undo_action.trigger()
    assert builder.config()["layers"][1]["units"] == 64
    assert spin.value() == 64  # the inspector shows what the model holds
    builder.redo_action.trigger()
    assert builder.config()["layers"][1]["units"] == 128


def test_combo_and_float_edits_are_undoable(builder):
    builder.stack.select_row(1)
    editors = builder.inspector.editors
    editors["activation"].setCurrentText("tanh")
    editors["l2"].setValue(0.001)
    layer = builder.config()["layers"][1]
    assert layer["activation"] == "tanh" and layer["l2"] == pytest.approx(0.001)
    builder.undo_action.trigger()
    builder.undo_action.trigger()
    assert builder.config()["layers"][1]["activation"] == "relu"


def test_invalid_network_disables_train_with_the_reason(builder):
    train = QAction("Train")  # the main window's action, wired the way the window does it
    builder.validity_changed.connect(lambda ok, why: (train.setEnabled(ok), train.setToolTip(why)))
    builder.stack.select_row(0)
    builder.remove_layer(0)  # Dense right after a 1×28×28 image
    assert not train.isEnabled()
    assert "Layer 0" in train.toolTip() and "Flatten" in train.toolTip()
    assert not builder.is_valid() and builder.problem() == train.toolTip()
    assert "problem" in builder.stack.output_card.status_text
    builder.undo_action.trigger()
    assert train.isEnabled() and builder.is_valid() and builder.problem() == ""


def test_wrong_output_size_and_fix_button_in_inspector(builder, qtbot):
    train = QAction("Train")
    builder.validity_changed.connect(lambda ok, why: train.setEnabled(ok))
    builder.set_setting(2, "units", 7)
    assert not train.isEnabled()
    builder.stack.select_row(2)
    buttons = builder.inspector.problem_box.fix_buttons
    assert [b.text() for b in buttons] == ["Set units to 10"]
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    assert builder.config()["layers"][2]["units"] == 10 and train.isEnabled()
    builder.undo_action.trigger()
    assert builder.config()["layers"][2]["units"] == 7


def test_one_click_fix_painted_on_the_card(builder, qtbot):
    builder.set_config({"layers": [{"type": "Conv2D", "filters": 4}]})  # image output
    view = builder.stack.view
    index = builder.stack.list_model.index(0)
    problem = index.data(PROBLEM_ROLE)
    assert problem is not None and problem.fixes[0].label == "Add Flatten and Dense(10)"
    rect = QRectF(view.visualRect(index))
    pill, fix = card_layout(rect, view.font(), problem).pills[0]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pill.center().toPoint())
    assert types(builder) == ["Conv2D", "Flatten", "Dense"]
    assert builder.is_valid()
    assert builder.undo_stack.count() == 1  # a two-step fix is one macro command
    builder.undo_action.trigger()
    assert types(builder) == ["Conv2D"]


def test_window_title_star_follows_clean_state(builder):
    window = QMainWindow()
    window.setWindowTitle("project[*] — nnstudio")
    builder.undo_stack.cleanChanged.connect(lambda clean: window.setWindowModified(not clean))
    assert builder.undo_stack.isClean()
    builder.append_layer("Softmax")
    assert window.isWindowModified()
    builder.undo_action.trigger()
    assert not window.isWindowModified()
    builder.append_layer("Dropout")
    builder.set_config(MLP)  # opening a project: history cleared, clean again
    assert not window.isWindowModified() and builder.undo_stack.count() == 0


def test_config_changed_carries_the_config(builder, qtbot):
    with qtbot.waitSignal(builder.config_changed) as blocker:
        builder.append_layer("Dropout")
    assert blocker.args[0]["layers"][-1]["type"] == "Dropout"
    assert blocker.args[0]["input_shape"] == [1, 28, 28]


def test_presets_load_undoably_and_menu_lists_them(builder):
    builder._fill_presets_menu()
    titles = [action.text() for action in builder.presets_menu.actions()]
    assert {"XOR net", "2-D classifier", "MNIST MLP", "MNIST CNN"} <= set(titles)
    assert "Save as preset…" in titles
    builder.load_preset("mnist-cnn")
    assert types(builder)[:2] == ["Conv2D", "MaxPool2D"] and builder.is_valid()
    assert builder.config()["input_shape"] == [1, 28, 28]  # the dataset's, kept
    builder.undo_action.trigger()
    assert types(builder) == ["Flatten", "Dense", "Dense"]


def test_save_as_preset_round_trip(builder, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    builder.append_layer("Dropout")
    path = builder.save_preset("My net")
    assert path.parent == presets.user_presets_dir() and path.exists()
    saved = presets.find_preset("my-net")
    assert saved.source == "user" and saved.title == "My net"
    builder.set_config({"layers": []})
    builder.load_preset("my-net")
    assert types(builder) == ["Flatten", "Dense", "Dense", "Dropout"]


def test_diagram_small_net_neurons_weights_and_hover_plane(qtbot):
    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((2,), 2, "classification", "softmax_crossentropy")
    builder.set_config(
        {
            "layers": [
                {"type": "Dense", "units": 3, "activation": "tanh"},
                {"type": "Dense", "units": 40, "activation": "relu"},
                {"type": "Dense", "units": 2},
            ]
        }
    )
    diagram = builder.diagram
    assert [c.neurons for c in diagram.columns] == [2, 3, 12, 2]  # 40: its first 12 drawn
    assert diagram.columns[2].more == 28
    rng = np.random.default_rng(1)
    weights = {
        "0.W": rng.normal(size=(2, 3)).astype(np.float32),
        "0.b": rng.normal(size=3).astype(np.float32),
    }
    diagram.update_weights({"weights": weights, "boundary": {"extent": (-1, 1, -1, 1)}})
    assert diagram.extent == (-1.0, 1.0, -1.0, 1.0)
    picture = diagram.neuron_picture(1, 2, size=5)
    xs = np.linspace(-1, 1, 5)
    gx, gy = np.meshgrid(xs, xs[::-1])
    expected = np.tanh(gx * weights["0.W"][0, 2] + gy * weights["0.W"][1, 2] + weights["0.b"][2])
    np.testing.assert_allclose(picture, expected, atol=1e-5)


def test_diagram_hover_shows_neuron(qtbot):
    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((2,), 2, "classification", "softmax_crossentropy")
    builder.set_config(
        {
            "layers": [
                {"type": "Dense", "units": 3, "activation": "tanh"},
                {"type": "Dense", "units": 2},
            ]
        }
    )
    diagram = builder.diagram
    diagram.resize(400, 300)
    diagram.show()
    qtbot.waitExposed(diagram)
    center = diagram.neuron_center(1, 0)
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        center,
        diagram.mapToGlobal(center),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(diagram, move)
    assert diagram._hover == (1, 0)
    image = diagram.grab().toImage()
    assert not image.isNull()


def test_problem_box_never_keeps_stale_buttons(builder, qtbot):
    from PySide6.QtWidgets import QPushButton

    builder.set_setting(2, "units", 7)  # error on layer 2
    builder.stack.select_row(2)
    builder.set_setting(1, "activation", "linear")  # warning on layer 1, selected at once
    box = builder.inspector.problem_box
    assert [b.text() for b in box.findChildren(QPushButton)] == ["Set activation to relu"]
    qtbot.waitUntil(lambda: box.fix_buttons[0].isVisible())
    shown = [b.text() for b in box.findChildren(QPushButton) if b.isVisible()]
    assert shown == ["Set activation to relu"]
    assert "Suggestion" in box.message.text()


def test_inspector_shows_defaults_for_settings_missing_from_the_config(qtbot):
    from nnstudio.project.builder_model import BuilderModel
    from nnstudio.ui.builder.layer_inspector import QtLayerInspector

    model = BuilderModel([{"type": "Dense", "units": 3}], input_shape=(2,), n_classes=3)
    inspector = QtLayerInspector(model)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    assert inspector.editors["use_bias"].value() is True
    assert inspector.editors["activation"].value() == "linear"


def test_diagram_draws_a_cnn_as_blocks_with_shapes(builder):
    builder.load_preset("mnist-cnn")
    diagram = builder.diagram
    assert diagram.columns[0].shape == (1, 28, 28) and diagram.columns[0].neurons is None
    assert diagram.columns[-1].neurons == 10
    assert diagram.column_tooltip(1).startswith("<b>Conv2D 0</b>")
    assert "values" in diagram.column_tooltip(1)


def test_float_editor_takes_exponents_and_steps_sensibly(builder, qtbot):
    builder.stack.select_row(1)
    l2 = builder.inspector.editors["l2"]
    l2.stepBy(1)
    assert builder.config()["layers"][1]["l2"] == pytest.approx(1e-4)
    l2.setFocus()
    l2.selectAll()
    qtbot.keyClicks(l2, "3e-5")
    assert builder.config()["layers"][1]["l2"] == pytest.approx(3e-5)
    qtbot.keyClick(l2, Qt.Key.Key_Return)
    assert l2.text() == "3e-05"  # shown the short way once typed in


def test_shape_editor_applies_when_the_text_is_a_shape(qtbot):
    builder = QtModelBuilder()
    qtbot.addWidget(builder)
    builder.set_input_spec((784,), 10, "classification", "softmax_crossentropy")
    builder.set_config(
        {
            "layers": [
                {"type": "Reshape", "shape": [1, 28, 28]},
                {"type": "Flatten"},
                {"type": "Dense", "units": 10},
            ]
        }
    )
    builder.stack.select_row(0)
    editor = builder.inspector.editors["shape"]
    editor.clear()
    qtbot.keyClicks(editor, "4x14x")  # applied as typed: "4x14" was a shape, "4x14x" is not
    assert builder.config()["layers"][0]["shape"] == [4, 14]
    assert not builder.is_valid() and "Reshape" in builder.problem()
    qtbot.keyClicks(editor, "14")
    assert builder.config()["layers"][0]["shape"] == [4, 14, 14]
    assert builder.is_valid()


def test_set_settings_everywhere_is_one_undo_step(builder):
    builder.set_settings_everywhere({"l2": 1e-4})
    layers = builder.config()["layers"]
    assert [layer.get("l2") for layer in layers] == [None, 1e-4, 1e-4]  # Flatten has no l2
    assert builder.undo_stack.count() == 1
    builder.undo_action.trigger()
    assert [layer.get("l2") for layer in builder.config()["layers"]] == [None, 0.0, 0.0]
    builder.set_settings_everywhere({"l2": 0.0})  # nothing to change: no empty command
    assert builder.undo_stack.count() == 1


def test_undo_actions_for_the_window_menu(qtbot):
    window = QMainWindow()
    window.setWindowTitle("project[*]")
    builder = QtModelBuilder()
    window.setCentralWidget(builder)
    qtbot.addWidget(window)
    edit_menu = window.menuBar().addMenu("&Edit")
    edit_menu.addActions([builder.undo_action, builder.redo_action])  # the builder's own
    undo, redo = edit_menu.actions()
    assert undo.shortcut().toString() == "Ctrl+Z" and redo.shortcut().toString() == "Ctrl+Shift+Z"
    assert undo.toolTip() and redo.toolTip()
    builder.set_input_spec((2,), 2, "classification", "softmax_crossentropy")
    assert not undo.isEnabled()
    builder.append_layer("Dense")
    assert undo.isEnabled() and "Insert Dense" in undo.text()
    assert undo.toolTip() == "Undo Insert Dense (Ctrl+Z)"
    undo.trigger()
    assert builder.config()["layers"] == [] and redo.isEnabled()
    redo.trigger()
    assert [layer["type"] for layer in builder.config()["layers"]] == ["Dense"]


def test_set_config_refuses_layers_that_are_not_configs(builder):
    with pytest.raises(ValueError, match="not a layer config"):
        builder.set_config({"layers": ["Dense"]})
    assert types(builder) == ["Flatten", "Dense", "Dense"]  # nothing lost


def test_drop_on_the_output_card_appends_and_on_the_input_card_inserts_first(builder):
    stack = builder.stack
    mime = builder.palette_view.list.mimeData([builder.palette_view.item_for("Softmax")])
    output_center = QPointF(stack.output_card.geometry().center())
    indicator, accepted_move, accepted_drop = drop(stack.view, mime, output_center, target=stack)
    assert indicator == 3 and accepted_move and accepted_drop
    assert types(builder)[-1] == "Softmax"
    input_center = QPointF(stack.input_card.geometry().center())
    indicator, _, _ = drop(stack.view, layer_index_mime(3), input_center, target=stack)
    assert indicator == 0 and types(builder)[0] == "Softmax"


def test_context_menu_inserts_below_and_drag_pixmap_is_the_card(builder):
    menu = QMenu()
    builder.stack._add_insert_menu(menu, 1)
    insert = menu.actions()[0].menu()
    categories = [action.text() for action in insert.actions()]
    assert categories[:3] == ["Core", "Convolution", "Pooling"]
    regularization = insert.actions()[categories.index("Regularization")].menu()
    regularization.actions()[0].trigger()  # Dropout
    assert types(builder) == ["Flatten", "Dropout", "Dense", "Dense"]
    view = builder.stack.view
    pixmap = view._card_pixmap(builder.stack.list_model.index(1))
    assert not pixmap.isNull()
    assert pixmap.width() == view.visualRect(builder.stack.list_model.index(1)).width()


def test_enter_on_a_card_goes_to_its_first_setting(builder, qtbot, monkeypatch):
    focused = []
    monkeypatch.setattr(builder.inspector, "focus_first_editor", lambda: focused.append(1))
    view = builder.stack.view
    builder.stack.select_row(1)
    view.setFocus()
    with qtbot.waitSignal(builder.stack.edit_requested) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert blocker.args == [1] and builder.inspector.row == 1 and focused == [1]


def test_inspector_rows_are_labelled_as_the_engine_describes_each_setting(qtbot):
    from nnstudio.engine.registry import LAYERS
    from nnstudio.project.builder_model import BuilderModel
    from nnstudio.ui.builder.layer_inspector import QtLayerInspector

    model = BuilderModel([{"type": "Conv2D", "filters": 8}], input_shape=(1, 28, 28))
    inspector = QtLayerInspector(model)
    qtbot.addWidget(inspector)
    inspector.show_layer(0)
    form = inspector.form
    for setting in LAYERS["Conv2D"].SETTINGS:
        editor = inspector.editors[setting.name]
        assert form.labelForField(editor).text() == setting.label
    assert form.labelForField(inspector.editors["kernel_size"]).text() == "Kernel size"
