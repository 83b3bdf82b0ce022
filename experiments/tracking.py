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

import csv
import itertools
import json
import logging
import math
import shutil
import sys
from pathlib import Path

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from experiments.results import OneLineParser, find_runs, flatten, read_record, reason
from reducers.errors import ConfigError, ReducerError
from reducers.io import make_sqlite_folder

log = logging.getLogger(__name__)
EXTRAS = {"mlflow": ("mlflow", "mlflow"), "tensorboard": ("tensorboard", "tensorboard")}
MLFLOW_STATUS = {"ok": "FINISHED", "interrupted": "KILLED"}  # any other: FAILED
RUN_ARTIFACTS = ("metrics.json", "history.csv", "train.log")
SWEEP_ARTIFACTS = ("comparison.md", "comparison.csv", "search.md", "trials.csv")


def require(kind: str) -> None:
    """One line naming the pip command when the tracker's package is not installed."""
    module, extra = EXTRAS[kind]
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(f"tracking={kind} needs {module}, the optional extra: "
                          f"pip install -c constraints.txt -e '.[{extra}]'") from None


class TrackingCallback(Callback):
    """Logs what the runs left behind, once they have finished (see the module's doc)."""

    def __init__(self, settings: DictConfig, output_root: str):
        self.settings = OmegaConf.to_container(settings, resolve=True, enum_to_str=True)
        self.kind = self.settings["kind"]
        self.output_root = Path(output_root)
        require(self.kind)  # before any run starts
        if self.kind == "mlflow":
            check_store(self.uri())

    def on_run_end(self, config: DictConfig, **kwargs) -> None:
        self._log(Path(config.hydra.runtime.output_dir), [], config.hydra.job.name)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            runs = [r for r in find_runs([sweep_dir]) if r != sweep_dir]
        except ReducerError as exc:
            log.error("nothing tracked: %s", exc)
            return
        self._log(sweep_dir, runs, config.hydra.job.name)

    def _log(self, folder: Path, jobs: list[Path], app: str) -> bool:
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
        """Where a new experiment keeps its artifacts: beside the local store (None: the
        server's default)."""
        return None if self.settings["uri"] else \
            (self.output_root / "mlartifacts").resolve().as_uri()


def check_store(uri: str) -> None:
    """One line before any run when the MLflow store cannot be reached: a server that does not
    answer its health check within 5 s, an sqlite file whose folder cannot be made."""
    if uri.startswith(("http://", "https://")):
        import urllib.request
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5):
                return
        except Exception as exc:  # refused, unknown host, timeout, an HTTP error
            reason = getattr(exc, "reason", None) or exc
            raise ConfigError(f"tracking.uri={uri}: no MLflow server answers ({reason}); "
                              "start one (mlflow server --port ...) or leave tracking.uri out "
                              "for the local store") from None
    make_sqlite_folder(uri, "tracking.uri", "name another file")


