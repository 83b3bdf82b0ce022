"""Settings as runs made before the parts (2026-12-03) recorded them: a network's flat keys
(``hidden``, ``beta``, ``embedding_loss``, ...) and where each one lives now (``net.hidden``,
``kl.beta``, ``embedding`` picked by its kind), and the anomaly app's names of its evaluation
sets. One table, read by everything that meets old settings: checkpoints, the tables of old run
folders, resuming, and the command line's hint for an old spelling."""

# flat key -> (part, key in the part)
MOVED = {"hidden": ("net", "hidden"), "activation": ("net", "activation"),
         "batchnorm": ("net", "batchnorm"), "dropout": ("net", "dropout"),
         "input_dropout": ("net", "input_dropout"), "channels": ("net", "channels"),
         "kernel_size": ("net", "kernel_size"),
         "beta": ("kl", "beta"), "kl_scaling": ("kl", "scaling"),
         "beta_schedule": ("kl", "schedule"), "warmup_epochs": ("kl", "warmup_epochs"),
         "embedding_weight": ("embedding", "weight"), "embedding_batch": ("embedding", "batch"),
         "embedding_scale": ("embedding", "scale"), "perplexity": ("embedding", "perplexity"),
         "n_neighbors": ("embedding", "n_neighbors"), "min_dist": ("embedding", "min_dist"),
         "negative_rate": ("embedding", "negative_rate")}
# flat keys that picked a part's kind: now a config group (model/net=conv, model/embedding=tsne)
PICKED = {"net": "net", "embedding_loss": "embedding"}
CONV_ONLY = ("channels", "kernel_size")
BASELINE_KEYS = ("perplexity", "n_neighbors", "min_dist")  # t-SNE's and UMAP's own, still
# whole keys (and the keys below them) that were renamed: the anomaly app's evaluation sets
RENAMED_KEYS = {"anomaly.held_out_fraction": "trainer.val_fraction", "test_data": "heldout"}
TERM_KEYS = {"tsne": ("weight", "batch", "scale", "perplexity"),
             "umap": ("weight", "batch", "scale", "n_neighbors", "min_dist", "negative_rate")}


def is_flat(settings) -> bool:
    """Whether a model's or detector's settings are the old flat ones (a network's, with
    ``hidden`` at the top; a baseline's ``perplexity`` is its own)."""
    return hasattr(settings, "get") and "hidden" in settings


def nested_settings(settings):
    """Old flat settings as the parts' nested ones ({"net": {...}, "kl": {...}, "embedding":
    {...} or None}); anything else as it is."""
    if not is_flat(settings):
        return settings
    out = {k: v for k, v in settings.items() if k not in MOVED and k not in PICKED}
    kind = str(getattr(settings.get("net"), "value", settings.get("net", "mlp")))
    net = out["net"] = {}
    term = str(getattr(settings.get("embedding_loss"), "value",
                       settings.get("embedding_loss", "none")))
    for key, value in settings.items():
        part, name = MOVED.get(key, (None, None))
        if part == "net" and (kind == "conv" or key not in CONV_ONLY):
            net[name] = value
        elif part == "kl":
            out.setdefault("kl", {})[name] = value
        elif part == "embedding" and term in TERM_KEYS and name in TERM_KEYS[term]:
            out.setdefault("embedding", {})[name] = value
    if "embedding_loss" in settings:
        out.setdefault("embedding", None)
    return out


def picked_parts(settings) -> dict[str, str | None]:
    """Which part each group picked in old flat settings ({"net": "conv", "embedding":
    "tsne" or None}); {} for anything else."""
    if not is_flat(settings):
        return {}
    term = str(getattr(settings.get("embedding_loss"), "value",
                       settings.get("embedding_loss", "none")))
    return {"net": str(getattr(settings.get("net"), "value", settings.get("net", "mlp"))),
            "embedding": None if term == "none" else term}


def current_config(config: dict) -> tuple[dict, dict]:
    """A run's config as it would be written now, and the group choices its old keys made
    (``{"model/net": "conv", ...}``): a network's flat settings nested, the anomaly app's
    ``test_data`` as ``heldout`` and its ``anomaly.held_out_fraction`` as
    ``trainer.val_fraction``."""
    config, choices = dict(config), {}
    for node in ("model", "detector"):
        if is_flat(config.get(node)):
            choices.update({f"{node}/{k}": v for k, v in picked_parts(config[node]).items()})
            config[node] = nested_settings(config[node])
    if "test_data" in config:
        config["heldout"] = config.pop("test_data")
    anomaly = config.get("anomaly")
    if isinstance(anomaly, dict) and "held_out_fraction" in anomaly:
        config["anomaly"] = {k: v for k, v in anomaly.items() if k != "held_out_fraction"}
        config["trainer"] = {**config.get("trainer", {}),
                             "val_fraction": anomaly["held_out_fraction"]}
    return config, choices


def renamed_key(key: str) -> str | None:
    """A whole key as written now (``test_data.limit`` -> ``heldout.limit``), or None."""
    for old, new in RENAMED_KEYS.items():
        if key == old or key.startswith(old + "."):
            return new + key[len(old):]
    return None


def new_spelling(key: str, value: str) -> str | None:
    """The argument ``<prefix>.<key>=<value>`` as written now (``model.beta=2`` ->
    ``model.kl.beta=2``, ``model.net=conv`` -> ``model/net=conv``), or None if it did not
    change. ``key`` is the part after ``model.`` or ``detector.``."""
    if key in PICKED:
        group = PICKED[key]
        return f"{group}=" + ("null" if value == "none" else value)
    if key in MOVED:
        part, name = MOVED[key]
        return f"{part}.{name}={value}"
    return None
