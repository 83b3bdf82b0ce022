"""Reading what runs left behind: finding run folders, reading their records and configs, the
headline metrics, and what the table builders (``experiments.compare`` for reducers,
``experiments.anomaly_tables`` for detectors) share: the end-of-sweep callback and the command
line. Tables are built from the files alone.

A table builder is a module with ``PROG``, ``DESCRIPTION``, ``write_tables(paths, out,
**options)`` returning the table (a DataFrame with a ``status`` column) and ``show(out)``
returning what the command line prints.
"""

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from experiments.cli import EXIT_LATER
from experiments.folders import held_by_another
from experiments.records import Record
from reducers.errors import OutputError, ReducerError
from reducers.io import not_a_folder
from reducers.legacy import current_config
from reducers.status import Status

log = logging.getLogger(__name__)
# what a run's last log line and the sweep figures show of a reducer's metrics
HEADLINE = ("knn_acc", "silhouette", "trustworthiness", "kmeans_vmeasure")


def find_runs(paths: list[str | Path]) -> list[Path]:
    """The run folders (holding ``.hydra/`` or ``metrics.json``) under ``paths``, in natural
    order (2 before 10)."""
    runs = set()
    for path in map(Path, paths):
        if not path.is_dir():
            raise ReducerError(f"{path}: no such folder (give sweep folders or run folders)")
        markers = [*path.rglob("metrics.json"), *path.rglob(".hydra")]
        runs.update(m.parent for m in markers if m.name == "metrics.json" or m.is_dir())
    if not runs:
        raise ReducerError(f"no run folders (with .hydra/ or metrics.json) under {paths}")
    return sorted(runs, key=lambda p: [(0, int(s), "") if s.isdigit() else (1, 0, s)
                                       for s in p.parts])


WRITTEN = tuple(s.value for s in Status  # what a record says (the others: a reader's verdicts)
                if s not in (Status.unreadable, Status.running))


class UnreadableRun(ReducerError):
    """A file of a run folder that cannot be read as a run's: its table row says why."""


def read_yaml(path: Path) -> dict:
    """A YAML mapping; {} for a missing file; UnreadableRun for anything else."""
    if not path.exists():
        return {}
    try:
        node = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableRun(f"unreadable {path.parent.name}/{path.name} ({detail})") from None
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise UnreadableRun(f"{path.parent.name}/{path.name} holds a {type(node).__name__}, "
                            "not a mapping")
    return node


