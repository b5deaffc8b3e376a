"""An asyncio event loop whose clock is the replay's simulated time.

Hummingbot's executors, the paper exchange and ``StrategyV2Base`` all run on asyncio and wait
with ``asyncio.sleep`` (executor control loops every ``update_interval`` seconds, the paper
exchange's 0.01 s event delay, the 5 s shutdown pauses). Run on a real loop, two months of 1h
candles would take two months. :class:`VirtualTimeLoop` makes ``loop.time()`` the simulated
epoch time: when nothing is ready to run, the loop jumps straight to its next timer instead of
blocking, so every sleep completes instantly in wall time but in the right order in simulated
time. The replay driver advances it with :func:`advance_to`.

Nothing here knows about Hummingbot; it is a plain ``asyncio.SelectorEventLoop``.
"""

from __future__ import annotations

import asyncio
import collections
import selectors
from typing import Any


class _JumpingSelector(selectors.DefaultSelector):
    """Selector that polls without blocking and moves the owning loop's clock instead.

    ``BaseEventLoop._run_once`` passes the time left until the earliest timer as ``timeout``;
    a real selector would sleep that long. Here the loop's virtual clock jumps by it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if not ready and timeout is not None and timeout > 0 and self.loop is not None:
            self.loop.jump(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``SelectorEventLoop`` whose ``time()`` is simulated epoch seconds.

    Args:
        start_s: initial simulated time (epoch seconds, UTC).

    The loop never waits on the wall clock: a ``sleep(3600)`` returns as soon as every callback
    scheduled before it has run. Real I/O still works (sockets are polled without blocking), but
    a replay must not need any: a coroutine waiting on a socket with no timer pending would
    spin, so the driver always awaits a timer (:func:`advance_to`).
    """

    # asyncio.BaseEventLoop's own queues, read by has_work_until (typeshed does not list them)
    _ready: collections.deque[asyncio.Handle]
    _scheduled: list[asyncio.TimerHandle]

    def __init__(self, start_s: float) -> None:
        self._virtual_now = float(start_s)
        selector = _JumpingSelector()
        super().__init__(selector=selector)
        selector.loop = self
        # asyncio runs a timer when ``when < time() + _clock_resolution``. The monotonic clock's
        # 1 ns resolution is below the float spacing of epoch seconds (~0.24 us near 1.7e9), so
        # a timer due exactly "now" would never run; 1 us is above that spacing.
        self._clock_resolution = 1e-6

    def time(self) -> float:
        """Simulated epoch seconds (replaces the monotonic clock)."""
        return self._virtual_now

    def jump(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0); called by the selector only."""
        self._virtual_now += seconds

    def has_work_until(self, target_s: float) -> bool:
        """True while a callback is ready or a live timer is due at or before ``target_s``."""
        if self._ready:
            return True
        limit = target_s + self._clock_resolution
        return any(not h.cancelled() and h.when() <= limit for h in self._scheduled)


MAX_SETTLE_ROUNDS = 100_000
"""Loop iterations :func:`advance_to` allows at one instant before calling it a livelock."""


async def advance_to(target_s: float) -> None:
    """Let simulated time run up to ``target_s`` (epoch seconds) and settle there.

    Every callback and timer due at or before ``target_s`` runs, in time order, and so does
    everything they schedule for that same instant, before this returns. Without the settling
    step a task whose timer is due exactly at ``target_s`` could resume after the caller (the
    order of equal-time wake-ups is arbitrary), e.g. an executor would then react to a price
    only after the next clock tick. On return ``loop.time() >= target_s``.

    Raises:
        RuntimeError: the running loop is not a :class:`VirtualTimeLoop`, or tasks keep
            rescheduling themselves at one instant (``MAX_SETTLE_ROUNDS``).
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualTimeLoop):
        raise RuntimeError("advance_to needs a VirtualTimeLoop")
    await asyncio.sleep(max(0.0, target_s - loop.time()))
    for _ in range(MAX_SETTLE_ROUNDS):
        if not loop.has_work_until(target_s):
            return
        await asyncio.sleep(0)
    raise RuntimeError(f"tasks keep running at t={target_s}: a coroutine loops without sleeping")
