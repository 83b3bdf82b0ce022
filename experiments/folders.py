"""What a command may do to a folder that already holds results: a finished run is never
replaced by a command that did not ask to continue it, and two commands never write one folder
at once (a lock file holding the writer's process id)."""

import json
import os
import time
from contextlib import contextmanager
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


LOCK = ".lock"  # in a run or sweep folder while a command writes there: its process id


@contextmanager
def folder_lock(folder: Path, key: str):
    """Hold ``folder``'s lock while the block runs; ConfigError naming ``key``
    (``hydra.run.dir``) when another live command holds it. A lock whose process is gone
    (killed) is taken over."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            holder = _holder(path)
            if (holder is not None and _alive(holder)) or (holder is None and _fresh(path)):
                raise ConfigError(f"{key}={folder} is being written by another command "
                                  f"(process {holder}): wait for it to end, or name another "
                                  "folder") from None
            path.unlink(missing_ok=True)  # its command is gone: a stale lock
    else:
        raise ConfigError(f"{key}={folder}: cannot take its lock {path}; name another folder")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        if _holder(path) == os.getpid():
            path.unlink(missing_ok=True)


def held_by_another(folder: Path) -> int | None:
    """The process id of another live command writing in ``folder``, if one is."""
    path = Path(folder) / LOCK
    holder = _holder(path)
    return holder if holder is not None and holder != os.getpid() and _alive(holder) else None


def _holder(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _fresh(path: Path) -> bool:
    """A lock just made, whose process id is not written yet."""
    try:
        return time.time() - path.stat().st_mtime < 5
    except OSError:
        return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
