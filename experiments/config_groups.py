"""Where the apps' configs are, and the options of a config group as a user types them."""

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"  # absolute: console scripts too


def group_options(group: str) -> str:
    """E.g. 'ae, pca, tsne, umap, vae' for ``model``, 'conv, mlp' for ``model/net`` or
    'anomaly/leave_one_out, anomaly/one_class' for ``sweep/anomaly`` (the ``group_options``
    resolver of the help pages, so that they never go stale)."""
    prefix = group.split("/", 1)[1] + "/" if group.startswith(("sweep/", "experiment/")) else ""
    return ", ".join(prefix + p.stem for p in sorted((CONF_DIR / group).glob("*.yaml")))
