"""What a command may do to a folder that already holds results: a finished run is never
replaced by a command that did not ask to continue it, and two commands never write one folder
at once (a lock file holding the writer's process id)."""

import json
import os
import re
import time
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


RUN_DIR = re.compile(r"^\+{0,2}hydra\.run\.dir=(.+)$")  # a run folder the command names
LOCK = ".lock"  # in a run or sweep folder while a command writes there: its process id
STOPPING = ".stopping"  # in a sweep folder once its command is signalled: the signal's name


class FolderLock:
    """``folder``'s lock (``acquire``/``release``, or ``with``); plain data, so that a sweeper
    holding one still pickles for the launchers that send it to their workers. ConfigError
    naming ``key`` (``hydra.run.dir``), or saying ``busy`` (with ``{pid}``), when another live
    command holds it; a lock whose process is gone (killed) is taken over. ``name``: the lock
    file's, for a lock on something in the folder (a study in a database there)."""

    def __init__(self, folder: Path, key: str, name: str = LOCK, busy: str = ""):
        self.folder, self.key, self.path = Path(folder), key, Path(folder) / name
        self.busy = busy or f"{key}={folder} is being written by another command (process " \
            "{pid}): wait for it to end, or name another folder"

    def acquire(self) -> "FolderLock":
        try:
            return self._acquire()
        except OSError as exc:  # read-only, full, gone: the command cannot write there
            raise ConfigError(f"{self.key}={self.folder}: cannot write there "
                              f"({exc.strerror or exc}); name another folder") from None

    def _acquire(self) -> "FolderLock":
        self.made = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                holder = _holder(self.path)
                if (holder is not None and _alive(holder)) or \
                        (holder is None and _fresh(self.path)):
                    raise ConfigError(self.busy.format(pid=holder)) from None
                self.path.unlink(missing_ok=True)  # its command is gone: a stale lock
        else:
            raise ConfigError(f"{self.key}={self.folder}: cannot take its lock {self.path}; "
                              "name another folder")
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return self

    def release(self) -> None:
        """The lock file gone, and the folders ``acquire`` made when that leaves them empty (a
        command refused before writing anything leaves nothing)."""
        if _holder(self.path) == os.getpid():
            self.path.unlink(missing_ok=True)
            for folder in getattr(self, "made", []):  # those acquire made, innermost first
                try:
                    folder.rmdir()
                except OSError:  # not empty: what the command wrote
                    break

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def discard_new_folder(run_dir: Path) -> None:
    """After a refused single run: the folder Hydra made for it, when it holds nothing but
    Hydra's record and the log (no partial output), and the date and app folders above it
    if that leaves them empty. A folder named with ``hydra.run.dir=`` is the command line's
    to restore (``cli.untouched_if_refused``)."""
    import shutil
    import sys

    if any(RUN_DIR.match(a) for a in sys.argv[1:]):
        return
    kept = [p for p in run_dir.iterdir() if p.name != ".hydra" and p.suffix != ".log"] \
        if run_dir.is_dir() else ["?"]
    if kept:
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in (run_dir.parent, run_dir.parent.parent):  # the date's, the app's: if empty
        try:
            parent.rmdir()
        except OSError:
            break


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
