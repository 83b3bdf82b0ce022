"""A sweep folder that holds finished runs is not written by a command that did not ask to
continue that sweep: refused as a whole, before any job starts or any file is written, so that
every finished run's files stay byte-identical (as a refused single run's do).

Continuing is ``trainer.resume=true`` with the same grid: each job then goes on in the folder
of the job with the same number. A grid that gives a finished job other settings (beyond those
a resumed run may change) would rewrite that job's record and config with settings it was not
trained with, so it is refused too, naming the first job that differs, as is a sweep with a
job whose checkpoint cannot be read (it would be recorded failed, its record replaced).
"""

from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from experiments.resume import FREE_ON_RESUME
from reducers.checkpoint import load_checkpoint
from reducers.errors import CheckpointError, ConfigError


def finished_jobs(sweep_dir: Path) -> dict[int, Path]:
    """{job number: its folder} of the jobs in ``sweep_dir`` that wrote a ``metrics.json``."""
    if not sweep_dir.is_dir():
        return {}
    return {int(p.name): p for p in sweep_dir.iterdir()
            if p.name.isdigit() and (p / "metrics.json").is_file()}


def settings(overrides: list[str]) -> dict[str, str]:
    """A job's overrides as {key: value}, without those a resumed run may change."""
    out = {}
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if not key.startswith((*FREE_ON_RESUME, "hydra.", "hydra/")):
            out[key] = value
    return out


def refuse_replacing(config: DictConfig, jobs: list[list[str]]) -> None:
    """ConfigError when this sweep would write over finished jobs of its folder."""
    sweep_dir = Path(config.hydra.sweep.dir)
    done = finished_jobs(sweep_dir)
    if not done:
        return
    runs = f"{len(done)} finished run{'s' * (len(done) != 1)}"
    where = f"hydra.sweep.dir={sweep_dir} holds a sweep with {runs}"
    if not OmegaConf.select(config, "trainer.resume", default=False):
        raise ConfigError(f"{where} that this command would replace: continue it with "
                          "trainer.resume=true and the same grid, or name another folder (or "
                          "leave hydra.sweep.dir out: each sweep gets a new one)")
    for idx, folder in sorted(done.items()):
        try:
            before = settings(yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text())
                              or [])
        except (OSError, yaml.YAMLError, TypeError, AttributeError):
            continue  # no record of its settings: its own resume check decides
        now = settings(jobs[idx]) if idx < len(jobs) else None
        if now != before:
            said = "is not in this grid" if now is None else "ran with " + ", ".join(
                f"{k}={before.get(k, '(unset)')} (here {now.get(k, 'unset')})"
                for k in sorted(before.keys() | now.keys()) if before.get(k) != now.get(k))
            raise ConfigError(f"{where}; its job {idx} {said}: resume with the grid that made "
                              "it, or name another folder for this one")
    for idx, folder in sorted(done.items()):  # each job resumes from its own checkpoint
        if (folder / "checkpoint.pt").exists():
            try:
                load_checkpoint(folder / "checkpoint.pt")
            except CheckpointError as exc:
                raise ConfigError(f"{where}; job {idx}'s checkpoint cannot be read ({exc}): "
                                  f"move {folder} away to run that job afresh, or name another "
                                  "folder") from None
