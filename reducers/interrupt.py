"""Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) as a request to stop
cleanly, polled by the training loop.

The first signal sets a flag: the loop drops the unfinished epoch and returns, and the caller
writes the checkpoint of the last whole epoch and records the run as interrupted. A second
signal while the job still runs stops it at once with ``KeyboardInterrupt``, except while a
``shielded()`` block runs (copying or writing that checkpoint): then it waits for the block's
end, so that no number of signals loses the epoch the log said was kept. Once the job has
returned, later signals are ignored until the process exits.
"""

import logging
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM,
           *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))  # no SIGHUP on Windows
log = logging.getLogger(__name__)


class StopRequest:
    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received
        self.working = False  # inside ``installed()``: the job has not returned yet
        self.shielding = False  # inside ``shielded()``: a second signal waits for its end
        self.deferred = False  # a second signal came while shielding
        self.marker: Path | None = None  # a file whose appearance is a signal (``watch``)
        self.looked = float("-inf")

    def __bool__(self) -> bool:
        if self.signum is None and self.marker is not None:
            self._look_at_marker()
        return self.signum is not None

    def watch(self, marker: Path) -> None:
        """Also stop when ``marker`` appears (looked at once a second at most): a sweep's
        command writes it, holding the signal's name, when it is signalled, so that its jobs
        stop in whatever process or machine the launcher runs them."""
        self.marker, self.looked = Path(marker), float("-inf")

    def _look_at_marker(self) -> None:
        now = time.monotonic()
        if now - self.looked < 1.0:
            return
        self.looked = now
        try:
            name = self.marker.read_text().strip()
        except OSError:  # not there: the sweep goes on
            return
        self.signum = getattr(signal, name, signal.SIGTERM)
        log.warning("the sweep's command received %s: stopping after this step and keeping "
                    "the last whole epoch", signal.Signals(self.signum).name)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + (self.signum or 0)

    def _handle(self, signum: int, frame) -> None:
        if self.signum is None:
            self.signum = signum
            log.warning("%s received: stopping after this step and keeping the last whole epoch "
                        "(send it again to stop at once)", signal.Signals(signum).name)
        elif self.working and self.shielding:
            if not self.deferred:
                log.warning("%s received: stopping once the last whole epoch is on disk",
                            signal.Signals(signum).name)
            self.deferred = True
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

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """A block no signal cuts short (copying or writing a checkpoint); a second signal that
        came meanwhile stops the job at once when it ends."""
        outer, self.shielding = self.shielding, True
        try:
            yield
        finally:
            self.shielding = outer
        if self.deferred and not outer:
            self.deferred = False
            raise KeyboardInterrupt
