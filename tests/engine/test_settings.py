"""Settings described once: Setting, Configurable, one config key ("type"), old "name" configs."""

import doctest
import json
import zipfile

import numpy as np
import pytest

from nnstudio.engine import optimizer_base, registry, settings
from nnstudio.engine.io import load_checkpoint, load_model, save_checkpoint, save_model
from nnstudio.engine.layers import Dense
from nnstudio.engine.layers.base import Setting as LayerSetting
from nnstudio.engine.model import Sequential
from nnstudio.engine.optimizers import SGD, Adam
from nnstudio.engine.settings import KINDS, Configurable, Setting, split_config

DESCRIBED = {**registry.OPTIMIZERS, **registry.SCHEDULES, **registry.LOSSES}


@pytest.mark.parametrize("module", [settings, optimizer_base, registry])
def test_module_examples(module):
    assert doctest.testmod(module).failed == 0


def test_layers_still_import_setting_from_their_base():
    assert LayerSetting is Setting


def test_label_defaults_to_the_name_in_words():
    assert Setting("weight_decay", "float", 0.0).label == "Weight decay"
    assert Setting("beta1", "float", 0.9, label="β₁").label == "β₁"
    # The label is presentation: it does not make two settings different.
    assert Setting("gamma", "float", 0.1, label="Decay factor") == Setting("gamma", "float", 0.1)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            Setting("p", "float", 0.5, minimum=0, maximum=1, exclusive_maximum=True),
            1,
            r"in \[0, 1\)",
        ),
        (Setting("p", "float", 0.5, minimum=0, exclusive_minimum=True), 0, "> 0; got 0. Try 0.5"),
        (Setting("n", "int", None, minimum=1), 0, r">= 1 or None; got 0\.$"),
        (Setting("n", "int", 3, minimum=1), 2.5, "must be a whole number; got 2.5"),
        (Setting("x", "float", 1.0), "fast", "must be a number; got 'fast'"),
        (Setting("x", "float", 1.0), float("inf"), "must be a finite number"),
        (Setting("b", "bool", False), 1, "must be true or false"),
    ],
)
def test_validate_names_owner_setting_and_range(setting, value, message):
    with pytest.raises(ValueError, match=message) as error:
        setting.validate(value, "Thing")
    assert str(error.value).startswith(f"Thing {setting.name} ")


def test_validated_floats_are_python_floats():
    # NumPy scalars would upcast float32 updates; the settings hold plain floats.
    value = Setting("lr", "float", 0.1, minimum=0).validate(np.float32(0.5), "SGD")
    assert type(value) is float


def test_configurable_checks_unknown_settings_and_round_trips():
    class Decay(Configurable):
        SETTINGS = (Setting("gamma", "float", 0.5, minimum=0),)

    with pytest.raises(ValueError, match="Decay has no setting 'gama'. Known settings: gamma"):
        Decay(gama=1.0)
    decay = Decay(gamma=0.25)
    kind, values = split_config(decay.get_config())
    assert kind == "Decay" and Decay(**values).settings() == decay.settings()


@pytest.mark.parametrize("name", list(DESCRIBED))
def test_every_optimizer_schedule_and_loss_is_described(name):
    cls = DESCRIBED[name]
    assert cls.label and len(cls.help) > 20 and cls.help.endswith("."), cls
    for setting in cls.SETTINGS:
        assert setting.kind in KINDS, setting
        assert setting.label and len(setting.help) > 20 and setting.help.endswith("."), setting
        assert setting.validate(setting.default, cls.__name__) == setting.default
    default = cls()
    assert set(default.get_config()) == {"type"} | {s.name for s in cls.SETTINGS}
    kind, values = split_config(default.get_config())
    assert type(registry_lookup(cls, kind, values)) is cls


def registry_lookup(cls, kind, values):
    if cls in registry.OPTIMIZERS.values():
        return registry.optimizer_from_config({"type": kind, **values})
    if cls in registry.SCHEDULES.values():
        return registry.schedule_from_config({"type": kind, **values})
    return registry.loss_from_config({"type": kind, **values})


def test_losses_say_which_task_they_are_for():
    assert list(registry.losses_for_task("classification")) == [
        "binary_crossentropy",
        "softmax_crossentropy",
    ]
    assert all(cls.task in ("classification", "regression") for cls in registry.LOSSES.values())


def test_one_config_key_everywhere():
    objects = [
        SGD(),
        registry.schedule_from_config({"type": "step"}),
        registry.loss_from_config("huber"),
        registry.activation_from_config({"type": "elu"}),
    ]
    assert all("type" in obj.get_config() and "name" not in obj.get_config() for obj in objects)


@pytest.mark.parametrize(
    ("read", "old", "expected"),
    [
        (
            registry.schedule_from_config,
            {"name": "step", "gamma": 0.5},
            "StepSchedule(step_size=10",
        ),
        (registry.loss_from_config, {"name": "huber", "delta": 2.0}, "Huber(delta=2.0)"),
        (registry.activation_from_config, {"name": "elu", "alpha": 0.5}, "ELU(alpha=0.5)"),
        (registry.optimizer_from_config, {"name": "sgd", "lr": 0.1}, "SGD(lr=0.1"),
    ],
)
def test_old_style_configs_with_a_name_key_still_load(read, old, expected):
    assert repr(read(old)).startswith(expected)


def _rewrite_model_json(path, change):
    """Rewrite model.json of a saved .nnz as an older nnstudio could have written it."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    info = json.loads(members["model.json"])
    change(info)
    members["model.json"] = json.dumps(info).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_model_file_with_an_old_style_loss_config_opens(tmp_path):
    path = tmp_path / "old.nnz"
    save_model(path, Sequential([Dense(1)], input_shape=(2,)), loss="mse")

    def old_style(info):
        info["loss"] = {"name": "huber", "delta": 2.0}
        info.pop("loss_settings")

    _rewrite_model_json(path, old_style)
    bundle = load_model(path)
    assert (bundle.loss, bundle.loss_settings) == ("huber", {"delta": 2.0})
    assert repr(bundle.make_loss()) == "Huber(delta=2.0)"


def test_saving_a_loss_object_stores_its_type_and_settings(tmp_path):
    path = tmp_path / "huber.nnz"
    loss = registry.loss_from_config({"type": "huber", "delta": 3.0})
    save_model(path, Sequential([Dense(1)], input_shape=(2,)), loss=loss)
    bundle = load_model(path)
    assert (bundle.loss, bundle.loss_settings) == ("huber", {"delta": 3.0})


def test_checkpoint_optimizer_state_with_a_name_key_still_loads(tmp_path):
    model = Sequential([Dense(2)], input_shape=(3,))
    optimizer = Adam(lr=0.01)
    grads = {name: np.ones_like(value) for name, value in model.parameters().items()}
    optimizer.step(model.parameters(), grads)
    path = save_checkpoint(tmp_path / "run.nnz", model, optimizer, epoch=1)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    training = json.loads(members["training.json"])
    training["optimizer"]["name"] = training["optimizer"].pop("type")
    members["training.json"] = json.dumps(training).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    restored = load_checkpoint(path).optimizer
    assert isinstance(restored, Adam) and restored.iterations == 1 and restored.lr == 0.01
