"""Flags on finished runs whose numbers should not decide anything on their own: a collapsed
model, a training too short to mean much, a loss still falling at the last epoch. The tables
show them in a ``flags`` column with these meanings under it, and the verdict names them when
the best setting carries one. (Diverged and interrupted runs have their own status and table.)
"""

import math
from pathlib import Path

import pandas as pd

FEW_STEPS = 500  # optimiser steps below which a network's scores say little
IMPROVING = 0.01  # a fall of the training loss over the last fifth of the epochs, relative
MEANING = {
    "collapsed": "no active code dimension (active_units 0): every input gets about the same "
                 "code",
    "few steps": f"fewer than {FEW_STEPS} optimiser steps (epochs x batches per epoch): too "
                 "short a training for its scores to mean much",
    "still improving": f"the training loss fell by more than {IMPROVING:.0%} over the last fifth "
                       "of the epochs: longer training may change the ranking",
}


def run_flags(row: dict, run_dir: Path, n_train: int | None) -> list[str]:
    """The flags of one finished run (a table row as compare.load_run makes it; ``n_train``
    its training rows)."""
    flags = []
    if row.get("active_units") == 0:
        flags.append("collapsed")
    steps = optimiser_steps(row, n_train)
    if steps is not None and steps < FEW_STEPS:
        flags.append("few steps")
    if still_improving(run_dir / "history.csv"):
        flags.append("still improving")
    return flags


def optimiser_steps(row: dict, n_train: int | None) -> int | None:
    """Epochs x batches per epoch of a network's run; None for a baseline (no epochs) or
    when unknown."""
    epochs, batch = row.get("epochs_completed"), row.get("trainer.batch_size")
    if not epochs or not batch or not n_train:
        return None
    return int(epochs) * math.ceil(n_train / int(batch))


def still_improving(history: Path) -> bool:
    """Whether the training loss fell by more than IMPROVING over the last fifth of the epochs
    (at least the last two); False when there is no history or fewer than 3 epochs."""
    try:
        loss = pd.read_csv(history)["train_total"].dropna().to_numpy()
    except (OSError, KeyError, ValueError, pd.errors.ParserError):
        return False
    if len(loss) < 3:
        return False
    back = max(2, len(loss) // 5)
    before, last = loss[-1 - back], loss[-1]
    return bool(before - last > IMPROVING * abs(before))


def legend(flags: pd.Series) -> str:
    """The note under a table on the flags its runs carry; '' when none does."""
    seen = sorted({f for cell in flags.dropna() for f in str(cell).split(", ") if f})
    return "Flags: " + "; ".join(f"*{f}*: {MEANING[f]}" for f in seen) + "." if seen else ""
