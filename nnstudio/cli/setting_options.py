"""Command-line options made from the project's settings (project/settings.py): an option's
type checks what the setting allows and its help says what the setting is for, its default
and its range, so ``nnstudio train --epochs 0`` is refused with the words a project file
with ``"epochs": 0`` gets, and ``--help`` can never disagree with the window.

>>> from nnstudio.project.settings import BATCH_SIZE
>>> setting_type(BATCH_SIZE)("64")
64
>>> setting_help(BATCH_SIZE).endswith("(default 32; 1 to 65,536)")
True
"""

from __future__ import annotations

import argparse

__all__ = ["add_setting_option", "loss_help", "names_help", "setting_help", "setting_type"]

_CONVERT = {"int": int, "float": float}
_KIND_WORDS = {"int": "a whole number", "float": "a number"}


def setting_type(setting):
    """An argparse ``type``: the text as the setting's kind, in the setting's range."""

    def parse(text: str):
        convert = _CONVERT.get(setting.kind, str)
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {_KIND_WORDS.get(setting.kind, 'a value')}"
            ) from None
        try:
            return setting.validate(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = setting.name  # argparse names the type in some messages
    return parse


def setting_help(setting, more: str = "", default: str = "") -> str:
    """The setting's help, then ``more``, its default (``default`` says it in words when the
    command has its own: "the model's") and range, for ``--help``."""
    if not default:
        default = setting.none_label if setting.default is None else _number(setting.default)
    bounds = _range_text(setting)
    facts = f"default {default}" + (f"; {bounds}" if bounds else "")
    text = " ".join(part for part in (setting.help, more) if part)
    return f"{text} ({facts})".replace("%", "%%")  # argparse formats help with %


def _number(value) -> str:
    """1e+09 rather than 1000000000.0; 100,000 rather than 100000."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:g}" if isinstance(value, float) else f"{value:,}"


def _range_text(setting) -> str:
    """ "1 to 65,536" for an inclusive range; the setting's own words otherwise."""
    low, high = setting.minimum, setting.maximum
    if low is None or high is None or setting.exclusive_minimum or setting.exclusive_maximum:
        return setting.bounds_text()
    return f"{_number(low)} to {_number(high)}"


def names_help(setting, table: dict, default: str = "") -> str:
    """Help for a name out of a registry table: the setting's help and every name there."""
    from nnstudio.project.settings import names_in

    shown = default or setting.default
    return f"{setting.help} One of {names_in(table)} (default {shown})."


def loss_help() -> str:
    """``--loss``: every loss there is; by default the project's, or one fitting the data."""
    from nnstudio.engine.registry import LOSSES
    from nnstudio.project.settings import LOSS

    return names_help(LOSS, LOSSES, default="the project's, or one that fits the dataset")


def add_setting_option(
    group, flag: str, setting, metavar: str, more: str = "", default: str = ""
) -> None:
    """``flag`` (e.g. "--batch-size") typed, checked and described by ``setting``."""
    group.add_argument(
        flag,
        type=setting_type(setting),
        metavar=metavar,
        help=setting_help(setting, more, default),
    )
