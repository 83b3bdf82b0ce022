"""The checks of the apps' root settings (the parts check their own: ``reducers.checks``)."""

from reducers.checks import require


def names(value) -> list[str]:
    """A key that takes one name or a list of them (``optimized_metric``, ``compare.sort_by``)
    as a list."""
    return [value] if isinstance(value, str) else [str(v) for v in value]


def objectives(metric, direction) -> list[tuple[str, str]]:
    """``optimized_metric`` and ``optimized_direction`` as (metric, direction) pairs: one name
    each, or two lists of the same length (a search of several objectives)."""
    metrics, directions = names(metric), names(direction)
    require(len(metrics) >= 1 and len(set(metrics)) == len(metrics), "optimized_metric",
            metric, "one metric, or a list of different ones ([knn_acc,trustworthiness])")
    require(len(directions) == len(metrics), "optimized_direction", direction,
            f"one direction per metric of optimized_metric={metric}, e.g. "
            f"[{','.join(['maximize'] * len(metrics))}]")
    return list(zip(metrics, directions))


def metric_and_direction(metric, direction, directions: dict[str, int]) -> None:
    """``optimized_metric`` names metrics the app records (one, or a list), and
    ``optimized_direction`` agrees with the way each is better (metrics without one may go
    either way)."""
    for name, way in objectives(metric, direction):
        require(name in directions, "optimized_metric", name,
                f"one of {', '.join(directions)}")
        require(way in ("maximize", "minimize"), "optimized_direction", way,
                "maximize or minimize")
        better = {1: "maximize", -1: "minimize"}.get(directions[name])
        when = "higher" if better == "maximize" else "lower"
        require(better is None or way == better, "optimized_direction", way,
                f"{name} is better when {when}; set optimized_direction={better}"
                + (" for it" if not isinstance(metric, str) else ""))
