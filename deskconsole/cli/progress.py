"""A progress bar on stderr for long work (imports, exports, demo desks)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Redraws at most 10 times a second on a terminal; on a pipe, prints a
    line every 10 % so logs show progress without flooding."""

    def __init__(self, label: str, stream=None, start: float | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic() if start is None else start  # (a time.monotonic() the work began at)
        self._last_draw = 0.0
        self._last_decile = -1

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        rate = done / max(now - self.start, 1e-6)
        if self.tty:
            if now - self._last_draw < 0.1 and done != total:
                return
            self._last_draw = now
            if total:
                width = 30
                filled = int(width * done / total)
                bar = "#" * filled + "-" * (width - filled)
                text = f"\r{self.label} [{bar}] {done:,}/{total:,} ({rate:,.0f}/s)"
            else:
                text = f"\r{self.label} {done:,} ({rate:,.0f}/s)"
            self.stream.write(text)
            self.stream.flush()
        elif total:
            decile = min(done * 10 // total, 10)
            if decile > self._last_decile:  # an estimated total may shrink: never print a step twice
                self._last_decile = decile
                self.stream.write(f"{self.label}: {done:,}/{total:,}\n")

    def finish(self, message: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"{message} in {took(time.monotonic() - self.start)}\n")
        self.stream.flush()


def took(seconds: float) -> str:
    """A duration as a person reads it: '42 ms' under a second ('0.0 s' would
    say nothing happened), '9.7 s' after."""
    if seconds < 0.9995:
        ms = round(seconds * 1000)
        return f"{ms} ms" if ms else "under 1 ms"
    return f"{seconds:.1f} s"
