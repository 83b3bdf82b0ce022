"""Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) as a request to stop
cleanly, polled by the training loop.

The first signal sets a flag: the loop drops the unfinished epoch and returns, and the caller
records the run as interrupted (the checkpoint of the last whole epoch is already on disk). A
second signal while the job still runs stops it at once with ``KeyboardInterrupt``; once the
job has returned, later signals are ignored until the process exits.
"""

import logging
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM,
           *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))  # no SIGHUP on Windows
log = logging.getLogger(__name__)


class StopRequest:
    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received
        self.working = False  # inside ``installed()``: the job has not returned yet

    def __bool__(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + (self.signum or 0)

    def _handle(self, signum: int, frame) -> None:
        if self.signum is None:
            self.signum = signum
            log.warning("%s received: stopping after this step and keeping the last whole epoch "
                        "(send it again to stop at once)", signal.Signals(signum).name)
        elif self.working:  # a second signal while the job runs: stop at once
            raise KeyboardInterrupt
        # else: the job is over and recorded; the program is writing tables and exiting

    @contextmanager
    def installed(self) -> Iterator["StopRequest"]:
        """Catch the signals while the block runs (main thread only; elsewhere a no-op). After
        a signal the handler stays for the rest of the process, so that further signals while
        it records the run, writes a sweep's tables and exits are ignored, not tracebacks."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        self.working = True
        try:
            yield self
        finally:
            self.working = False
            if self.signum is None:
                for s, handler in previous.items():
                    signal.signal(s, handler)
