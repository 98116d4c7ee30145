"""Progress: a tqdm bar on a terminal, quiet periodic lines on stderr otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    """Reports messages done and input bytes consumed (for the ETA)."""

    def __init__(
        self, total_bytes: int, mode: str = "auto", stream: TextIO | None = None, every: float = 5.0
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.total = max(total_bytes, 1)
        self.every = every
        self.start = time.monotonic()
        self._last = self.start
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=total_bytes,
                unit="B",
                unit_scale=True,
                file=self.stream,
                desc="batch",
                dynamic_ncols=True,
            )

    def update(self, messages: int, done_bytes: int, resumed: int = 0) -> None:
        """New totals after a chunk was written."""
        now = time.monotonic()
        rate = (messages - resumed) / max(now - self.start, 1e-9)
        if self._bar is not None:
            self._bar.n = min(done_bytes, self.total)
            self._bar.set_postfix_str(f"{messages:,} msgs, {rate:,.0f} msg/s", refresh=False)
            self._bar.refresh()
            return
        if self.mode == "lines" and now - self._last >= self.every:
            self._last = now
            frac = min(done_bytes / self.total, 1.0)
            eta = (now - self.start) * (1 - frac) / frac if frac > 0 else 0.0
            print(
                f"batch: {messages:,} messages scored, {frac:.0%} of input, {rate:,.0f} msg/s, ETA {_duration(eta)}",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.n = self.total
            self._bar.refresh()
            self._bar.close()
