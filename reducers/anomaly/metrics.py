"""Detection metrics: AUROC and average precision with the anomalies as positives, and the
false-positive and false-negative rates at a threshold fixed on normal training scores, which
is what a deployed detector would see."""

import numpy as np

from reducers.errors import DataError

# Every metric a detection run records: +1 higher is better, -1 lower is better, 0 neither.
DIRECTION = {"auroc": 1, "average_precision": 1, "fpr": -1, "fnr": -1, "val_fpr": -1,
             "val_fnr": -1, "threshold": 0, "val_threshold": 0, "train_flagged": 0,
             "anomaly_fraction": 0, "train_seconds": -1, "score_seconds": -1}


def detection_metrics(train_scores: np.ndarray, test_scores: np.ndarray,
                      is_anomaly: np.ndarray, quantile: float = 0.95) -> dict[str, float]:
    """A test image is flagged when its score is above the ``quantile`` of the normal
    ``train_scores``."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if is_anomaly.all() or not is_anomaly.any():
        raise DataError("the test split needs both normal and anomalous images")
    from sklearn.metrics import average_precision_score, roc_auc_score  # a second: when used

    threshold = float(np.quantile(train_scores, quantile))
    flagged = test_scores > threshold
    return {
        "auroc": float(roc_auc_score(is_anomaly, test_scores)),
        "average_precision": float(average_precision_score(is_anomaly, test_scores)),
        "threshold": threshold,
        "fpr": float(flagged[~is_anomaly].mean()),  # normal test images flagged
        "fnr": float((~flagged[is_anomaly]).mean()),  # anomalies missed
        "train_flagged": float((train_scores > threshold).mean()),  # ~ 1 - quantile
        "anomaly_fraction": float(is_anomaly.mean()),
    }


def roc(test_scores: np.ndarray, is_anomaly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(is_anomaly, test_scores)
    return fpr, tpr
