"""The one-line range checks of every part's settings (``MLP``, ``KLWeighting``, ...), written
where each part is defined and run when it is made, from Python or from a config.

A part does not know where a config keeps it (``model.net`` or ``detector.net``), so its error
names the setting alone (``dropout=1.5 is invalid: ...``); the command line puts the path in
front (``SettingError.at``): ``model.net.dropout=1.5 is invalid: ...``.
"""

import math

from reducers.errors import ConfigError

MAX_SEED = 2 ** 32 - 1  # numpy's and scikit-learn's random_state accept 0 .. 2**32 - 1


class SettingError(ConfigError):
    """A setting of a part is out of range. ``allowed`` may name sibling settings as
    ``{at}name``, so that they get the same path."""

    def __init__(self, key: str, value, allowed: str, at: str = ""):
        self.key, self.value, self.allowed, self.path = key, value, allowed, at
        super().__init__(f"{at}{key}={value!r} is invalid: {allowed.replace('{at}', at)}")

    def at(self, prefix: str) -> "SettingError":
        """The same error with ``prefix`` (e.g. ``model.net.``) before its settings."""
        return SettingError(self.key, self.value, self.allowed, prefix + self.path)


def require(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise SettingError(key, value, allowed)


def finite_at_least(value: float, key: str, low: float = 0.0) -> None:
    require(math.isfinite(value) and value >= low, key, value,
            f"must be a finite number >= {low:g}")


def positive(value: float, key: str) -> None:
    require(math.isfinite(value) and value > 0, key, value, "must be a finite number > 0")


def at_least(value: int, key: str, low: int) -> None:
    require(value >= low, key, value, f"must be >= {low}")


def layer_sizes(sizes: list[int], key: str, example: str = "[512,256]") -> None:
    require(all(h >= 1 for h in sizes), key, sizes,
            f"a list of layer sizes, each >= 1 (e.g. {example})")


def seed(value: int, key: str = "seed") -> None:
    require(0 <= value <= MAX_SEED, key, value, f"a seed is an integer in 0 .. {MAX_SEED}")
