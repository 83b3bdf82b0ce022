"""What each tracker is given, from a run folder's files (``experiments.tracking`` decides
when): MLflow runs (a sweep: a parent run and a child per job) and TensorBoard event files."""

import csv
import itertools
import json
import logging
import math
import shutil
from pathlib import Path

import yaml

from experiments.results import UnreadableRun, flatten, read_config, read_record
from reducers.errors import ConfigError
from reducers.io import check_sqlite_url, locked, sqlite_file
from reducers.status import Status

# any other: FAILED
MLFLOW_STATUS = {Status.ok: "FINISHED", Status.interrupted: "KILLED", Status.pruned: "KILLED"}
RUN_ARTIFACTS = ("metrics.json", "history.csv", "train.log")
SWEEP_ARTIFACTS = ("comparison.md", "comparison.csv", "search.md", "trials.csv")


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
    check_sqlite_url(uri, "tracking.uri", "name another file (sqlite:///PATH/mlflow.db), or "
                     "leave tracking.uri out for the one in paths.output_root")


def run_contents(run_dir: Path) -> dict:
    """What a tracker logs of one run folder: status and reason, settings, the settings the
    command line changed, per-epoch history, final metrics."""
    record = read_record(run_dir)
    try:
        config, _ = read_config(run_dir, record)
    except UnreadableRun as exc:  # logged without its settings, saying why
        record.status, record.error, config = Status.unreadable, str(exc), {}
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.exists() else []
    changed = dict(o.lstrip("+~").split("=", 1) for o in overrides or [] if "=" in o)
    history = []
    if (run_dir / "history.csv").exists():
        with open(run_dir / "history.csv") as f:
            history = [{k: float(v) for k, v in row.items() if v not in ("", None)}
                       for row in csv.DictReader(f)]
    metrics = {k: float(v) for k, v in record.metrics.items()}
    return {"status": record.status, "reason": record.reason(),
            "model": record.label, "params": flatten(config or {}),
            "changed": changed, "history": history, "metrics": metrics,
            "seconds": record.timings.get("total_seconds")}


def _millis(path: Path) -> int:
    return int(path.stat().st_mtime * 1000)


def log_mlflow(folder: Path, jobs: list[Path], uri: str, experiment: str,
               artifact_root: str | None, checkpoint: bool) -> str:
    """A single run (``jobs`` empty) or a sweep (a parent run, a child per job) into the MLflow
    store at ``uri``; returns where to look."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not its database set-up lines
    if sqlite_file(uri) is not None:  # one writer at a time: two first-time set-ups collide
        with locked(f"{sqlite_file(uri)}.lock"):
            return _log_mlflow(folder, jobs, uri, experiment, artifact_root, checkpoint)
    return _log_mlflow(folder, jobs, uri, experiment, artifact_root, checkpoint)


def _log_mlflow(folder: Path, jobs: list[Path], uri: str, experiment: str,
                artifact_root: str | None, checkpoint: bool) -> str:
    from mlflow.entities import RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else \
        client.create_experiment(experiment, artifact_location=artifact_root)
    into = (client, experiment_id, checkpoint)
    if not jobs:
        _mlflow_run(into, folder, None, folder.name)
        return f"{uri} (experiment {experiment!r})"
    parent = client.create_run(experiment_id, run_name=f"sweep {folder.name}",
                               start_time=min(_millis(j) for j in jobs),
                               tags={"sweep_dir": str(folder.resolve())}).info.run_id
    statuses = [_mlflow_run(into, job, parent, f"{folder.name}/{job.relative_to(folder)}")
                for job in jobs]
    client.log_batch(parent, tags=[RunTag("runs", str(len(jobs))), *(
        RunTag(f"runs_{s}", str(statuses.count(s))) for s in sorted(set(statuses)))])
    for path in sorted(folder.glob("*.png")) + [folder / n for n in SWEEP_ARTIFACTS]:
        if path.exists():
            client.log_artifact(parent, str(path))
    client.set_terminated(parent, status="FINISHED")
    return f"{uri} (experiment {experiment!r}, parent run {parent})"


def _mlflow_run(into: tuple, run_dir: Path, parent: str | None, name: str) -> Status:
    """One MLflow run of ``run_dir`` (``into``: the client, the experiment's id and whether
    checkpoints go along), a child of ``parent`` when there is one; returns its status."""
    from mlflow.entities import Metric, Param, RunTag

    client, experiment_id, checkpoint = into
    run = run_contents(run_dir)
    end = _millis(run_dir / "metrics.json") if (run_dir / "metrics.json").exists() else \
        _millis(run_dir)
    start = end - int(1000 * (run["seconds"] or 0))
    tags = {"status": str(run["status"]), "run_dir": str(run_dir.resolve()),
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
    return run["status"]


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
