"""A dependency-free terminal progress bar fed from inside jitted loops.

``ProgressBar.callback`` has the signature ``(steps_done, metrics)`` expected by trainers'
``progress_fn`` argument, which call it through ``jax.debug.callback`` once per scanned iteration; the
bar then shows steps done / total, steps per second, the ETA and the latest score.  On a terminal the
line is redrawn in place (at most ``min_interval`` times per second); when the stream is not a TTY
(CI logs, files) a plain line is printed each time another ~10 % of the work is done.

Everything happens on the host inside the callback: nothing is returned to the traced computation,
so the compiled program is unchanged apart from the callback itself.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Mapping, TextIO

import numpy as np

__all__ = ["ProgressBar", "format_duration"]


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Progress of ``total`` steps.

    Args:
      total: number of steps of the whole job.
      desc: short label printed before the bar.
      score_key: name of the metric shown as "score" (looked up in the metrics passed to ``callback``).
      stream: where to write (default ``sys.stderr``).
      initial: steps already done (e.g. when resuming).
      width: bar width in characters.
      min_interval: minimum seconds between redraws on a TTY.
    """

    def __init__(self, total: int, desc: str = "", score_key: str | None = None, stream: TextIO | None = None,
                 initial: int = 0, width: int = 28, min_interval: float = 0.1):
        self.total = max(int(total), 1)
        self.desc = desc
        self.score_key = score_key
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.initial = int(initial)
        self.done = int(initial)
        self.score: float | None = None
        self._t0: float | None = None
        self._done0 = self.done
        self._last_draw = -math.inf
        self._next_decile = self._decile(self.done) + 1
        isatty = getattr(self.stream, "isatty", None)
        try:
            self.tty = bool(isatty and isatty())
        except (OSError, ValueError):
            self.tty = False
        self._closed = False
        self._dead = False  # the stream failed: nothing more is written

    def _decile(self, done: int) -> int:
        return int(10 * done // self.total)

    # -- updates -------------------------------------------------------------------------------------
    def start_at(self, done: int) -> None:
        """Declare ``done`` steps as already finished (e.g. after resuming); they do not count for the rate."""
        self.initial = self.done = self._done0 = min(int(done), self.total)
        self._t0 = None
        self._next_decile = self._decile(self.done) + 1

    def update(self, done: int, score: float | None = None) -> None:
        """Set the number of finished steps (monotone: smaller values are ignored) and the score."""
        done = min(int(done), self.total)
        if score is not None and math.isfinite(float(score)):
            self.score = float(score)
        if done < self.done:
            return
        self.done = done
        now = time.monotonic()
        if self._t0 is None:  # rate is measured from the first report, so compile time does not count
            self._t0, self._done0 = now, done
        if self.tty:
            if now - self._last_draw >= self.min_interval or done == self.total:
                self._last_draw = now
                self._write("\r" + self.line() + "\x1b[K")
        elif self._decile(done) >= self._next_decile:
            self._next_decile = self._decile(done) + 1
            self._write(self.line() + "\n")

    def _write(self, text: str) -> None:
        """Write and flush; a stream that fails (a closed pipe, a lost terminal, a full disk) silences the bar
        for good instead of ending the run it reports on (inside the scan, an exception would end the program)."""
        if self._dead:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # ValueError: a closed file
            self._dead = True

    def callback(self, done: Any, metrics: Mapping | None = None) -> None:
        """Host callback for ``jax.debug.callback(bar.callback, done, metrics)``; ``done`` is the number
        of steps finished since the start of the whole job (e.g. a train state's iteration counter)."""
        score = None
        if metrics is not None and self.score_key is not None and self.score_key in metrics:
            value = np.asarray(metrics[self.score_key])
            if value.size:
                score = float(value.reshape(-1)[-1])
        self.update(int(np.asarray(done).reshape(-1)[-1]), score)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.tty:
            self._write("\r" + self.line() + "\x1b[K\n")

    # -- rendering -----------------------------------------------------------------------------------
    def rate(self) -> float:
        if self._t0 is None:
            return 0.0
        elapsed = time.monotonic() - self._t0
        return (self.done - self._done0) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        frac = self.done / self.total
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        rate = self.rate()
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        speed = "  ? it/s" if rate <= 0 else (f" {rate:.2f} it/s" if rate < 10 else f" {rate:.0f} it/s")
        parts = [f"{self.desc} " if self.desc else "", f"[{bar}] {self.done}/{self.total} {100 * frac:5.1f}%",
                 speed, f" ETA {format_duration(eta)}"]
        if self.score is not None:
            parts.append(f" {self.score_key}={self.score:.4g}")
        return "".join(parts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
