"""Which setting of a sweep is best, and which cannot be told apart from it given the seeds.

The rule: settings are the sweep's varied keys but ``seed``; the best has the best mean of the
metric. Another setting cannot be told apart from it when a two-sided t-test at 5% does not
reject equal means: paired over the seeds both ran (the same seed gives the same split and
initialisation, so pairing removes that part of the noise), Welch's over all their runs when
they share fewer than two seeds. A setting with a single run cannot be told apart from anything.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from experiments.markdown import fmt
from reducers.scoring import DIRECTION

ALPHA = 0.05
RULE = "two-sided t-test at 5% over seeds, paired where both ran the same seeds"


@dataclass(frozen=True)
class Verdict:
    metric: str
    best: str  # the best setting, "key=value, ..."
    mean: float
    std: float
    seeds: int  # runs of the best setting
    ties: list[str] = field(default_factory=list)  # settings not told apart from the best
    others: int = 0  # settings compared with the best
    fewest_seeds: int = 1  # of any setting compared
    flags: list[str] = field(default_factory=list)  # of the best setting's runs (flags.py)

    def sentence(self) -> str:
        """One or two sentences a person reads before the table."""
        flagged = (f" Beware: its runs are flagged {', '.join(self.flags)} (see the note under "
                   "the table).") if self.flags else ""
        return self._ranking() + flagged

    def _ranking(self) -> str:
        better = "higher" if DIRECTION.get(self.metric, 1) >= 0 else "lower"
        if self.fewest_seeds < 2:
            return (f"Best `{self.metric}` ({better} is better): {self.best} "
                    f"({self.mean:.3f}); but a setting ran with one seed only, so this table "
                    "cannot tell settings apart: its gaps may be seed noise. Sweep "
                    "`seed=0,1,2` as well for a verdict.")
        spread = f"{self.mean:.3f} ± {self.std:.3f} over {self.seeds} seeds"
        text = f"Best `{self.metric}` ({better} is better): {self.best} ({spread}). "
        if not self.ties:
            return text + f"Every other setting is worse ({RULE})."
        if len(self.ties) == self.others:
            return text + f"No other setting can be told apart from it ({RULE})."
        return text + (f"Not told apart from it, {len(self.ties)} of the {self.others} other "
                       f"settings ({RULE}; nearest first): " + "; ".join(self.ties) + ".")


def setting_name(values: tuple, keys: list[str]) -> str:
    """``key=value, ...`` of one setting, leaving out keys it lacks (an AE's beta)."""
    parts = [f"{k}={fmt(v)}" for k, v in zip(keys, values) if not pd.isna(v)]
    return ", ".join(parts) or "(the defaults)"


def verdict(ok: pd.DataFrame, varied: list[str], metric: str) -> Verdict | None:
    """The verdict over the finished runs ``ok``; None when the sweep varies nothing but the
    seed or no run has the metric."""
    keys = [k for k in varied if k != "seed"]
    runs = ok[ok[metric].notna()] if metric in ok else ok.iloc[:0]
    if not keys or runs.empty:
        return None
    seeds = runs["seed"] if "seed" in runs else pd.Series(range(len(runs)), index=runs.index)
    samples, flagged = {}, {}  # setting -> {seed: value}, setting -> its runs' flags
    for values, group in runs.groupby(keys, sort=False, dropna=False):
        name = setting_name(values if isinstance(values, tuple) else (values,), keys)
        samples[name] = dict(zip(seeds[group.index], group[metric]))
        cells = group["flags"] if "flags" in group else []
        flagged[name] = sorted({f for cell in cells for f in str(cell).split(", ") if f})
    if len(samples) < 2:
        return None
    sign = 1 if DIRECTION.get(metric, 1) >= 0 else -1
    ranked = sorted(samples, key=lambda s: -sign * np.mean(list(samples[s].values())))
    best, others = ranked[0], ranked[1:]
    values = np.array(list(samples[best].values()), dtype=float)
    return Verdict(metric=metric, best=best, mean=values.mean(),
                   std=values.std(ddof=1) if len(values) > 1 else 0.0, seeds=len(values),
                   ties=[s for s in others if not told_apart(samples[best], samples[s])],
                   others=len(others), fewest_seeds=min(len(v) for v in samples.values()),
                   flags=flagged[best])


def told_apart(a: dict, b: dict) -> bool:
    """Whether the runs ``a`` and ``b`` ({seed: value}) differ at 5%."""
    shared = [s for s in a if s in b]
    if len(shared) >= 2:
        diffs = np.array([a[s] - b[s] for s in shared], dtype=float)
        if np.ptp(diffs) <= 1e-9:  # no spread: a constant gap is told apart, none is not
            return bool(abs(diffs.mean()) > 1e-9)
        return stats.ttest_rel([a[s] for s in shared], [b[s] for s in shared]).pvalue < ALPHA
    x, y = np.array(list(a.values()), float), np.array(list(b.values()), float)
    if min(len(x), len(y)) < 2:
        return False
    if max(np.ptp(x), np.ptp(y)) <= 1e-9:
        return bool(abs(x.mean() - y.mean()) > 1e-9)
    return stats.ttest_ind(x, y, equal_var=False).pvalue < ALPHA

