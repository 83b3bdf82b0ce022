"""What both of reducer-sweep's sweepers (``grids``, ``search``) do when a job kills its worker.

A job that kills its worker (killed, out of memory) makes a launcher raise, and the joblib
launcher then loses every job of the batch: those running beside it (their workers are killed
too) and those not started. Hydra's own sweepers end the sweep there. Here every job of the
batch that has no ``metrics.json`` yet is run again, alone, on a fresh worker; a job whose
worker dies again when it runs alone is recorded ``failed`` (its own ``metrics.json`` says
why) and the sweep goes on. So a killed worker costs at most its own job.
"""

import logging
from pathlib import Path
from typing import List, Optional

from hydra.core.utils import JobStatus
from omegaconf import OmegaConf

from experiments.records import Record
from reducers.status import Status

log = logging.getLogger(__name__)


class SurvivingCrashes:
    """A sweeper mixin: ``survive_crashes()`` makes ``self.launcher.launch`` survive a job that
    kills its worker, and drops the results of jobs that raised (logged; each job's own
    ``metrics.json`` says what happened)."""

    def survive_crashes(self) -> None:
        """Wrap ``self.launcher.launch`` (call once the launcher is set up)."""
        launch = self.launcher.launch

        def launch_surviving_crashes(job_overrides, initial_job_idx):
            try:
                results = launch(job_overrides, initial_job_idx)
            except Exception as exc:  # the launcher lost a worker, and with it the batch
                folders = [self._job_dir(i) for i in
                           range(initial_job_idx, initial_job_idx + len(job_overrides))]
                if not any(f is not None and f.exists() for f in folders):
                    raise  # no job started: the launcher failed, not a worker
                log.error("a worker of this batch died (%s); the jobs it took down run again",
                          _first_line(exc))
                results = self._recover(launch, launch_surviving_crashes, job_overrides,
                                        initial_job_idx)
            for result in results:
                if result.status == JobStatus.FAILED:
                    log.error("job %s failed: %r", result.overrides, result._return_value)
            return [r for r in results if r.status != JobStatus.FAILED]

        self.launcher.launch = launch_surviving_crashes

    def _job_dir(self, idx: int) -> Optional[Path]:
        """Job ``idx``'s folder, when the sweep's subdir is the job number (the default)."""
        sweep = self.config.hydra.sweep
        subdir = OmegaConf.to_container(sweep, resolve=False).get("subdir")  # unresolved
        return Path(sweep.dir) / str(idx) if subdir == "${hydra.job.num}" else None

    def _recover(self, launch, relaunch, job_overrides, initial_job_idx) -> list:
        """After a batch lost a worker: each job that had started and not finished runs again
        alone (a job whose worker dies again then is the one that kills it: recorded
        ``failed``); the jobs that never started run as batches again."""
        started, waiting = [], []
        for idx, overrides in enumerate(job_overrides, initial_job_idx):
            folder = self._job_dir(idx)
            if folder is not None and (folder / "metrics.json").exists():
                continue  # finished before the worker died
            (waiting if folder is not None and not folder.exists() else started).append(idx)
        results = []
        for idx in started:
            overrides = job_overrides[idx - initial_job_idx]
            try:
                results += launch([overrides], idx)
            except Exception as exc:
                log.error("job %d (%s) lost its worker again, running alone: recorded as "
                          "failed", idx, " ".join(overrides))
                self._record_failure(idx, exc)
        for first, last in _contiguous(waiting):
            results += relaunch(job_overrides[first - initial_job_idx:last + 1 - initial_job_idx],
                                first)
        return results

    def _record_failure(self, idx: int, exc: Exception) -> None:
        folder = self._job_dir(idx)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            Record(status=Status.failed,
                   error="it lost its worker twice, the second time running alone (killed, "
                         f"out of memory, or timed out): {_first_line(exc)}").write(folder)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _contiguous(indices: List[int]) -> List[tuple]:
    """Sorted indices as (first, last) runs: [2, 3, 5] -> [(2, 3), (5, 5)]."""
    runs = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
