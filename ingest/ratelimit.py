"""One request-rate limiter for the whole process, shared by every thread.

NCBI allows 3 E-utilities requests per second without an API key and 10 with one; going over
gets 429s and, if repeated, a blocked IP. Bio.Entrez's own spacing is per call site and not
thread-safe, so every request of this package goes through :func:`limiter_for`.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Evenly spaced slots: ``acquire`` returns when the caller may send its request."""

    def __init__(self, per_second: float):
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        # 10% headroom: requests spaced exactly 1/rate apart drift into 4-in-a-second windows
        # (Biopython leaves 0.37 s for the same reason)
        self.interval = 1.1 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until the next free slot; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            time.sleep(wait)
        return wait

    def penalise(self, seconds: float) -> None:
        """Push every later slot back (a 429 or Retry-After says the server wants a pause)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


_LIMITERS: dict[float, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(per_second: float) -> RateLimiter:
    with _LIMITERS_LOCK:
        if per_second not in _LIMITERS:
            _LIMITERS[per_second] = RateLimiter(per_second)
        return _LIMITERS[per_second]
