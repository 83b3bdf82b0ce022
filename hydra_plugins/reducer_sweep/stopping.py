"""What both sweepers (``grids``, ``search``) do when their command is signalled (Ctrl-C,
SIGTERM, SIGHUP) while the jobs run elsewhere: in joblib's worker processes, on a cluster.

The first signal writes ``.stopping`` (the signal's name) in the sweep folder. Every job looks
for it between steps (``StopRequest.watch``), stops after its step, keeps its last whole epoch
and records itself interrupted; a job that begins afterwards records itself "not started". A
second signal is passed on to the command's own worker processes, which then stop at once
(their checkpoints still whole). Once the launcher has returned, the sweep's tables are
written as usual, the command says how to resume, and it exits 128 + the signal's number. With
the basic launcher the jobs run in the command's own process, and the running job catches the
signal itself, as a single run does.
"""

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Optional

from experiments.folders import STOPPING
from experiments.runtime import STOP
from hydra_plugins.reducer_sweep.tracker import TRACKER_LOG, quiet_relaunch
from reducers.interrupt import SIGNALS

log = logging.getLogger(__name__)


class StoppingCleanly:
    """A sweeper mixin: ``catch_signals()`` when the sweep starts, ``folder_locked()`` once
    the sweep folder is locked, ``release_signals()`` when it ends (see the module's doc)."""

    signalled: Optional[int] = None  # the first signal this command's handler received
    _previous: Optional[dict] = None

    def catch_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in SIGNALS}

    def folder_locked(self) -> None:
        """Clears a ``.stopping`` left by a command that was killed outright (not this
        sweep's), and keeps a relaunched joblib helper's messages in the folder's
        ``resource_tracker.log`` (see ``tracker``)."""
        if self.signalled is None:
            self._marker().unlink(missing_ok=True)
        quiet_relaunch(self._marker().parent / TRACKER_LOG)

    def release_signals(self) -> None:
        """After the launcher returned: every job has recorded its state."""
        self._marker().unlink(missing_ok=True)
        if self._previous is not None and not STOP:
            for s, handler in self._previous.items():
                signal.signal(s, handler)
        self._previous = None
        if self.signalled is not None:
            log.warning("the sweep was interrupted by %s: every job recorded what it kept; %s",
                        signal.Signals(self.signalled).name, self._how_to_resume())

    def _on_signal(self, signum: int, frame) -> None:
        if self.signalled is None and not STOP:
            self.signalled = STOP.signum = signum
            marker = self._marker()
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(signal.Signals(signum).name)
            log.warning("%s received: each running job stops after its step and keeps its "
                        "last whole epoch, the jobs not begun are recorded as not started "
                        "(send it again to stop the jobs at once)", signal.Signals(signum).name)
        else:
            workers = _workers()
            log.warning("%s received again: stopping the %d worker processes at once",
                        signal.Signals(signum).name, len(workers))
            for pid in workers:
                try:
                    os.kill(pid, signum)
                except OSError:  # gone meanwhile
                    pass

    def _marker(self) -> Path:
        return Path(self.config.hydra.sweep.dir) / STOPPING

    def _how_to_resume(self) -> str:
        if self.config.hydra.job.name != "train":
            return "run the sweep again in a new folder to redo the interrupted jobs"
        from experiments.resume import resume_command

        return "resume with\n  " + resume_command(Path(self.config.hydra.sweep.dir) / "0",
                                                    multirun=True)


def _workers() -> list[int]:
    """This process's child processes (Linux: from /proc), without joblib's resource tracker,
    which must outlive the workers to clean up after them."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != os.getpid():
                continue
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if b"resource_tracker" not in command:
            children.append(int(stat.parent.name))
    return children
