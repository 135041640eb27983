"""nnstudio.events: Qt-free signals and the groups that declare them."""

import pytest

from nnstudio.events import Events, Signal


class Sample(Events):
    changed: Signal
    moved: Signal


class MoreSample(Sample):
    settled: Signal


def test_handlers_get_the_arguments_in_the_order_they_were_connected():
    signal, calls = Signal("moved"), []
    signal.connect(lambda a, b: calls.append(("first", a, b)))
    signal.connect(lambda a, b: calls.append(("second", a, b)))
    signal.emit(1, 2)
    assert calls == [("first", 1, 2), ("second", 1, 2)]


def test_a_group_has_exactly_its_declared_events_each_its_own_signal():
    group = MoreSample()
    assert MoreSample.names() == ["changed", "moved", "settled"]
    assert isinstance(group.settled, Signal) and group.changed is not MoreSample().changed
    with pytest.raises(AttributeError, match="no event 'chnaged'; its events are: changed"):
        group.chnaged.connect(print)
    with pytest.raises(AttributeError, match="fixed"):
        group.changed = Signal()


def test_connecting_what_cannot_be_called_or_disconnecting_a_stranger_says_so():
    signal = Signal("changed")
    with pytest.raises(TypeError, match="changed: 'oops' is not callable"):
        signal.connect("oops")
    with pytest.raises(ValueError, match="is not connected"):
        signal.disconnect(print)


def test_a_handler_may_disconnect_itself_while_the_event_is_delivered():
    signal, calls = Signal(), []

    def once():
        calls.append("once")
        signal.disconnect(once)

    signal.connect(once)
    signal.connect(lambda: calls.append("always"))
    signal.emit()
    signal.emit()
    assert calls == ["once", "always", "always"]
