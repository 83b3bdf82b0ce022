"""``hydra/sweeper=grids`` (the default here): Hydra's basic grid sweep plus variants of the
same grid, and a sweep that survives a crashed job.

A grid is a cartesian product, so "VAE over beta, plus the AE as reference" is not one (the AE
has no beta). ``also`` lists variants: each is the main grid with some keys changed, ``null``
removing a key. Everything else (command-line sweeps such as ``seed=1,2,3`` included) is
crossed as usual, and all jobs go to the configured launcher in one sweep folder::

    hydra:
      sweeper:
        params: {model: vae, model.recon: "mse,bce", model.kl.beta: "0,0.5,1"}
        also:
          - {model: ae, model.kl.beta: null}   # + ae x {mse, bce}

A job that kills its worker (killed, out of memory) costs only itself (``survival.py``): every
planned job has a row in the comparison, and the sweep exits non-zero when any job failed
(after its tables are written: ``experiments.results.TablesCallback``). A line says how far the
whole sweep has got and how long it has left (``progress.py``). A folder holding a finished
sweep is not written over unless the command continues it (``finished.py``). A signal to the
command stops the jobs wherever they run, each recording its state (``stopping.py``).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override

from experiments.folders import FolderLock
from hydra_plugins.reducer_sweep.finished import refuse_replacing
from hydra_plugins.reducer_sweep.hydra_internals import basic_sweeper
from hydra_plugins.reducer_sweep.progress import ShowingProgress
from hydra_plugins.reducer_sweep.stopping import StoppingCleanly
from hydra_plugins.reducer_sweep.survival import SurvivingCrashes

BasicSweeper = basic_sweeper()  # Hydra's grid, from where hydra-core keeps it


@dataclass
class GridsSweeperConf:
    _target_: str = "hydra_plugins.reducer_sweep.grids.GridsSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None
    also: List[Dict[str, Any]] = field(default_factory=list)


ConfigStore.instance().store(group="hydra/sweeper", name="grids", node=GridsSweeperConf,
                             provider="reducer-sweep")


class GridsSweeper(ShowingProgress, SurvivingCrashes, StoppingCleanly, BasicSweeper):
    def __init__(self, max_batch_size: Optional[int] = None,
                 params: Optional[Dict[str, str]] = None, also: Optional[List[dict]] = None):
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.also = [dict(variant) for variant in also or []]

    def setup(self, *args, **kwargs) -> None:
        super().setup(*args, **kwargs)
        self.survive_crashes()
        self.show_progress()

    lock: Optional[FolderLock] = None  # the sweep folder's, from split_arguments to the end

    def sweep(self, arguments: List[str]) -> Any:
        self.catch_signals()
        try:
            return super().sweep(arguments)
        except Exception:  # refused before a job began (a value the config refuses)
            made = self.lock is not None and self.lock.folder in getattr(self.lock, "made", [])
            sweep_dir = Path(self.config.hydra.sweep.dir)
            if made and not any(p.is_dir() for p in sweep_dir.iterdir()):
                (sweep_dir / "multirun.yaml").unlink(missing_ok=True)  # then no folder is left
            raise
        finally:
            self.end_progress()
            self.release_signals()
            if self.lock is not None:
                self.lock.release()
                self.lock = None

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
        if self.lock is None:  # one sweep writes in a folder at a time
            self.lock = FolderLock(Path(self.config.hydra.sweep.dir), "hydra.sweep.dir").acquire()
            self.folder_locked()
        refuse_replacing(self.config, jobs)  # before multirun.yaml or any job is written
        self.runs_planned = len(jobs)
        return list(BasicSweeper.split_overrides_to_chunks(jobs, max_batch_size))
