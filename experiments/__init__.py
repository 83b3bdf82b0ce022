"""Hydra applications around the ``reducers`` library: train, and (later) compare and anomaly."""
