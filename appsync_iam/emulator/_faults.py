"""Fault injection for the emulator, settable at runtime.

Faults apply only to requests that passed IAM verification (AppSync throttles
after auth). Every draw uses one seedable :class:`random.Random`, so a test
that seeds it sees the same sequence of faults on every run.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults"]

_RATES = (
    "throttle_rate",
    "error_5xx_rate",
    "reset_before_rate",
    "reset_after_rate",
    "event_failure_rate",
)

#: errorType sent with each 5xx status the emulator can inject.
ERROR_5XX_TYPES = {500: "InternalFailure", 502: "BadGateway", 503: "ServiceUnavailable"}


@dataclass(eq=False)
class Faults:
    """What can go wrong, and how often; change any field while the emulator runs.

    HTTP (each rate is a probability in ``[0, 1]``, drawn per request):

    - ``throttle_rate``: answer ``429`` with ``errorType`` ``throttle_error_type``
      (default ``"TooManyRequestsException"``). AppSync's exact throttling
      answer is not documented (protocol doc §1.4, open question 1); AppSync's
      control-plane model names its 429 ``LimitExceededException``. This is an
      assumption: set ``throttle_error_type`` to try other spellings.
    - ``error_5xx_rate``: answer ``error_5xx_status`` (500 ``InternalFailure``,
      502 ``BadGateway`` or 503 ``ServiceUnavailable``) without running the
      operation.
    - ``reset_before_rate``: drop the connection without an answer, before the
      operation runs.
    - ``reset_after_rate``: run the operation (it shows in ``executed``), then
      drop the connection without an answer — the case where a retry would
      duplicate a mutation.
    - ``latency_ms``: ``None`` or a ``(low, high)`` range; a uniform draw from
      it is awaited before answering.
    - ``quota_per_s``: ``None`` or a request rate. A token bucket refilled at
      that rate, holding at most ``quota_burst`` tokens (default: a tenth of
      a second's worth, at least 1), takes one token per authenticated
      request; a request finding it empty gets the throttling answer (as
      ``throttle_rate`` sends it, counted as ``"quota"``) and does not run.
      AppSync documents a per-API token rate (2,000/s by default) but not its
      bucket's burst size: the burst here is an assumption.

    Real-time (read by the real-time endpoint):

    - ``drop_ws_every_s``: ``None`` or seconds; each WebSocket is closed
      abruptly after that long.
    - ``withhold_ka``: when true, no ``ka`` frames are sent.

    Both apply to the GraphQL and the Events WebSockets. Events API (HTTP
    and WebSocket publish; ``throttle_rate`` also answers a WebSocket
    ``publish`` with ``publish_error`` ``LimitExceededError``):

    - ``event_failure_rate``: each published event is answered in
      ``failed[]`` (``code`` ``event_failure_code``, default 400) instead of
      ``successful[]``, and neither recorded nor delivered;
    - ``fail_event_indices``: the events at these indices of every publish
      request fail the same way (deterministic).

    ``injected`` counts the faults actually injected, by kind (``"throttle"``,
    ``"error_5xx"``, ``"reset_before"``, ``"reset_after"``, ``"latency"``, and
    whatever the real-time endpoint records, e.g. ``"drop_ws"``).

    Example::

        emulator.faults.seed(7)
        emulator.faults.throttle_rate = 0.5
        ...
        assert emulator.faults.injected["throttle"] > 0
    """

    throttle_rate: float = 0.0
    error_5xx_rate: float = 0.0
    reset_before_rate: float = 0.0
    reset_after_rate: float = 0.0
    latency_ms: tuple[float, float] | None = None
    drop_ws_every_s: float | None = None
    withhold_ka: bool = False
    quota_per_s: float | None = None
    quota_burst: float | None = None
    event_failure_rate: float = 0.0
    fail_event_indices: frozenset[int] = frozenset()
    event_failure_code: int = 400
    throttle_error_type: str = "TooManyRequestsException"
    error_5xx_status: int = 500
    injected: Counter[str] = field(default_factory=Counter, init=False)
    _rng: random.Random = field(default_factory=random.Random, init=False, repr=False)
    _clock: Callable[[], float] = field(default=time.monotonic, init=False, repr=False)
    # (tokens, last refill time) of the quota bucket; None: full.
    _bucket: tuple[float, float] | None = field(default=None, init=False, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _RATES and not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if name == "latency_ms" and value is not None:
            low, high = value
            if not 0 <= low <= high:
                raise ValueError(
                    f"latency_ms must be (low, high), 0 <= low <= high: {value!r}"
                )
            value = (float(low), float(high))
        if name in ("quota_per_s", "quota_burst") and value is not None:
            if not float(value) > 0:
                raise ValueError(f"{name} must be None or > 0, not {value!r}")
            value = float(value)
            object.__setattr__(self, "_bucket", None)  # a new quota starts full
        if name == "fail_event_indices":
            value = frozenset(int(i) for i in value)
        if name == "error_5xx_status" and value not in ERROR_5XX_TYPES:
            raise ValueError(
                f"error_5xx_status must be one of {sorted(ERROR_5XX_TYPES)}"
            )
        object.__setattr__(self, name, value)

    def seed(self, seed: int | None) -> None:
        """Reseed the generator behind every draw (``None``: from the OS)."""
        self._rng.seed(seed)

    def clear(self) -> None:
        """Turn every fault off and zero ``injected`` (the generator is kept)."""
        for name in _RATES:
            setattr(self, name, 0.0)
        self.latency_ms = None
        self.quota_per_s = None
        self.quota_burst = None
        self.drop_ws_every_s = None
        self.withhold_ka = False
        self.fail_event_indices = frozenset()
        self.injected.clear()

    def draw(self, kind: str, rate: float) -> bool:
        """True (and counted under ``kind``) with probability ``rate``."""
        if rate <= 0.0 or self._rng.random() >= rate:
            return False
        self.injected[kind] += 1
        return True

    def take_quota(self) -> bool:
        """Take one token of the quota bucket: False (counted) when it is empty."""
        rate = self.quota_per_s
        if rate is None:
            return True
        burst = self.quota_burst or max(1.0, rate / 10)
        now = self._clock()
        tokens, last = self._bucket if self._bucket is not None else (burst, now)
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            object.__setattr__(self, "_bucket", (tokens, now))
            self.injected["quota"] += 1
            return False
        object.__setattr__(self, "_bucket", (tokens - 1.0, now))
        return True

    def draw_latency(self) -> float:
        """Seconds to wait before answering (0.0 when no latency is set)."""
        if self.latency_ms is None:
            return 0.0
        low, high = self.latency_ms
        self.injected["latency"] += 1
        return self._rng.uniform(low, high) / 1000.0

    def record(self, kind: str) -> None:
        """Count a fault injected elsewhere (the real-time endpoint uses it)."""
        self.injected[kind] += 1
