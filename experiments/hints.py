"""The one-line fix for a command-line argument before Hydra sees it: a spelling of an earlier
version (``model.beta=2`` is ``model.kl.beta=2`` now), a group set to null, a grid and a search
in one command, a setting of a part no option picked."""

import re

from experiments.config_groups import CONF_DIR, group_options
from experiments.extras import SEARCH
from reducers import legacy

# arguments spelt as in earlier versions, and what to write now (a leading '+' before
# experiment= and sweep= is no longer needed: both groups are in the defaults lists)
RENAMED = {"experiment=seed_vae": "experiment=blog_vae",
           "experiment=seed_vae_fixed": "experiment=blog_vae_fixed",
           "model.kl_scaling=seed": "model.kl.scaling=blog",
           "sweep=anomaly": "sweep=anomaly/one_class",
           "sweep=anomaly_loo": "sweep=anomaly/leave_one_out"}


BASELINES = re.compile(r"^model=(pca|tsne|umap)$")  # their perplexity etc. are their own


def renamed_hint(argv: list[str]) -> str | None:
    """The one-line fix for an argument spelt as in earlier versions, or None: a preset's old
    name, a renamed key (``test_data=``), or a network's flat setting that now lives in a part
    (``model.beta=2`` is ``model.kl.beta=2``, ``model.net=conv`` is ``model/net=conv``)."""
    baseline = any(BASELINES.match(arg) for arg in argv)
    for arg in argv:
        bare = arg[1:] if arg.startswith(("+experiment=", "+sweep=")) else arg
        key, equals, value = arg.partition("=")
        now = RENAMED.get(bare, bare)
        if now == arg and equals and legacy.renamed_key(key.lstrip("+~")):
            now = f"{legacy.renamed_key(key.lstrip('+~'))}={value}"
        if now != arg:
            return f"{arg!r} is an earlier spelling: write {now}"
        fix = _moved_setting(arg, argv, baseline)
        if fix:
            return fix
    return None


def _moved_setting(arg: str, argv: list[str], baseline: bool) -> str | None:
    """The fix for a network's flat setting of an earlier version, or None."""
    key, equals, value = arg.partition("=")
    prefix, _, name = key.partition(".")
    if not equals or prefix not in ("model", "detector") or \
            (baseline and prefix == "model" and name in legacy.BASELINE_KEYS):
        return None
    if name == "embedding_loss" and value == "none":
        return (f"{arg!r} is an earlier spelling: no neighbour-embedding term is the default, "
                "so leave it out (model/embedding=tsne or umap picks one)")
    moved = legacy.new_spelling(name, value)
    if moved is None:
        return None
    if name in legacy.PICKED:  # now a group: name one of its options
        group = f"{prefix}/{legacy.PICKED[name]}"
        known = (CONF_DIR / group / f"{value}.yaml").is_file()
        return f"{arg!r} is an earlier spelling: write " + \
            (f"{group}={value}" if known else f"{group}=... ({group_options(group)})")
    after = ""
    if legacy.MOVED[name][0] == "embedding" and \
            not any(a.startswith(f"{prefix}/embedding=") for a in argv):
        after = f" (after {prefix}/embedding=tsne or umap)"
    return f"{arg!r} is an earlier spelling: write {prefix}.{moved}{after}"


def null_group_hint(argv: list[str]) -> str | None:
    """The one-line fix for ``group=null`` (Hydra raises a bare ValueError on it), or None."""
    for arg in argv:
        key, equals, value = arg.lstrip("+").partition("=")
        if not equals or value.strip().lower() != "null":
            continue
        options = group_options(key) if (CONF_DIR / key).is_dir() else stored_options(key)
        if options:
            return (f"{arg!r}: {key} is a group of options ({options}): name one, or leave "
                    "the argument out for the default")
    return None


def stored_options(group: str) -> str:
    """The options of a group that code stores (``hydra/sweeper/pruner``: the search
    sweeper's), as 'a, b, c'; '' for no such group."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()  # imports every plugin module, which stores its options
    node = ConfigStore.instance().repo
    for part in group.split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return ""
    return ", ".join(sorted(name[:-len(".yaml")] for name in node if name.endswith(".yaml")))


def conflict_hint(argv: list[str]) -> str | None:
    """A stored grid (``sweep=``) and an Optuna search in one command, or None."""
    grids = [a for a in argv if a.lstrip("+").startswith("sweep=")]
    searches = [a for a in argv if SEARCH.match(a.lstrip("+"))]
    if grids and searches:
        return (f"{grids[0]} is a stored grid and {searches[0]} an Optuna search: a command "
                "runs one or the other (search over a grid's keys by naming them in the "
                "search, e.g. 'model.recon=choice(mse,bce)')")
    return None


def unpicked_pruner_hint(argv: list[str]) -> str | None:
    """A pruner's setting without a pruner (Hydra says only 'not in struct'), or None."""
    group = "hydra/sweeper/pruner"
    for arg in argv:
        if arg.lstrip("+").startswith("hydra.sweeper.pruner.") and \
                not any(a.startswith(f"{group}=") for a in argv):
            return (f"{arg!r} sets a pruner's setting, but no pruner is picked: add "
                    f"{group}=... ({stored_options(group)})")
    return None


def unpicked_part_line(argv: list[str]) -> str:
    """The line for a setting of a part that no option picked (``model.embedding.weight=300``
    without ``model/embedding=tsne``: Hydra fails on it with a bare assertion)."""
    for arg in argv:
        key = arg.lstrip("+~").partition("=")[0].split(".")
        group = "/".join(key[:2])
        if len(key) >= 3 and _none_by_default(*key[:2]) and \
                not any(a.startswith(f"{group}=") for a in argv):
            return (f"{arg!r} sets a setting of {key[0]}.{key[1]}, but none is picked: add "
                    f"{group}=... ({group_options(group)})")
    return "a setting is given for a part that none of the options picked (e.g. " \
           "model.embedding.* without model/embedding=tsne or umap)"


def _none_by_default(node: str, part: str) -> bool:
    """Whether an option of group ``node`` picks no ``part`` unless told (``embedding: null``
    in its defaults list)."""
    return any(f"  - {part}: null" in path.read_text()
               for path in (CONF_DIR / node).glob("*.yaml")) if (CONF_DIR / node).is_dir() \
        else False
