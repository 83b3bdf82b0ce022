"""What every command of the project does at the command line: Hydra's composition errors (wrong
type, unknown key, unknown option) and the project's own errors as one line
(``experiments.error_lines``) and exit code 2, a hint for spellings that changed, an existing
run folder left as it was by a refused command, the shell's exit code for a signal once an
interrupted run is recorded, and an exit without the interpreter's teardown. ``prepare_hydra``
is the one place where what Hydra needs is registered."""

import atexit
import errno
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments import schemas
from experiments.config_groups import group_options
from experiments.folders import RUN_DIR, held_by_another
from experiments.error_lines import error_line
from experiments.extras import missing_extra_hint
from experiments.hints import (conflict_hint, null_group_hint, renamed_hint, unpicked_part_line,
                               unpicked_pruner_hint)
from reducers.errors import ConfigError, ReducerError
from reducers.interrupt import StopRequest
from reducers.io import not_a_folder

EXIT_BAD_INPUT = 2


class LaterExit:
    """The exit code a command ends with once Hydra has returned, so that every callback (the
    tables, tracking, a user's own) has run first: 3 for a single run that diverged, 1 for a
    sweep in which a job failed or a search in which no trial finished, each with its error
    line, printed last. The first one set wins."""

    def __init__(self):
        self.code, self.line = 0, ""

    def reset(self) -> None:
        self.__init__()

    def set(self, code: int, line: str) -> None:
        """Exit with ``code`` after printing ``line`` (one error line) last."""
        if not self.code:
            self.code, self.line = code, line


EXIT_LATER = LaterExit()

def output_root(root: str) -> str:
    """``paths.output_root`` checked before Hydra makes a folder in it (the ``output_root``
    resolver of conf/hydra/default.yaml): not empty, not the filesystem root, not below a file,
    and writable where it exists."""
    if not str(root).strip():
        raise ConfigError("paths.output_root='' is invalid: name a folder for the runs (default: "
                          "outputs); an empty root would write below the filesystem root")
    path = Path(root).expanduser()
    try:
        if path.resolve() == Path(path.resolve().anchor):
            raise ConfigError(f"paths.output_root={root!r} is invalid: the filesystem root; "
                              "name a folder for the runs (default: outputs)")
        existing = next(p for p in [path, *path.parents]
                        if p.exists() or p == Path(p.anchor or "."))
    except OSError as exc:  # a name too long, a loop of links
        raise ConfigError(f"paths.output_root={root!r} is invalid: {exc.strerror or exc}; name "
                          "another folder for the runs") from None
    blocking = not_a_folder(path)
    if blocking:
        raise ConfigError(f"paths.output_root={root!r} is invalid: {blocking}; name a folder "
                          "for the runs")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"paths.output_root={root!r} is invalid: {existing} is not writable; "
                          "name a folder you can write to")
    return str(root)


def prepare_hydra() -> None:
    """Register the config schemas and the resolvers of the help pages and of the output
    folders (idempotent)."""
    schemas.register()
    if not OmegaConf.has_resolver("group_options"):
        OmegaConf.register_new_resolver("group_options", group_options)
    if not OmegaConf.has_resolver("output_root"):
        OmegaConf.register_new_resolver("output_root", output_root)


def named_run_folder(argv: list[str]) -> Path | None:
    """The existing folder a single run's ``hydra.run.dir=`` names, if it holds a run."""
    if "-m" in argv or "--multirun" in argv:
        return None
    for arg in argv:
        match = RUN_DIR.match(arg)
        if match:
            folder = Path(match.group(1).strip("'\"")).expanduser()
            try:
                return folder if (folder / ".hydra").is_dir() else None
            except OSError:  # a name too long, a loop of links: Hydra's making it says so
                return None
    return None


@contextmanager
def untouched_if_refused(folder: Path | None):
    """Hydra rewrites ``.hydra/`` and appends to the log of the run folder before the app can
    refuse the command; a refused command (exit 2) puts back what was there."""
    if folder is None:
        yield
        return
    hydra_dir = folder / ".hydra"
    saved = {p: p.read_bytes() for p in hydra_dir.iterdir() if p.is_file()}
    entries = set(folder.iterdir())
    logs = {p: p.stat().st_size for p in folder.glob("*.log")}
    try:
        yield
    except SystemExit as exc:
        if exc.code == EXIT_BAD_INPUT:
            for path in hydra_dir.iterdir():
                if path.is_file() and path not in saved:
                    path.unlink()
            for path, data in saved.items():  # only what changed: the folder may be
                if not path.is_file() or path.read_bytes() != data:  # read-only
                    path.write_bytes(data)
            for path in set(folder.iterdir()) - entries:
                if path.is_file():
                    path.unlink()
            for path, size in logs.items():
                if path.exists() and path.stat().st_size != size:
                    os.truncate(path, size)
        raise


