"""Data-flow watchdog: raise :class:`CandlesStale` once per stall of a pair's candle feed.

Original plan, "Data Health Monitoring / data_flow": check every 5 minutes, alert if no data for
10 minutes, Slack alert @channel. The caller reports when each feed last delivered data
(:meth:`CandleWatchdog.observe`) and asks :meth:`CandleWatchdog.check` with its own clock; the
watchdog never reads the time itself.

"Data" means the feed updated (a new or revised candle), not a candle closing: with 1-hour
candles the newest *closed* candle is legitimately up to an hour old.
"""

from __future__ import annotations

from ml_signals.alerts.events import CandlesStale

PLAN_MAX_SILENCE_S = 600.0
"""10 minutes, original plan "Data Health Monitoring"."""


class CandleWatchdog:
    """Per-pair silence detector.

    Args:
        max_silence_s: alert when a pair has had no data for longer than this (s).

    A pair alerts once per stall; new data re-arms it.
    """

    def __init__(self, max_silence_s: float = PLAN_MAX_SILENCE_S) -> None:
        if max_silence_s <= 0:
            raise ValueError(f"max_silence_s must be > 0, got {max_silence_s}")
        self._max_silence_s = max_silence_s
        self._last: dict[str, float] = {}
        self._alerted: set[str] = set()

    def observe(self, pair: str, last_update_s: float) -> None:
        """Record that ``pair``'s feed delivered data at ``last_update_s`` (UTC s)."""
        previous = self._last.get(pair)
        if previous is None or last_update_s > previous:
            self._last[pair] = last_update_s
            self._alerted.discard(pair)

    def check(self, now_s: float) -> list[CandlesStale]:
        """New stalls at ``now_s``: pairs silent for more than ``max_silence_s`` not yet alerted."""
        stale = []
        for pair, last in sorted(self._last.items()):
            if pair not in self._alerted and now_s - last > self._max_silence_s:
                self._alerted.add(pair)
                stale.append(CandlesStale(pair=pair, last_update_s=last, occurred_s=now_s,
                                          threshold_s=self._max_silence_s))
        return stale
