"""The default progress display (``progress=True``): one bar per stage on stderr."""

from __future__ import annotations

import sys
import time
from typing import IO, Optional


class StderrBar:
    """Callable progress display: ``stage [#######.......]  done/total`` redrawn in place.

    Redraws at most every ``interval`` seconds (and always at a stage's start and finish); notes
    are printed on their own line. Output goes to ``stream`` (default: sys.stderr at call time).
    """

    def __init__(self, stream: Optional[IO[str]] = None, width: int = 30, interval: float = 0.1) -> None:
        self.stream = stream
        self.width = width
        self.interval = interval
        self._last = 0.0
        self._open = False

    def _out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def __call__(self, event) -> None:
        out = self._out()
        if event.kind == "note":
            if self._open:
                out.write("\n")
                self._open = False
            out.write(f"{event.stage}: {event.text}\n")
            out.flush()
            return
        now = time.monotonic()
        final = event.kind == "finish"
        if not final and event.kind != "start" and now - self._last < self.interval:
            return
        self._last = now
        total = max(event.total, 1)
        filled = min(self.width, self.width * event.done // total)
        bar = "#" * filled + "." * (self.width - filled)
        out.write(f"\r{event.stage:<20} [{bar}] {event.done}/{event.total}")
        self._open = True
        if final:
            out.write("\n")
            self._open = False
        out.flush()
