"""The checks of the apps' root settings (the parts check their own: ``reducers.checks``)."""

from reducers.checks import require


def metric_and_direction(metric: str, direction, directions: dict[str, int]) -> None:
    """``optimized_metric`` names a metric the app records, and ``optimized_direction`` agrees
    with the way that metric is better (metrics without one may go either way)."""
    require(metric in directions, "optimized_metric", metric,
            f"one of {', '.join(directions)}")
    better = {1: "maximize", -1: "minimize"}.get(directions[metric])
    when = "higher" if better == "maximize" else "lower"
    require(better is None or direction.value == better, "optimized_direction",
            direction.value, f"{metric} is better when {when}; set optimized_direction={better}")