def read_record(run_dir: Path) -> Record:
    """A run's ``metrics.json`` as its ``Record``: a missing one means the run did not finish
    (``failed``); one that cannot be a run's record is ``unreadable``, with the reason as its
    ``error``."""
    path = run_dir / "metrics.json"
    if not path.exists():
        writer = held_by_another(run_dir) or held_by_another(run_dir.parent)
        if writer:
            return Record(status=Status.running,
                          error=f"no metrics.json yet: its command (process {writer}) is running")
        return Record(status=Status.failed,
                      error="no metrics.json: the run crashed or was killed")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # a folder, unreadable bytes, broken JSON
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        return Record(status=Status.unreadable, error=f"unreadable metrics.json ({detail})")
    problem = record_problem(data)
    if problem is None:
        try:
            return Record.from_json(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            problem = f"not a run's record ({type(exc).__name__}: {exc})"
    return Record(status=Status.unreadable, error=f"metrics.json: {problem}")


def record_problem(record) -> str | None:
    """What makes ``record`` (JSON) unusable as a run's record, or None."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    status = record.get("status")
    if status not in WRITTEN:
        return f"status {status!r} is not one of {', '.join(WRITTEN)}"
    metrics = record.get("metrics", {})
    if not isinstance(metrics, dict):
        return f"'metrics' is a {type(metrics).__name__}, not a mapping of names to numbers"
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"metric {name!r} is {value!r}, not a number"
    if status == Status.ok and not metrics:
        return "status 'ok' but no metrics"
    return None


def read_config(run_dir: Path, record: Record) -> tuple[dict, dict]:
    """(the run's resolved config, Hydra's group choices), as a run made now writes them (an
    older run's settings under their current names: ``reducers.legacy``); a run made without
    Hydra has only the config its record keeps. UnreadableRun for a corrupt file."""
    config = read_yaml(run_dir / ".hydra" / "config.yaml") or record.config
    config, picked = current_config(config if isinstance(config, dict) else {})
    choices = read_yaml(run_dir / ".hydra" / "hydra.yaml").get("hydra", {})
    choices = choices.get("runtime", {}) if isinstance(choices, dict) else {}
    choices = choices.get("choices", {}) if isinstance(choices, dict) else {}
    if not isinstance(choices, dict):
        choices = {}
    sweeper = choices.get("hydra/sweeper")  # kept: a search's trials get figures of their own
    choices = {**{k: v for k, v in choices.items() if not str(k).startswith("hydra/")}, **picked}
    if sweeper:
        choices["sweeper"] = sweeper
    if "test_data" in choices:  # the anomaly app's held-out test set, before its rename
        choices["heldout"] = choices.pop("test_data")
    return config, choices


def flatten(node: dict, prefix: str = "") -> dict:
    """Nested settings as {"model.kl.beta": 1.0, ...}."""
    flat = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


EXIT_JOBS_FAILED = 1  # a sweep in which some job failed (after its tables are written)


class TablesCallback(Callback):
    """At the end of a multirun, the tables of ``builder`` (a module name) in the sweep folder,
    with its ``options``. Runs once, in the submitting process, after every job has returned;
    then, when a job failed, the sweep exits with ``EXIT_JOBS_FAILED`` (once every callback has
    run)."""

    def __init__(self, builder: str, **options):
        self.builder, self.options = builder, options

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            table = importlib.import_module(self.builder).write_tables([sweep_dir], sweep_dir,
                                                                       **self.options)
        except ReducerError as exc:
            log.error("no tables written: %s", exc)
            return
        except Exception:  # a bug must not cost the sweep: its runs are all on disk
            log.exception("no tables written; once fixed, rebuild them with python -m %s %s",
                          self.builder, sweep_dir)
            return
        log.info("tables of %d runs (%s) -> %s", len(table),
                 ", ".join(f"{n} {s}" for s, n in table.status.value_counts().items()),
                 sweep_dir / "comparison.md")
        failed = int((~table.status.map(lambda s: Status(s).finished)).sum())
        if failed:
            EXIT_LATER.set(EXIT_JOBS_FAILED, f"error: {failed} of {len(table)} runs failed; "
                           f"their reasons are in {sweep_dir / 'comparison.md'}")


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors as one line (the usage is what --help shows), exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def table_command(builder, argv: list[str] | None,
                  options: dict[str, dict] | None = None) -> int:
    """The command line of a table builder: PATH [PATH ...] [--out DIR] and its ``options``
    (argparse keyword arguments by flag); prints the tables or one error line (exit 2)."""
    parser = OneLineParser(prog=builder.PROG, description=builder.DESCRIPTION)
    parser.add_argument("paths", nargs="+", help="sweep folders, run folders or trees of them")
    parser.add_argument("--out", help="output folder (default: PATH when one is given)")
    for flag, kwargs in (options or {}).items():
        parser.add_argument(flag, **kwargs)
    args = parser.parse_args(argv)
    if args.out is None and len(args.paths) > 1:
        parser.error("--out is required when several PATHs are merged")
    out = Path(args.out or args.paths[0])
    blocking = not_a_folder(out)
    if blocking:
        print(f"error: --out {out}: {blocking}; name a folder for the tables", file=sys.stderr)
        return 2
    try:
        options = {k: v for k, v in vars(args).items() if k not in ("paths", "out")}
        builder.write_tables(args.paths, out, **options)
    except OutputError as exc:  # its fix is this command's option, not the apps' one
        print(f"error: {str(exc).split('; free')[0]}; free some space or write the tables "
              "elsewhere (--out DIR)", file=sys.stderr)
        return 2
    except ReducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # making the folder: a system folder, a name too long
        print(f"error: --out {out}: cannot write there ({exc.strerror or exc}); name another "
              "folder for the tables", file=sys.stderr)
        return 2
    try:
        print(builder.show(out), flush=True)
    except BrokenPipeError:  # its reader has gone (| head): the tables are written all the same
        sys.stdout = open(os.devnull, "w")
    return 0