def run_contents(run_dir: Path) -> dict:
    """What a tracker logs of one run folder: status and reason, settings, the settings the
    command line changed, per-epoch history, final metrics."""
    record = read_record(run_dir)
    config_file = run_dir / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_file.read_text()) if config_file.exists() else \
        record.get("config", {})
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.exists() else []
    changed = dict(o.lstrip("+~").split("=", 1) for o in overrides or [] if "=" in o)
    history = []
    if (run_dir / "history.csv").exists():
        with open(run_dir / "history.csv") as f:
            history = [{k: float(v) for k, v in row.items() if v not in ("", None)}
                       for row in csv.DictReader(f)]
    metrics = {k: float(v) for k, v in record.get("metrics", {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"status": record["status"], "reason": reason(record),
            "model": record.get("model", ""), "params": flatten(config or {}),
            "changed": changed, "history": history, "metrics": metrics,
            "seconds": record.get("timings", {}).get("total_seconds")}


def _millis(path: Path) -> int:
    return int(path.stat().st_mtime * 1000)


def log_mlflow(folder: Path, jobs: list[Path], uri: str, experiment: str,
               artifact_root: str | None, checkpoint: bool) -> str:
    """A single run (``jobs`` empty) or a sweep (a parent run, a child per job) into the MLflow
    store at ``uri``; returns where to look."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not its database set-up lines
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else \
        client.create_experiment(experiment, artifact_location=artifact_root)

    def log_run(run_dir: Path, parent: str | None, name: str) -> None:
        run = run_contents(run_dir)
        end = _millis(run_dir / "metrics.json") if (run_dir / "metrics.json").exists() else \
            _millis(run_dir)
        start = end - int(1000 * (run["seconds"] or 0))
        tags = {"status": run["status"], "run_dir": str(run_dir.resolve()),
                "model": run["model"], "mlflow.note.content": run["reason"]}
        if parent:
            tags["mlflow.parentRunId"] = parent
        run_id = client.create_run(experiment_id, start_time=start, tags=tags,
                                   run_name=name).info.run_id
        params = [Param(k, str(v)[:6000]) for k, v in run["params"].items()]
        elapsed = itertools.accumulate(row.get("seconds", 0.0) for row in run["history"])
        metrics = [Metric(k, v, start + int(1000 * seconds), int(row["epoch"]))
                   for row, seconds in zip(run["history"], elapsed)
                   for k, v in row.items() if k != "epoch"]
        last = int(run["history"][-1]["epoch"]) if run["history"] else 0
        metrics += [Metric(k, v, end, last) for k, v in run["metrics"].items()]
        for i in range(0, max(len(params), len(metrics), 1), 100):  # the store's batch limits
            client.log_batch(run_id, metrics=metrics[i:i + 100], params=params[i:i + 100],
                             tags=[RunTag(f"override.{k}", str(v)) for k, v in
                                   run["changed"].items()] if i == 0 else [])
        for path in sorted(run_dir.glob("*.png")) + [run_dir / n for n in RUN_ARTIFACTS]:
            if path.exists():
                client.log_artifact(run_id, str(path))
        for path in sorted((run_dir / ".hydra").glob("*.yaml")):
            client.log_artifact(run_id, str(path), artifact_path="hydra")
        if checkpoint and (run_dir / "checkpoint.pt").exists():
            client.log_artifact(run_id, str(run_dir / "checkpoint.pt"))
        client.set_terminated(run_id, status=MLFLOW_STATUS.get(run["status"], "FAILED"),
                              end_time=end)

    if not jobs:
        log_run(folder, None, folder.name)
        return f"{uri} (experiment {experiment!r})"
    parent = client.create_run(experiment_id, run_name=f"sweep {folder.name}",
                               start_time=min(_millis(j) for j in jobs),
                               tags={"sweep_dir": str(folder.resolve())}).info.run_id
    for job in jobs:
        log_run(job, parent, f"{folder.name}/{job.relative_to(folder)}")
    statuses = [read_record(j)["status"] for j in jobs]
    client.log_batch(parent, tags=[RunTag("runs", str(len(jobs))), *(
        RunTag(f"runs_{s}", str(statuses.count(s))) for s in sorted(set(statuses)))])
    for path in sorted(folder.glob("*.png")) + [folder / n for n in SWEEP_ARTIFACTS]:
        if path.exists():
            client.log_artifact(parent, str(path))
    client.set_terminated(parent, status="FINISHED")
    return f"{uri} (experiment {experiment!r}, parent run {parent})"


def log_tensorboard(run_dir: Path, projector: bool) -> Path:
    """Event files in ``run_dir/tensorboard``; returns that folder."""
    import numpy as np
    from torch.utils.tensorboard import SummaryWriter

    run = run_contents(run_dir)
    out = run_dir / "tensorboard"
    if out.is_dir():  # written from the run's files alone: logged again, written again
        shutil.rmtree(out)
    with SummaryWriter(log_dir=str(out)) as writer:
        for row in run["history"]:
            for key, value in row.items():
                if key != "epoch":
                    writer.add_scalar(key, value, int(row["epoch"]))
        last = int(run["history"][-1]["epoch"]) if run["history"] else 0
        finite = {f"final/{k}": v for k, v in run["metrics"].items() if math.isfinite(v)}
        hparams = {"model": run["params"].get("model._target_", "").rsplit(".", 1)[-1],
                   "status": run["status"],
                   **{k: _hparam(run["params"].get(k, v)) for k, v in run["changed"].items()}}
        writer.add_hparams(hparams, finite or {"final/none": 0.0}, run_name=".",
                           global_step=last)  # the final metrics as scalars too
        codes = run_dir / "codes.npz"
        if projector and codes.exists():
            with np.load(codes) as z:
                labels = z["test_labels"].tolist() if "test_labels" in z else None
                test = z["test"]
            if test.ndim == 2 and len(test):
                writer.add_embedding(test, metadata=labels, tag="test_codes", global_step=last)
    return out


def _hparam(value):
    """A value TensorBoard's hparams table takes (numbers, strings, booleans)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def main(argv: list[str] | None = None) -> int:
    """Log run folders or sweep folders after the fact; 0, or 2 with one error line."""
    parser = OneLineParser(prog="python -m experiments.tracking",
                           description="Log finished runs (run folders) or sweeps (sweep "
                                       "folders: a parent run and a child per job) to MLflow "
                                       "or TensorBoard, as tracking= does at the end of a run.")
    parser.add_argument("paths", nargs="+", help="run folders or sweep folders")
    parser.add_argument("--to", choices=sorted(EXTRAS), required=True, help="the tracker")
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
                logged.append(tracker._log(path, [], args.experiment))
            else:
                runs = [r for r in find_runs([path]) if r != path]
                logged.append(tracker._log(path, runs, args.experiment))
    except ReducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(logged) else 1


if __name__ == "__main__":
    sys.exit(main())
