"""The builder's Qt-free model: edits, live checks and one-click fixes as data."""

import subprocess
import sys

import pytest

from nnstudio.engine.model import Sequential
from nnstudio.project import layer_meta
from nnstudio.project.builder_model import BuilderEvents, BuilderModel
from nnstudio.project.problems import Edit, Fix


def mlp(units=10, input_shape=(784,), n_classes=10, loss="softmax_crossentropy"):
    layers = [
        {"type": "Dense", "units": 32, "activation": "relu"},
        {"type": "Dense", "units": units},
    ]
    return BuilderModel(layers, input_shape=input_shape, n_classes=n_classes, loss_name=loss)


def apply(model: BuilderModel, fix: Fix) -> None:
    with model.batch():
        for edit in fix.edits:
            model.apply_edit(edit)


def test_model_modules_import_no_qt():
    # The mechanics must stay testable without widgets (and usable by headless tools).
    code = (
        "import sys\n"
        "import nnstudio.project.builder_model, nnstudio.project.presets\n"
        "import nnstudio.project.diagram_layout\n"
        "print(any(name.startswith('PySide6') for name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_edits_and_events_in_order():
    model = BuilderModel(input_shape=(2,), n_classes=2)
    events = []
    for name in BuilderEvents.names():
        getattr(model.events, name).connect(lambda *args, name=name: events.append((name, *args)))
    model.insert(0, {"type": "Dense", "units": 4})
    model.insert(1, {"type": "Dense", "units": 2})
    model.move(1, 0)
    assert [layer["units"] for layer in model.layers] == [2, 4]
    old = model.set_setting(0, "units", 3)
    assert old == 2 and model.layer(0)["units"] == 3
    removed = model.remove(1)
    assert removed["units"] == 4 and len(model) == 1
    assert ("before_insert", 0) in events and ("inserted", 1) in events
    assert ("moved", 1, 0) in events and ("changed", 0, "units") in events
    assert events.count(("settled",)) == 5


def test_batch_settles_once():
    model = BuilderModel(input_shape=(2,))
    events = []
    model.events.settled.connect(lambda: events.append("settled"))
    with model.batch():
        model.insert(0, {"type": "Flatten"})
        model.insert(1, {"type": "Dense", "units": 2})
    assert events.count("settled") == 1


def test_layer_copies_do_not_alias_the_model():
    model = mlp()
    layer = model.layer(0)
    layer["units"] = 999
    assert model.layer(0)["units"] == 32


def test_shapes_and_parameter_counts_match_the_engine():
    model = mlp()
    analysis = model.analysis()
    assert analysis.valid, model.problem()
    engine = Sequential.from_config(model.config())
    rows = engine.summary()
    assert [info.output_shape for info in analysis.layers] == [tuple(r[1]) for r in rows]
    assert [info.n_params for info in analysis.layers] == [r[2] for r in rows]
    assert analysis.total_params == engine.count_params() == 784 * 32 + 32 + 32 * 10 + 10


def test_conv_after_dense_is_marked_with_fix_in_words():
    model = BuilderModel(
        [
            {"type": "Dense", "units": 784},
            {"type": "Conv2D", "filters": 4},
            {"type": "Flatten"},
            {"type": "Dense", "units": 10},
        ],
        input_shape=(784,),
        n_classes=10,
    )
    analysis = model.analysis()
    assert not analysis.valid
    problem = analysis.layers[1].error
    assert problem is not None and "Conv2D needs" in problem.message and "784" in problem.message
    labels = [fix.label for fix in problem.fixes]
    assert "Insert Reshape to 1×28×28" in labels
    apply(model, problem.fixes[labels.index("Insert Reshape to 1×28×28")])
    assert model.is_valid(), model.problem()
    assert model.layer(1) == {"type": "Reshape", "shape": [1, 28, 28]}


def test_dense_after_image_offers_insert_flatten():
    model = BuilderModel([{"type": "Dense", "units": 10}], input_shape=(1, 28, 28), n_classes=10)
    fix = model.fixes_for(0)[0]
    assert fix.label == "Insert Flatten"
    apply(model, fix)
    assert [layer["type"] for layer in model.layers] == ["Flatten", "Dense"]
    assert model.is_valid()


def test_wrong_output_size_offers_set_units():
    model = mlp(units=5)
    assert not model.is_valid()
    assert "10 classes" in model.problem() and "Layer 1" in model.problem()
    fix = model.fixes_for(1)[0]
    assert fix.label == "Set units to 10"
    apply(model, fix)
    assert model.is_valid() and model.layer(1)["units"] == 10


def test_output_size_looks_through_dropout_and_activation():
    layers = [{"type": "Dense", "units": 3}, {"type": "Dropout", "rate": 0.2}, {"type": "Tanh"}]
    model = BuilderModel(layers, input_shape=(2,), n_classes=2, loss_name="mse", task="regression")
    fixes = model.fixes_for(0)
    assert [fix.label for fix in fixes] == ["Set units to 2"]


def test_image_output_gets_flatten_and_dense():
    model = BuilderModel([{"type": "Conv2D", "filters": 4}], input_shape=(1, 8, 8), n_classes=3)
    fix = model.fixes_for(0)[0]
    assert fix.label == "Add Flatten and Dense(3)"
    apply(model, fix)
    assert model.is_valid(), model.problem()


def test_softmax_before_logit_loss_is_an_error_with_fix():
    model = BuilderModel(
        [{"type": "Dense", "units": 10, "activation": "softmax"}], input_shape=(4,), n_classes=10
    )
    assert not model.is_valid()
    assert "logits" in model.problem()
    apply(model, model.fixes_for(0)[0])
    assert model.layer(0)["activation"] == "linear" and model.is_valid()

    layer_form = BuilderModel(
        [{"type": "Dense", "units": 10}, {"type": "Softmax"}], input_shape=(4,), n_classes=10
    )
    fix = layer_form.fixes_for(1)[0]
    assert fix.label == "Remove Softmax"
    apply(layer_form, fix)
    assert layer_form.is_valid()


def test_binary_crossentropy_wants_one_output():
    model = mlp(units=2, input_shape=(2,), n_classes=2, loss="binary_crossentropy")
    assert model.fixes_for(1)[0].label == "Set units to 1"


def test_warnings_do_not_block_training():
    model = BuilderModel(
        [{"type": "Dense", "units": 8}, {"type": "Dense", "units": 2, "activation": "relu"}],
        input_shape=(2,),
        n_classes=2,
    )
    analysis = model.analysis()
    assert analysis.valid and len(analysis.warnings) == 2
    assert {fix.label for p in analysis.warnings for fix in p.fixes} == {
        "Set activation to relu",
        "Set activation to linear",
    }


def test_empty_network_and_missing_dataset_are_reported():
    empty = BuilderModel(input_shape=(1, 28, 28), n_classes=10)
    assert not empty.is_valid() and "no layers" in empty.problem()
    fix = empty.fixes_for(None)[0]
    apply(empty, fix)
    assert empty.is_valid() and [layer["type"] for layer in empty.layers] == ["Flatten", "Dense"]
    no_data = BuilderModel([{"type": "Dense", "units": 2}])
    assert not no_data.is_valid() and "dataset" in no_data.problem()


def test_bad_setting_value_is_a_problem_not_a_crash():
    model = mlp()
    model.set_setting(0, "units", 0)
    assert not model.is_valid()
    assert "units" in model.problem()


def test_fix_is_only_offered_when_it_works():
    # 10 values cannot become a square image, so no Reshape is offered; removing is.
    model = BuilderModel([{"type": "Conv2D", "filters": 2}], input_shape=(10,), n_classes=2)
    labels = [fix.label for fix in model.fixes_for(0)]
    assert not any(label.startswith("Insert Reshape") for label in labels)
    assert "Remove Conv2D" in labels


def test_fix_edit_applies_to_plain_lists():
    fix = Fix(
        "x", (Edit("insert", 0, layer={"type": "Flatten"}), Edit("set", 1, name="units", value=3))
    )
    assert fix.applied_to([{"type": "Dense", "units": 1}]) == [
        {"type": "Flatten"},
        {"type": "Dense", "units": 3},
    ]


@pytest.mark.parametrize("type_name", sorted(layer_meta.registry().LAYERS))
def test_every_registered_type_inserts_with_working_defaults(type_name):
    image = layer_meta.category_of(type_name) in ("Convolution", "Pooling")
    model = BuilderModel(input_shape=(1, 28, 28) if image else (784,))
    model.insert(0, model.new_layer(type_name, 0))
    assert model.analysis().layers[0].output_shape is not None, model.problem()


def test_card_titles_read_at_a_glance():
    assert layer_meta.card_title({"type": "Dense", "units": 128, "activation": "relu"}) == (
        "Dense 128 · relu"
    )
    conv = {
        "type": "Conv2D",
        "filters": 32,
        "kernel_size": 3,
        "stride": 1,
        "padding": "same",
        "activation": "relu",
    }
    assert layer_meta.card_title(conv) == "Conv2D 32 3×3 same · relu"
    assert layer_meta.card_title({"type": "Dropout", "rate": 0.25}) == "Dropout 0.25"
    assert layer_meta.format_shape((1, 28, 28)) == "1×28×28"


def test_huge_layers_are_counted_not_built(monkeypatch):
    from nnstudio.engine.layers import Dense
    from nnstudio.project import network_checks as checks

    built = []
    real_build = Dense.build

    def recording_build(self, input_shape, *args, **kwargs):
        built.append(self.units)
        return real_build(self, input_shape, *args, **kwargs)

    monkeypatch.setattr(Dense, "build", recording_build)
    model = BuilderModel(
        [{"type": "Dense", "units": 100_000}, {"type": "Dense", "units": 10}],
        input_shape=(784,),
        n_classes=10,
    )
    analysis = model.analysis()
    assert analysis.layers[0].n_params == 784 * 100_000 + 100_000
    assert analysis.layers[0].output_shape == (100_000,)
    assert Dense(100_000).parameter_count((784,)) > checks.BUILD_LIMIT
    assert built == [10]  # 78 M weights are counted, never allocated
    small = BuilderModel([{"type": "Dense", "units": 8}], input_shape=(4,), n_classes=8)
    engine = Sequential.from_config(small.config())
    assert small.analysis().layers[0].n_params == engine.count_params()


def test_unknown_layer_type_is_shown_not_refused():
    model = BuilderModel([{"type": "Dense", "units": 2}, {"type": "Quantum"}], input_shape=(2,))
    assert not model.is_valid()
    assert "Quantum" in model.problem() and "Known" in model.problem()
    fix = model.fixes_for(1)[0]
    assert fix.label == "Remove Quantum"
    apply(model, fix)
    assert model.layers == [{"type": "Dense", "units": 2}]


def test_output_size_problem_counts_targets_in_words():
    from nnstudio.project.network_checks import output_size_problem

    layers = [{"type": "Dense", "units": 3}]
    one = output_size_problem(layers, (3,), 1, "regression")
    assert "the data has 1 target value:" in one.message
    two = output_size_problem(layers, (3,), 2, "regression")
    assert "the data has 2 target values:" in two.message
