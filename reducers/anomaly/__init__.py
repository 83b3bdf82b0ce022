"""Anomaly detection with the reducers: which images a detector trains on and which test images
are anomalies (``protocols``), the detectors (``detectors``), per-image scores and their scale
(``scores``), detection metrics (``metrics``) and figures (``plots``). Usable without Hydra::

    from reducers.anomaly import protocol_split, detectors, detection_metrics
"""

from reducers.anomaly import detectors
from reducers.anomaly.metrics import detection_metrics, roc
from reducers.anomaly.protocols import AnomalySplit, Protocol, hold_out, protocol_split
from reducers.anomaly.scores import Reference, fuse, reconstruction_error, vae_score

__all__ = ["detectors", "detection_metrics", "roc", "AnomalySplit", "Protocol", "hold_out",
           "protocol_split", "Reference", "fuse", "reconstruction_error", "vae_score"]
