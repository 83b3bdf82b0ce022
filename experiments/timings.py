"""Where a run's seconds go: each run records these in ``metrics.json`` under ``timings``, and
``python -m experiments.benchmark`` adds them up against its wall time."""

import os
import time
from contextlib import contextmanager
from pathlib import Path


def seconds_since_process_start() -> float | None:
    """Seconds since the kernel started this process (Linux, 10 ms resolution; None where it
    cannot say): what a run spent on the interpreter, imports and Hydra before its work."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime
        return round(time.clock_gettime(time.CLOCK_BOOTTIME) - started, 3)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@contextmanager
def timed(timings: dict, key: str):
    """Add the seconds the block takes to ``timings[key]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - started
