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


def test_signals_while_the_kept_epoch_is_written_wait_for_the_write(handlers, tmp_path,
                                                                    monkeypatch):
    """Three quick SIGTERMs: the first asks to stop, the loop keeps epoch 3 and writes it; the
    second and third arrive during that write and wait for it, then stop the job at once. The
    checkpoint on disk is epoch 3, as the log said (without the shield, the second signal cut
    the write short and the epochs since the last timed write were lost)."""
    import torch

    from experiments import resume
    from reducers.checkpoint import load_checkpoint
    from reducers.trainer import LoopState

    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters())
    stop = StopRequest()
    save = resume.EpochCheckpoints(tmp_path / "checkpoint.pt", model, optimizer, 1e9,
                                   written_with={"model_spec": {}, "config": {}}, threads=1,
                                   shield=stop.shielded)
    real_write = resume.write_checkpoint

    def write_under_fire(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        real_write(*args, **kwargs)

    monkeypatch.setattr(resume, "write_checkpoint", write_under_fire)
    with stop.installed():
        save.on_state(LoopState(epoch=3))  # kept in memory (the interval is not up)
        os.kill(os.getpid(), signal.SIGTERM)  # the first: the loop returns after this step
        with pytest.raises(KeyboardInterrupt):  # the second, once the write is done
            save.flush()
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 3
    assert stop.signum == signal.SIGTERM and not stop.deferred
