"""Experiment tracking: ``tracking=mlflow`` or ``tracking=tensorboard`` (``none``, the default,
keeps everything in the run folders only).

What is logged is read from the run folders once the runs have finished, by the process that
Hydra started (``TrackingCallback``, a Hydra callback): a single run when it ends, every job of
a sweep when the sweep ends. So jobs running side by side (the joblib launcher, a cluster)
never write to one store at once (no sqlite lock errors), a crashed job cannot leave a half
written entry, and diverged, failed and interrupted runs are logged too, with their status.

- MLflow: a local sqlite store (``<paths.output_root>/mlflow.db``, artifacts beside it in
  ``mlartifacts/``) unless ``tracking.uri`` names another (e.g. a server). A run logs its
  flattened config as params, its ``history.csv`` as per-epoch metrics (step = epoch), its
  final metrics, and its figures, ``metrics.json``, ``history.csv``, log and Hydra config as
  artifacts; a sweep is a parent run (with the sweep's tables and figures) and one child per
  job.
- TensorBoard: event files in each run's ``tensorboard/`` folder: the per-epoch scalars, the
  final metrics, the hparams table (the settings the command line changed, and the model)
  and, with ``tracking.projector``, the test codes in the embedding projector. Point
  ``tensorboard --logdir`` at a run, a sweep or all of ``outputs/``.

Runs made without tracking (or while a server was down) are logged later from their folders:

    python -m experiments.tracking PATH [PATH ...] --to mlflow|tensorboard [--uri URI]
"""

import logging
import sys
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from experiments.extras import require
from experiments.results import OneLineParser, find_runs
from experiments.tracking_writers import check_store, log_mlflow, log_tensorboard
from reducers.errors import ReducerError
from reducers.io import sqlite_file

log = logging.getLogger(__name__)


class TrackingCallback(Callback):
    """Logs what the runs left behind, once they have finished (see the module's doc)."""

    def __init__(self, settings: DictConfig, output_root: str):
        self.settings = OmegaConf.to_container(settings, resolve=True, enum_to_str=True)
        self.kind = self.settings["kind"]
        self.output_root = Path(output_root)
        require(f"tracking={self.kind}")  # before any run starts
        if self.kind == "mlflow":
            check_store(self.uri())

    def on_run_end(self, config: DictConfig, **kwargs) -> None:
        self.log_folder(Path(config.hydra.runtime.output_dir), [], config.hydra.job.name)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            runs = [r for r in find_runs([sweep_dir]) if r != sweep_dir]
        except ReducerError as exc:
            log.error("nothing tracked: %s", exc)
            return
        self.log_folder(sweep_dir, runs, config.hydra.job.name)

    def log_folder(self, folder: Path, jobs: list[Path], app: str) -> bool:
        """Log a run (``jobs`` empty) or a sweep; False (and an error line) on failure."""
        try:
            if self.kind == "mlflow":
                where = log_mlflow(folder, jobs, self.uri(), self.settings.get("experiment")
                                   or app, self.artifact_root(), self.settings["checkpoint"])
            else:
                for run in jobs or [folder]:
                    log_tensorboard(run, self.settings["projector"])
                where = f"tensorboard --logdir {folder}"
        except Exception as exc:  # a tracking store that fails must not cost the runs
            text = " ".join(str(exc).split())[:300] or type(exc).__name__
            log.error("%s: logging failed (%s); the runs are all in %s: log them later with "
                      "python -m experiments.tracking %s --to %s%s", self.kind, text, folder,
                      folder, self.kind, f" --uri {self.settings['uri']}"
                      if self.kind == "mlflow" and self.settings["uri"] else "")
            return False
        log.info("%s: %s logged -> %s", self.kind,
                 f"sweep of {len(jobs)} runs" if jobs else "run", where)
        return True

    def uri(self) -> str:
        return self.settings["uri"] or f"sqlite:///{(self.output_root / 'mlflow.db').resolve()}"

    def artifact_root(self) -> str | None:
        """Where a new experiment keeps its artifacts: beside an sqlite store, never in the
        current folder (None: a server's default)."""
        db = sqlite_file(self.uri())
        return None if db is None else (db.resolve().parent / "mlartifacts").as_uri()


def main(argv: list[str] | None = None) -> int:
    """Log run folders or sweep folders after the fact; 0, or 2 with one error line."""
    parser = OneLineParser(prog="python -m experiments.tracking",
                           description="Log finished runs (run folders) or sweeps (sweep "
                                       "folders: a parent run and a child per job) to MLflow "
                                       "or TensorBoard, as tracking= does at the end of a run.")
    parser.add_argument("paths", nargs="+", help="run folders or sweep folders")
    parser.add_argument("--to", choices=["mlflow", "tensorboard"], required=True,
                        help="the tracker")
    parser.add_argument("--uri", help="MLflow: the store (default: sqlite:///OUTPUT_ROOT/"
                                      "mlflow.db) or a server, http://host:5000")
    parser.add_argument("--experiment", default="train", help="MLflow: the experiment "
                                                              "(default: train)")
    parser.add_argument("--output-root", default="outputs",
                        help="where the default MLflow store is (default: outputs)")
    parser.add_argument("--no-projector", action="store_true",
                        help="TensorBoard: leave the codes out of the projector")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = {"kind": args.to, "uri": args.uri, "experiment": args.experiment,
                "checkpoint": False, "projector": not args.no_projector}
    try:
        tracker = TrackingCallback(OmegaConf.create(settings), args.output_root)
        logged = []
        for path in map(Path, args.paths):
            if (path / "metrics.json").exists():
                logged.append(tracker.log_folder(path, [], args.experiment))
            else:
                runs = [r for r in find_runs([path]) if r != path]
                logged.append(tracker.log_folder(path, runs, args.experiment))
    except ReducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(logged) else 1


if __name__ == "__main__":
    sys.exit(main())
