"""joblib's resource tracker, when something kills it in the middle of a sweep.

joblib (through loky) runs one helper process beside a sweep's workers that removes their
shared-memory files at the end. Killed (an out-of-memory killer, a user's ``pkill python``),
it is relaunched by the next process that needs it: the sweep goes on and loses nothing, but
the new helper knows none of the files its predecessor held, and prints a Python traceback
for each one it is told to release, with a ``UserWarning`` before them. To a user reading the
terminal, that looks like a crash.

``quiet_relaunch(log_file)`` keeps the sweep's terminal to one line instead: the relaunch is
logged once, and the relaunched helper's messages go to ``log_file`` in the sweep folder, where
they can still be read. Without joblib installed, there is nothing to do.
"""

import logging
import os
import sys
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

TRACKER_LOG = "resource_tracker.log"  # in the sweep folder
_LOKY_TRACKER = "joblib.externals.loky.backend.resource_tracker"
_log_file: Path | None = None


def quiet_relaunch(log_file: Path) -> None:
    """Send the messages of any tracker relaunched from now on in this process to
    ``log_file``; the relaunch itself is logged once."""
    global _log_file
    _log_file = Path(log_file)
    module = sys.modules.get(_LOKY_TRACKER)
    if module is None:
        try:
            import joblib.externals.loky.backend.resource_tracker as module
        except ImportError:  # no joblib here: no tracker to watch
            return
    _patch(module.ResourceTracker)


def _patch(tracker_class) -> None:
    if getattr(tracker_class, "_reducer_sweep_quiet", False):
        return
    teardown, launch = tracker_class._teardown_dead_process, tracker_class._launch

    def teardown_quietly(self):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "resource_tracker: process died", UserWarning)
            teardown(self)
        self._relaunching = True

    def launch_into_log(self):
        if not getattr(self, "_relaunching", False) or _log_file is None:
            return launch(self)
        self._relaunching = False
        try:
            target = os.open(_log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError:  # the folder is gone or read-only: the messages stay on stderr
            return launch(self)
        log.warning("joblib's resource tracker was killed; relaunched it (the sweep goes on, "
                    "its messages about the files it lost go to %s)", _log_file)
        return _with_stderr(target, lambda: launch(self))

    tracker_class._teardown_dead_process = teardown_quietly
    tracker_class._launch = launch_into_log
    tracker_class._reducer_sweep_quiet = True


def _with_stderr(target: int, spawn):
    """Run ``spawn`` with this process's file descriptor 2 pointing at ``target``, so that the
    process it starts inherits it as its stderr; fd 2 is restored at once after."""
    try:
        saved = os.dup(2)
    except OSError:  # stderr closed: the tracker has nowhere to print anyway
        os.close(target)
        return spawn()
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(target, 2)
        return spawn()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)
