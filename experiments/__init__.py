"""The Hydra applications around the ``reducers`` library, thin over a shared job runtime.

Apps: ``train`` (one reducer, scored on held-out data), ``anomaly`` (a detector), ``embed`` (a
trained model's codes for other data); table builders: ``compare`` and ``anomaly_tables``;
``benchmark``; the docs' tools: ``docs_reference``, ``docs_check``. Shared: ``cli`` (the
command line), ``runtime`` (running a job), ``resume``, ``results`` (reading runs), ``schemas``
(structured configs). docs/reference/architecture.md has the map.
"""
