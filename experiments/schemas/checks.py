"""The one-line range checks every schema uses."""

import math

from reducers.errors import ConfigError


def require(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


MAX_SEED = 2 ** 32 - 1  # numpy's and scikit-learn's random_state accept 0 .. 2**32 - 1


def check_seed(value: int, key: str) -> None:
    require(0 <= value <= MAX_SEED, key, value, f"a seed is an integer in 0 .. {MAX_SEED}")


def finite_at_least(value: float, key: str, low: float = 0.0) -> None:
    require(math.isfinite(value) and value >= low, key, value,
            f"must be a finite number >= {low:g}")


def layer_sizes(sizes: list[int], key: str, example: str = "[512,256]") -> None:
    require(all(h >= 1 for h in sizes), key, sizes,
            f"a list of layer sizes, each >= 1 (e.g. {example})")


def convolutions(channels: list[int], kernel_size: int, prefix: str) -> None:
    """``<prefix>.channels`` and ``<prefix>.kernel_size`` of a conv net (``net=conv``)."""
    require(len(channels) >= 1 and all(c >= 1 for c in channels), f"{prefix}.channels",
            channels, "one entry per convolution, each >= 1 (e.g. [32,64])")
    require(kernel_size >= 1 and kernel_size % 2 == 1, f"{prefix}.kernel_size", kernel_size,
            "an odd number >= 1 (e.g. 3)")


def metric_and_direction(metric: str, direction, directions: dict[str, int]) -> None:
    """``optimized_metric`` names a metric the app records, and ``optimized_direction`` agrees
    with the way that metric is better (metrics without one may go either way)."""
    require(metric in directions, "optimized_metric", metric,
            f"one of {', '.join(directions)}")
    better = {1: "maximize", -1: "minimize"}.get(directions[metric])
    when = "higher" if better == "maximize" else "lower"
    require(better is None or direction.value == better, "optimized_direction",
            direction.value, f"{metric} is better when {when}; set optimized_direction={better}")
