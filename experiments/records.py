"""A run's record, ``metrics.json``: one typed ``Record`` that every app writes (train, anomaly,
embed, and the runtime and the sweepers for a job that failed or was killed) and every reader
reads (the tables, the trackers, the search). It is written last: its presence means the run
ended, and its ``status`` says how (``reducers.status.Status``).

``format`` names the version of the record; records of earlier versions (no ``format``: a
dict whose keys differed by app, ``sample_sizes`` or ``sizes``, the label under ``model`` or
``detector``) are read into the same ``Record`` (``Record.from_json``).
"""

import dataclasses
import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from reducers.io import write_json
from reducers.status import Status

FORMAT = "reducer-sweep-record/2"


class Task(str, Enum):
    train = "train"  # python -m experiments.train
    anomaly = "anomaly"  # python -m experiments.anomaly
    embed = "embed"  # python -m experiments.embed


@dataclass
class Diverged:
    """Where training diverged; ``note`` for what was found after training instead (e.g.
    non-finite anomaly scores)."""
    epoch: int
    step: int
    loss: float
    last_finite_loss: float
    note: str | None = None


@dataclass
class Interrupted:
    """The signal that stopped a run, what it was doing, and what is kept to resume from."""
    signal: str | None
    during: str  # "training", "scoring", "figures", "a second signal"
    epochs_kept: int
    checkpoint: str | None  # the file to resume from; None: no whole epoch


@dataclass
class Pruned:
    """Where a search's pruner ended the run: the epoch, and its trial's value there."""
    epoch: int
    metric: str  # the search's optimized_metric
    value: float


@dataclass
class Detection:
    """What an anomaly-detection run detected (``experiments.anomaly``)."""
    protocol: str  # one_class | leave_one_out
    anomaly_class: int  # the normal class (one_class) or the anomalous one (leave_one_out)
    architecture: str  # the image networks, e.g. "conv[32, 64]+[512, 256]->16"
    description: str  # who trains and who is an anomaly, in words
    network: str | None = None  # the network whose training ended early, if one did


@dataclass
class Embedding:
    """Which trained model an ``experiments.embed`` run applied."""
    checkpoint: str
    checkpoint_epoch: int
    model_spec: dict
    trained_with: dict  # the training run's config


@dataclass(kw_only=True)
class Record:
    status: Status
    task: Task = Task.train
    label: str = ""  # what ran, e.g. "VAE [512, 256]->2 bce beta=1", "ae (rapp_nap)"
    error: str | None = None  # why it failed, one line
    metrics: dict[str, float] = field(default_factory=dict)
    epochs_completed: int = 0
    diverged: Diverged | None = None
    interrupted: Interrupted | None = None
    pruned: Pruned | None = None
    best_epoch: int | None = None  # with a validation set: the epoch of the lowest val_loss
    stopped_early: int | None = None  # the last epoch, when early stopping ended training
    backward: str | None = None  # how the trainer took gradients; None: not trained by it
    device: str | None = None  # where the trainer ran ("cpu", "cuda:0"); None: not trained by it
    kl_weight_effective: float | None = None  # the KL's weight in standard-scaling terms
    embedding_protocol: str | None = None  # inductive | transductive (reducers.baselines)
    sizes: dict[str, int] = field(default_factory=dict)  # the rows each metric used
    timings: dict[str, float] = field(default_factory=dict)  # seconds, by part of the run
    seed: int | None = None
    threads: int | None = None
    data: dict = field(default_factory=dict)  # the data's summary (name, sizes, labelled)
    versions: dict[str, str] = field(default_factory=dict)
    config: dict = field(default_factory=dict)  # the resolved config
    detection: Detection | None = None
    embedding: Embedding | None = None
    format: str = FORMAT

    def write(self, run_dir: Path) -> None:
        """``run_dir/metrics.json``, atomically."""
        write_json(Path(run_dir) / "metrics.json", self.to_json())

    def to_json(self) -> dict:
        data = json.loads(json.dumps(dataclasses.asdict(self), default=_plain))
        return {"format": data.pop("format"), **data}  # the version first

    @classmethod
    def from_json(cls, data: dict) -> "Record":
        """A record as ``to_json`` wrote it, or as earlier versions did; ValueError, TypeError
        or KeyError for anything else."""
        data = dict(data) if data.get("format") == FORMAT else _from_version_1(data)
        data.pop("format", None)
        parts = {"diverged": Diverged, "interrupted": Interrupted, "pruned": Pruned,
                 "detection": Detection, "embedding": Embedding}
        for key, part in parts.items():
            if data.get(key) is not None:
                data[key] = part(**data[key])
        data["status"], data["task"] = Status(data["status"]), Task(data.get("task", "train"))
        return cls(**data)

    def reason(self) -> str:
        """Why the run did not finish, in a few words on one line ('' for one that did)."""
        if self.status is Status.diverged:
            d = self.diverged
            if d is None:
                return "diverged (its record lacks the details)"
            if d.note is not None:
                return d.note or "diverged (its record lacks the details)"
            return (f"diverged at epoch {d.epoch}, step {d.step} (last finite loss "
                    f"{float(d.last_finite_loss):.4g})")
        if self.status is Status.interrupted and self.interrupted is not None:
            return (f"interrupted by {self.interrupted.signal or 'a signal'} after epoch "
                    f"{self.interrupted.epochs_kept}; continue with trainer.resume=true")
        if self.status is Status.pruned and self.pruned is not None:
            p = self.pruned
            return f"pruned at epoch {p.epoch} ({p.metric} {p.value:.4g} there)"
        return " ".join(str(self.error or "").split())  # one line, whatever it held


