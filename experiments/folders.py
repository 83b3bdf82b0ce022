"""What a command may do to a folder that already holds results: a finished run is never
replaced by a command that did not ask to continue it."""

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from reducers.errors import ConfigError
from reducers.status import Status


def refuse_finished_folder(run_dir: Path, cfg: DictConfig, app: str) -> None:
    """A run folder that holds a finished run is not written by a command that did not ask
    to continue it (``trainer.resume=true``): ConfigError naming the fix. An anomaly run
    interrupted is run again by the same command, as its docs say."""
    path = run_dir / "metrics.json"
    if not path.is_file() or OmegaConf.select(cfg, "trainer.resume", default=False):
        return
    try:
        data = json.loads(path.read_text())
        status, kind = Status(data.get("status")), str(data.get("task") or "train")
    except (OSError, ValueError, AttributeError):
        status, kind = Status.unreadable, "unreadable"
    if status is Status.failed or (status is Status.interrupted and app != "train"):
        return  # nothing kept there to lose
    fix = "continue it with trainer.resume=true, or " if app == kind == "train" and \
        status in (Status.interrupted, Status.ok) else ""
    held = "the files of a run whose metrics.json cannot be read" if status is \
        Status.unreadable else f"a finished {kind} run ({status.value})"
    raise ConfigError(f"hydra.run.dir={run_dir} holds {held} "
                      f"that this command would replace: {fix}name another folder (or leave "
                      "hydra.run.dir out: each run gets a new one)")