def command_line(main: Callable[[], object], stop: StopRequest | None = None) -> NoReturn:
    """Run a ``@hydra.main`` function as the user's command, and exit (``exit_now``). A user's
    own HYDRA_FULL_ERROR=1 still gets Hydra's full output."""
    in_utf8()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # started: KeyboardInterrupt again
    try:
        _command(main, stop)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            exit_now(exc.code or 0)
        raise  # a message: Python prints it
    exit_now(0)


def in_utf8() -> None:
    """Run again in Python's UTF-8 mode where the locale's encoding is not UTF-8 (the C locale
    with UTF-8 mode turned off): folder names, data and logs are UTF-8 whatever the
    terminal's locale says, instead of a logging error for the first non-ASCII path."""
    if sys.flags.utf8_mode or sys.getfilesystemencoding().replace("-", "").lower() == "utf8":
        return
    os.execv(sys.executable, [sys.executable, "-X", "utf8", *sys.orig_argv[1:]])


def exit_now(code: int) -> NoReturn:
    """``sys.exit(code)``, minus the interpreter's teardown where only this thread is left:
    with torch, scikit-learn and matplotlib loaded it spends 0.6 s freeing memory that the
    system takes back at once anyway (``python -m experiments.benchmark`` measures it). Exit
    handlers still run, and the logs and streams are flushed first. Where another thread or
    a child process lives (a launcher's workers, a tracker's uploads), the usual exit."""
    if threading.active_count() > 1 or multiprocessing.active_children():
        sys.exit(code)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe, or no stream at all
            pass
    os._exit(code)


def _command(main: Callable[[], object], stop: StopRequest | None) -> None:
    EXIT_LATER.reset()
    multirun = [a for a in sys.argv[1:] if a in ("-m", "--multirun")]
    sys.argv[1:] = multirun + [a for a in sys.argv[1:] if a not in multirun]  # Hydra's parser
    argv = sys.argv[1:]  # takes -m only before the overrides; a user may put it anywhere
    hint = renamed_hint(argv) or null_group_hint(argv) or conflict_hint(argv) or \
        unpicked_pruner_hint(argv) or missing_extra_hint(argv)
    if hint:
        print(f"error: {hint}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    prepare_hydra()
    user_wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra then raises them to us instead of printing
    named = named_run_folder(sys.argv[1:])
    writer = held_by_another(named) if named is not None else None
    if writer:  # before Hydra rewrites its .hydra/ or appends to its log under the writer
        print(f"error: hydra.run.dir={named} is being written by another command (process "
              f"{writer}): wait for it to end, or name another folder", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    with untouched_if_refused(named):
        _run(main, user_wants_traceback)
    if stop:  # interrupted: everything is recorded; exit as the shell expects after a signal
        sys.exit(stop.exit_code)
    if EXIT_LATER.code:
        print(EXIT_LATER.line, file=sys.stderr)
        sys.exit(EXIT_LATER.code)


def _run(main: Callable[[], object], user_wants_traceback: bool) -> None:
    try:
        main()
    except (HydraException, OmegaConfBaseException, ReducerError) as exc:
        if user_wants_traceback:
            raise
        print(error_line(exc), file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except AssertionError as exc:  # Hydra setting a key below a part that is not picked
        if user_wants_traceback or "Unexpected type for root: NoneType" not in str(exc):
            raise
        print(f"error: {unpicked_part_line(sys.argv[1:])}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:  # Ctrl-C before training began (composing, loading data)
        print("interrupted before training began; nothing to resume", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)
    except BrokenPipeError:  # its reader has gone (--help | head -2): nothing to say to it
        sys.stdout = open(os.devnull, "w")
        sys.exit(0 if {"--help", "-h", "--hydra-help"} & set(sys.argv) else
                 128 + signal.SIGPIPE)
    except (OSError, ValueError) as exc:  # Hydra making the run folder or opening its log:
        cause = exc if isinstance(exc, OSError) else exc.__cause__  # below a file, read-only,
        if user_wants_traceback or not isinstance(cause, OSError):  # disk full
            raise
        _cannot_write(cause)


def _cannot_write(cause: OSError) -> NoReturn:
    """The one line for a run or sweep folder the command cannot write, naming the folder
    (not a hidden file in it) when the whole file system is read-only."""
    where = Path(cause.filename) if cause.filename else None
    if where is not None and cause.errno == errno.EROFS and not where.is_dir():
        where = where.parent
    in_the_way = where is not None and cause.errno in (errno.ENOTDIR, errno.EEXIST)
    why = (not_a_folder(where) if in_the_way else None) or cause.strerror or cause
    sweep = set(sys.argv[1:2]) & {"-m", "--multirun"}
    dir_key = "hydra.sweep.dir" if sweep else "hydra.run.dir"
    print(f"error: cannot write {where or 'the run folder'}: {why}; make it writable or choose "
          f"another folder (paths.output_root=... or {dir_key}=...)", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)