def diverged_line(record: Record) -> str:
    """A single run's last line when its training diverged: where, and what to try."""
    d = record.diverged
    if d.note is not None:  # found after training, e.g. non-finite anomaly scores
        return f"error: {d.note}; lower optim.lr or check the data"
    network = record.detection and record.detection.network
    what = f"training of the {network}" if network else "training"
    return (f"error: {what} diverged at epoch {d.epoch}, step {d.step} (loss {d.loss}, "
            f"last finite loss {d.last_finite_loss:.4g}); lower optim.lr or check the data")


def _plain(value):
    return value.value if isinstance(value, Enum) else str(value)


# records written before this module: each app's dict, keys renamed here
_RENAMED = {"sample_sizes": "sizes", "model": "label", "detector": "label",
            "protocol": "embedding_protocol"}
_DROPPED = ("embedding_protocol_note",)
# an anomaly run's validation images were its "held-out" ones
_VALIDATION = {"held_out_threshold": "val_threshold", "held_out_fpr": "val_fpr",
               "held_out_fnr": "val_fnr", "held_out": "val"}


def _from_version_1(data: dict) -> dict:
    out = {_RENAMED.get(k, k): v for k, v in data.items() if k not in _DROPPED}
    if out.get("task") == "anomaly":
        out["detection"] = {"protocol": out.pop("anomaly_protocol", "one_class"),
                            "anomaly_class": out.pop("class", 0),
                            "architecture": out.pop("architecture", ""),
                            "description": out.pop("description", ""),
                            "network": out.pop("network", None)}
        out["metrics"] = {_VALIDATION.get(k, k): v for k, v in (out.get("metrics") or {}).items()}
        if "held_out" in (out.get("sizes") or {}):
            out["sizes"] = {_VALIDATION.get(k, k): v for k, v in out["sizes"].items()}
        timings = dict(out.get("timings") or {})
        for key in ("total_seconds", "train_seconds"):
            if key in out:
                timings[key] = out.pop(key)
        out["timings"] = timings
    if "checkpoint" in out and "model_spec" in out:  # an embed run
        out["task"] = "embed"
        out["embedding"] = {k: out.pop(k) for k in ("checkpoint", "checkpoint_epoch",
                                                    "model_spec", "trained_with")}
    return out
