"""The tables' metrics for any embedding (ours, UMAP's, t-SNE's) in one call, and scikit-learn
scorers for ``GridSearchCV``.

``score_embedding(x, codes, labels)`` scores codes of held-out rows as a run scores its test
codes (``reducers.scoring.score_codes``: trustworthiness and continuity, the label metrics,
each sampled metric with its sample size). The k-NN accuracy is fitted on training codes when
given (``train_codes``, ``train_labels``: the tables' protocol), and otherwise 5-fold cross-
validated over the scored codes themselves (what a transductive embedding such as t-SNE
allows); ``Scores.knn_protocol`` says which.
"""

from dataclasses import dataclass

import numpy as np

from reducers.scoring import ScoreSettings, score_codes


@dataclass(frozen=True)
class Scores:
    """The metrics (as in ``metrics.json``), each sampled metric's sample size, how the k-NN
    accuracy was measured ("held-out", "5-fold", or None without labels)."""

    metrics: dict[str, float]
    sizes: dict[str, int]
    knn_protocol: str | None

    def __getitem__(self, name: str) -> float:
        return self.metrics[name]


def score_embedding(x, codes, labels=None, *, train_codes=None, train_labels=None,
                    settings: ScoreSettings | None = None, random_state: int = 0) -> Scores:
    """Score ``codes`` (N, d) of the rows ``x`` (N, D) (any shape per row: flattened), with
    their ``labels`` (N,) when there are any. See the module's doc."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or len(codes) != len(x):
        raise ValueError(f"codes must be (N, d) with one row per row of x ({len(x)}), "
                         f"got shape {codes.shape}")
    settings = settings or ScoreSettings()
    labels = None if labels is None else np.asarray(labels)
    held_out = train_codes is not None
    if held_out and train_labels is None and labels is not None:
        raise ValueError("train_codes need their train_labels for the k-NN accuracy")
    if not held_out:  # the k-NN is scored separately below; score_codes needs some
        train_codes, train_labels = codes, labels
    metrics, sizes, _ = score_codes(np.asarray(train_codes, np.float64),
                                    None if train_labels is None else np.asarray(train_labels),
                                    codes, labels, x, settings, seed=random_state)
    protocol = None if labels is None else "held-out" if held_out else "5-fold"
    if protocol == "5-fold":
        metrics["knn_acc"] = _cross_validated_knn(codes, labels, settings.knn_k, random_state)
    return Scores(metrics, sizes, protocol)


def heldout_knn_scorer(n_neighbors: int = ScoreSettings.knn_k):
    """A scorer for ``GridSearchCV`` (``scoring=heldout_knn_scorer()``): the accuracy of a
    k-NN classifier fitted on the fitted estimator's training codes and labels, measured on
    the held-out fold's codes, as the tables' ``knn_acc``. Works on a reducer or a pipeline
    ending in one."""
    from sklearn.neighbors import KNeighborsClassifier

    def score(estimator, X, y) -> float:
        reducer = _last_step(estimator)
        if reducer._fit_labels is None:
            raise ValueError("heldout_knn_scorer needs the labels given to fit (fit(X, y))")
        knn = KNeighborsClassifier(n_neighbors).fit(reducer.embedding_, reducer._fit_labels)
        return float(knn.score(estimator.transform(X), np.asarray(y)))

    return score


def trustworthiness_scorer(n_neighbors: int = ScoreSettings.trust_k):
    """A label-free scorer: the trustworthiness of the held-out fold's codes (as the tables'
    ``trustworthiness``, on the inputs as given)."""
    from sklearn.manifold import trustworthiness

    def score(estimator, X, y=None) -> float:
        x = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        return float(trustworthiness(x, estimator.transform(X), n_neighbors=n_neighbors))

    return score


def _cross_validated_knn(codes: np.ndarray, labels: np.ndarray, k: int, seed: int) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(KNeighborsClassifier(k), codes, labels, cv=folds).mean())


def _last_step(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
