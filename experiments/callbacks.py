"""Hydra callbacks: at the end of every multirun, the comparison tables and figures."""

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from reducers.errors import ReducerError

log = logging.getLogger(__name__)


class CompareCallback(Callback):
    """Runs once, in the submitting process, after every job of the sweep has returned."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from experiments.compare import write_comparison

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            table, _ = write_comparison([sweep_dir], sweep_dir, config.compare.sort_by)
        except ReducerError as exc:
            log.error("no comparison written: %s", exc)
            return
        except Exception:  # a bug must not cost the sweep: its runs are all on disk
            log.exception("no comparison written; once fixed, rebuild it with "
                          "python -m experiments.compare %s", sweep_dir)
            return
        log.info("comparison of %d runs (%s) -> %s", len(table),
                 ", ".join(f"{n} {s}" for s, n in table.status.value_counts().items()),
                 sweep_dir / "comparison.md")
