"""The Hydra applications around the ``reducers`` library, thin over a shared job runtime.

Apps: ``train`` (one reducer, scored on held-out data), ``anomaly`` (a detector), ``embed`` (a
trained model's codes for other data); table builders: ``compare`` and ``anomaly_tables``;
``benchmark``; the docs' tools: ``docs_reference``, ``docs_check``. Shared: ``cli`` (the
command line), ``runtime`` (running a job), ``resume``, ``results`` (reading runs), ``schemas``
(structured configs). docs/reference/architecture.md has the map.
"""

import os as _os
import signal as _signal
import sys as _sys


def _interrupted_while_starting(signum, frame):
    """Ctrl-C while an app imports its libraries (a second or two): one line, not the
    traceback of whichever import it cut short."""
    print("interrupted before training began; nothing to resume", file=_sys.stderr)
    _os._exit(128 + signum)


# ``python -m experiments.X`` (argv[0] is "-m" while the module is found) or a console script
# (reducer-train, ...): until ``cli.command_line`` takes over, a Ctrl-C ends the start-up quietly.
# Imported as a library, nothing is installed.
if _sys.argv[:1] == ["-m"] or _os.path.basename(_sys.argv[0] if _sys.argv else "").startswith(
        "reducer-"):
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
