"""What a search leaves in its sweep folder when it ends (``search.SearchSweeper``):
``trials.csv`` (every trial of the study), ``optimization_results.yaml`` (the best trial, or
the Pareto front of several objectives, as Hydra's Optuna sweeper writes them),
``search.json`` (the search's settings) and ``search.md`` with its figures
(``experiments.search_report``)."""

import json
import logging
from pathlib import Path

from omegaconf import OmegaConf

from reducers.io import atomic_open, write_json

log = logging.getLogger(__name__)


def write_results(study, sweep_dir: Path, about: dict) -> None:
    """The files of ``study``'s search in ``sweep_dir``; ``about``: its settings for
    ``search.json`` (``metrics`` and ``directions`` among them)."""
    from experiments import search_report
    from experiments.cli import EXIT_LATER
    from experiments.results import EXIT_JOBS_FAILED

    sweep_dir.mkdir(parents=True, exist_ok=True)
    metrics = about["metrics"]
    write_trials(study, sweep_dir / "trials.csv", metrics)
    if any(t.state.name == "COMPLETE" for t in study.trials):
        OmegaConf.save(OmegaConf.create(best_of(study, metrics)),
                       sweep_dir / "optimization_results.yaml")
    else:
        EXIT_LATER.set(EXIT_JOBS_FAILED, f"error: no trial of study {study.study_name} "
                       "finished: nothing to choose from; the reasons are in "
                       f"{sweep_dir / 'search.md'}")
    write_json(sweep_dir / "search.json", {
        "study": study.study_name, **about,
        "metric": metrics[0], "direction": about["directions"][0],  # as a search of one
        "command": study.user_attrs.get("command", [])})
    search_report.write_tables([sweep_dir], sweep_dir)
    log.info("search report -> %s", sweep_dir / "search.md")


def best_of(study, metrics: list[str]) -> dict:
    """The best trial (one objective) or the Pareto front (several), logged and returned as
    ``optimization_results.yaml`` holds them."""
    def said(trial) -> str:
        return " ".join(trial.user_attrs.get("overrides", []))

    if len(metrics) == 1:
        best = study.best_trial
        log.info("best trial %d: %s = %.4g (%s)", best.number, metrics[0], best.value,
                 said(best))
        return {"name": "optuna", "best_params": best.params, "best_value": best.value}
    front = sorted(study.best_trials, key=lambda t: t.number)
    for trial in front:
        log.info("Pareto front, trial %d: %s (%s)", trial.number, ", ".join(
            f"{m} = {v:.4g}" for m, v in zip(metrics, trial.values)), said(trial))
    return {"name": "optuna", "solutions": [{"params": t.params, "values": t.values}
                                            for t in front]}


def write_trials(study, path: Path, metrics: list[str]) -> None:
    """``trials.csv``: one row per trial of the study, every command's, in trial order. Its
    ``value`` is the first objective's; several objectives have a ``value:<metric>`` column
    each and ``pareto`` (whether the trial is on the front)."""
    import pandas as pd

    several = len(metrics) > 1
    front = {t.number for t in study.best_trials} if several else set()
    rows = []
    for t in study.trials:
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        values = t.values or [None] * len(metrics)
        rows.append({"trial": t.number, "state": t.state.name,
                     "status": t.user_attrs.get("status", t.state.name.lower()),
                     "value": values[0],
                     **({f"value:{m}": v for m, v in zip(metrics, values)} if several else {}),
                     **({"pareto": t.number in front} if several else {}),
                     **{f"param:{k}": v for k, v in t.params.items()},
                     "pruned_at": t.last_step if t.user_attrs.get("status") == "pruned"
                     else None,
                     "reported": json.dumps(t.intermediate_values) if t.intermediate_values
                     else "",
                     "run_dir": t.user_attrs.get("run_dir", ""),
                     "reason": t.user_attrs.get("reason", ""),
                     "overrides": " ".join(t.user_attrs.get("overrides", [])),
                     "started": t.datetime_start, "seconds": seconds})
    table = pd.DataFrame(rows)
    if len(table):
        table["pruned_at"] = table["pruned_at"].astype("Int64")  # an epoch, or nothing
    with atomic_open(path, "w") as f:
        table.to_csv(f, index=False)
