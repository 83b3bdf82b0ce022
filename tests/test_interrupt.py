"""Ctrl-C and SIGTERM (reducers/interrupt.py), with real signals sent to this process."""

import os
import signal

import pytest

from reducers.interrupt import SIGNALS, StopRequest


@pytest.fixture
def handlers():
    """Whatever a test installs, this process's handlers are restored afterwards."""
    saved = {s: signal.getsignal(s) for s in SIGNALS}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_the_first_signal_asks_the_second_stops_at_once(handlers):
    stop = StopRequest()
    with stop.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop and stop.signum == signal.SIGTERM and stop.exit_code == 143
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


def test_after_the_job_later_signals_are_ignored_until_the_process_exits(handlers):
    stop = StopRequest()
    with stop.installed():
        os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)  # recorded, writing tables, exiting: no traceback
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.signum == signal.SIGINT and stop.exit_code == 130


def test_without_a_signal_the_previous_handlers_come_back(handlers):
    before = signal.getsignal(signal.SIGINT)
    with StopRequest().installed():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
