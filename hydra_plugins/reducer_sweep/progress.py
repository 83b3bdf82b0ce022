"""The whole sweep's progress, under any launcher: how many runs are done of how many, how many
failed, how long it has taken and about how long it has left.

Runs under the joblib, SLURM or Ray launchers end in other processes, and even under the basic
launcher a run's own logging owns the terminal, so the sweep does not count what its launcher
returns: a thread of the sweeping process looks at the job folders instead, where each run ends
by writing its ``metrics.json`` (atomically, with its status). It prints a line whenever a run
ends, and once a minute while none does, to the terminal (stderr, taking a run's live progress
bar off its line first) and to ``sweep.log`` in the sweep's folder::

    sweep: 13/54 runs done (1 failed), 2 running, 9m12s elapsed, about 27m left
"""

import json
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

LOG_NAME = "sweep.log"


def duration(seconds: float) -> str:
    """``42s``, ``9m12s``, ``2h05m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class SweepProgress:
    """The progress of ``total`` runs numbered from ``first``, whose folders ``folder_of`` names;
    ``update()`` reads them and says the line when a run has ended (or ``every`` seconds have
    passed); ``start()`` does that on a thread every ``poll`` seconds until ``stop()``."""

    def __init__(self, total: int, folder_of: Callable[[int], Path], log_path: Path,
                 first: int = 0, every: float = 60.0, poll: float = 1.0, stream=sys.stderr):
        self.total, self.folder_of, self.log_path = total, folder_of, Path(log_path)
        self.jobs = range(first, first + total)
        self.every, self.poll, self.stream = every, poll, stream
        self.ended: dict[int, str] = {}  # job number -> status, once its metrics.json is there
        self.already = len(self._read())  # ended before the sweep began (a folder reused)
        self.started = self.said_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __getstate__(self) -> dict:
        """Launchers that pickle the sweeper for their workers (submitit, Ray) carry its
        progress along: without the thread, its event or the terminal, which stay here."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_stop", "_thread",
                                                                      "stream")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _stop=threading.Event(), _thread=None, stream=sys.stderr)

    def _read(self) -> dict[int, str]:
        for job in self.jobs:
            if job not in self.ended:
                path = self.folder_of(job) / "metrics.json"
                try:
                    self.ended[job] = json.loads(path.read_text()).get("status", "failed")
                except (OSError, ValueError, AttributeError):
                    continue  # not ended yet (or not readable as a record yet)
        return self.ended

    def line(self, now: Optional[float] = None, final: bool = False) -> str:
        now = time.monotonic() if now is None else now
        statuses = list(self.ended.values())
        done, elapsed = len(statuses), now - self.started
        bad = ", ".join(f"{statuses.count(s)} {s}" for s in ("failed", "diverged", "interrupted",
                                                               "pruned") if s in statuses)
        running = sum(1 for job in self.jobs
                      if job not in self.ended and self.folder_of(job).exists())
        text = f"sweep: {done}/{self.total} runs done" + (f" ({bad})" if bad else "")
        text += f", {running} running" if running and done < self.total else ""
        if done >= self.total:
            return text + f", in {duration(elapsed)}"
        if final:  # stopped (interrupted, or the launcher failed) before every run ended
            return text + f", stopped after {duration(elapsed)}"
        text += f", {duration(elapsed)} elapsed"
        rate = (done - self.already) / elapsed if elapsed > 0 else 0
        if rate > 0:
            return text + f", about {duration((self.total - done) / rate)} left"
        return text + ", time left known once a run ends"

    def update(self, final: bool = False) -> Optional[str]:
        """Read the folders; say the line (and return it) when a run has ended, every
        ``every`` seconds, or when ``final``."""
        before = len(self.ended)
        self._read()
        now = time.monotonic()
        if not (final or len(self.ended) > before or now - self.said_at >= self.every):
            return None
        self.said_at = now
        text = self.line(now, final)
        self._say(text)
        return text

    def _say(self, text: str) -> None:
        live = getattr(self.stream, "isatty", lambda: False)()
        self.stream.write(("\r\033[K" if live else "") + text + "\n")
        self.stream.flush()
        try:
            with self.log_path.open("a") as log:
                log.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}\n")
        except OSError:
            pass  # the terminal still has the line; a sweep is not stopped for its log

    def start(self) -> "SweepProgress":
        self._thread = threading.Thread(target=self._watch, name="sweep-progress", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            self.update()

    def stop(self) -> None:
        """Stop watching and say the last line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.update(final=True)


class ShowingProgress:
    """A sweeper mixin: ``show_progress()`` makes the first ``self.launcher.launch`` start a
    ``SweepProgress`` over ``self.runs_planned`` runs; the sweeper's ``sweep`` calls
    ``end_progress()`` when it returns or raises."""

    progress: Optional[SweepProgress] = None
    runs_planned = 0

    def show_progress(self) -> None:
        """Wrap ``self.launcher.launch`` (call once the launcher is set up)."""
        launch = self.launcher.launch

        def launch_showing_progress(job_overrides, initial_job_idx):
            folder = self._job_dir(initial_job_idx)
            if self.progress is None and folder is not None:
                self.progress = SweepProgress(
                    self.runs_planned or len(job_overrides), self._job_dir,
                    folder.parent / LOG_NAME, first=initial_job_idx).start()
            return launch(job_overrides, initial_job_idx)

        self.launcher.launch = launch_showing_progress

    def end_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
