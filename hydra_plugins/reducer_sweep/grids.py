"""``hydra/sweeper=grids`` (the default here): Hydra's basic grid sweep plus variants of the
same grid, and a sweep that survives a crashed job.

A grid is a cartesian product, so "VAE over beta, plus the AE as reference" is not one (the AE
has no beta). ``also`` lists variants: each is the main grid with some keys changed, ``null``
removing a key. Everything else (command-line sweeps such as ``seed=1,2,3`` included) is
crossed as usual, and all jobs go to the configured launcher in one sweep folder::

    hydra:
      sweeper:
        params: {model: vae, model.recon: "mse,bce", model.beta: "0,0.5,1"}
        also:
          - {model: ae, model.beta: null}   # + ae x {mse, bce}

A job that kills its worker (killed, out of memory) makes a launcher raise, and the joblib
launcher then loses every job of the batch: those running beside it (their workers are killed
too) and those not started. Hydra's basic sweeper would end the sweep there. Here every job of
the batch that has no ``metrics.json`` yet is run again, alone, on a fresh worker; a job whose
worker dies again when it runs alone is recorded ``failed`` (its own ``metrics.json`` says
why) and the sweep goes on. So a killed worker costs at most its own job, every planned job
has a row in the comparison, and the sweep exits non-zero when any job failed (after its
tables are written: ``experiments.results.TablesCallback``).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.core.utils import JobStatus
from omegaconf import OmegaConf

from reducers.io import write_json

log = logging.getLogger(__name__)


@dataclass
class GridsSweeperConf:
    _target_: str = "hydra_plugins.reducer_sweep.grids.GridsSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None
    also: List[Dict[str, Any]] = field(default_factory=list)


ConfigStore.instance().store(group="hydra/sweeper", name="grids", node=GridsSweeperConf,
                             provider="reducer-sweep")


class GridsSweeper(BasicSweeper):
    def __init__(self, max_batch_size: Optional[int] = None,
                 params: Optional[Dict[str, str]] = None, also: Optional[List[dict]] = None):
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.also = [dict(variant) for variant in also or []]

    def setup(self, *args, **kwargs) -> None:
        super().setup(*args, **kwargs)
        launch = self.launcher.launch

        def launch_surviving_crashes(job_overrides, initial_job_idx):
            try:
                results = launch(job_overrides, initial_job_idx)
            except Exception as exc:  # the launcher lost a worker, and with it the batch
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
            write_json(folder / "metrics.json", {
                "status": "failed", "epochs_completed": 0, "metrics": {},
                "error": "it lost its worker twice, the second time running alone (killed, "
                         f"out of memory, or timed out): {_first_line(exc)}"})

    def _variant(self, overrides: List[Override], changes: dict) -> List[Override]:
        """``overrides`` with the keys in ``changes`` replaced in place (or removed if null);
        changed keys the grid did not have come first."""
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        new = {key: parser.parse_override(f"{key}={value}")
               for key, value in changes.items() if value is not None}
        keys = {o.get_key_element() for o in overrides}
        out = [o for key, o in new.items() if key not in keys]
        for o in overrides:
            key = o.get_key_element()
            if key not in changes:
                out.append(o)
            elif key in new:
                out.append(new[key])
        return out

    def split_arguments(self, overrides: List[Override], max_batch_size: Optional[int]
                        ) -> List[List[List[str]]]:
        jobs = BasicSweeper.split_arguments(overrides, None)[0]
        for changes in self.also:
            for job in BasicSweeper.split_arguments(self._variant(overrides, changes), None)[0]:
                if job not in jobs:
                    jobs.append(job)
        return list(BasicSweeper.split_overrides_to_chunks(jobs, max_batch_size))


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
