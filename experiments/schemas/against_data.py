"""The settings that can only be checked once the data are loaded (sizes, classes): each app
calls ``check_against_data`` after loading its split and before any training, so that a
setting too large for the data is one line naming the key, the limit and the fix, instead of a
library's error after minutes of training."""

from reducers.checks import SettingError, require
from reducers.networks import Conv


def check_against_data(settings, split) -> None:
    """``settings``: an app's validated config (``schemas.validate``); ``split``: its data."""
    n_train, n_test = len(split.x_train), len(split.x_test)
    rows = "images" if split.image_shape is not None else "rows"
    score = getattr(settings, "score", None)
    if score is not None:
        if split.labelled:
            require(score.knn_k <= n_train, "score.knn_k", score.knn_k,
                    f"at most the {n_train} training {rows} of {split.name}; lower it")
            classes = len(set(split.y_test.tolist()))
            require(classes >= 2, "data", split.name,
                    f"its test split holds {classes} class; the label metrics need >= 2 (use "
                    "data.test_fraction, or data with more classes)")
        points = min(score.max_pairwise, n_test)  # the subsample of the quadratic metrics
        if split.labelled:
            require(points > classes, "score.max_pairwise", score.max_pairwise,
                    f"the silhouette needs more points than the {classes} classes; raise it")
        require(score.trust_k < points / 2, "score.trust_k", score.trust_k,
                f"must be below half the {points} test points scored "
                f"(min(score.max_pairwise, {n_test} test {rows})); lower score.trust_k"
                + ("" if score.max_pairwise >= n_test else " or raise score.max_pairwise"))
    model = getattr(settings, "model", None)
    networks = model if model is not None else getattr(settings, "detector", None)
    group = "detector" if model is None else "model"
    if split.image_shape is None and isinstance(getattr(networks, "net", None), Conv):
        require(False, f"{group}/net", "conv", f"needs images, but {split.name} holds feature "
                f"rows: use {group}/net=mlp (or give data.image_shape=[h,w])")
    trainer = getattr(settings, "trainer", None)
    if trainer is not None and split.image_shape is None and hasattr(networks, "net"):
        for key in ("augment_shift", "augment_degrees"):
            require(getattr(trainer, key) == 0, f"trainer.{key}", getattr(trainer, key),
                    f"moves images, but {split.name} holds feature rows; leave it at 0")
    if model is None:
        return
    target = model._target_.rsplit(".", 1)[-1]
    if target == "PCA":
        most = min(n_train, split.input_dim)
        require(model.latent_dim <= most, "model.latent_dim", model.latent_dim,
                f"PCA gives at most min(training {rows}, features) = {most} components")
    if target == "TSNE":
        points = n_train + n_test  # t-SNE embeds both splits together
        require(model.perplexity < points, "model.perplexity", model.perplexity,
                f"must be below the {points} points t-SNE embeds; lower it (5 to 50 is usual)")
    if target == "UMAP":
        require(model.n_neighbors < n_train + n_test, "model.n_neighbors", model.n_neighbors,
                f"must be below the {n_train + n_test} points UMAP embeds")
    if getattr(model, "embedding", None) is not None:  # a neighbour-embedding term
        try:
            model.embedding.check_rows(n_train)
        except SettingError as exc:
            raise exc.at("model.embedding.") from None
