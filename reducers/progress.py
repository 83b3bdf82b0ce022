"""A dependency-free live progress bar, redrawn in place on a terminal (stderr) and drawn nowhere
else; what a run says about its progress goes through ``logging``, after ``clear`` has taken
the bar off its line, so that the two never share a line."""

import sys
import time


class Progress:
    def __init__(self, epochs: int, steps: int, enabled: bool = True, stream=sys.stderr):
        self.epochs, self.steps, self.stream = epochs, steps, stream
        self.live = enabled and stream.isatty()
        self.drawn = False
        self._last_draw = 0.0
        self._start = time.perf_counter()

    def step(self, epoch: int, step: int, loss: float) -> None:
        now = time.perf_counter()
        if not self.live or now - self._last_draw < 0.1:
            return
        self._last_draw, self.drawn = now, True
        done = (epoch - 1 + step / self.steps) / self.epochs
        bar = "#" * int(24 * done) + "." * (24 - int(24 * done))
        eta = (now - self._start) * (1 - done) / max(done, 1e-9)
        self.stream.write(f"\r  epoch {epoch}/{self.epochs} [{bar}] loss {loss:9.4g}"
                          f"  eta {eta:5.0f}s ")
        self.stream.flush()

    def clear(self) -> None:
        """Take the bar off its line, so that a log line written next has it to itself."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False
