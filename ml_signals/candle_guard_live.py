"""The candle guard on the live decision path: skip a pair's decision while bad candles are in
the window its features read, log each bad candle once, and mark the start of each episode.

Window: the decision candle and every candle its features read,
(:func:`ml_signals.features.lookback_bars`: 704 at 1h), of the pair and of the BTC reference
(BTC's candles up to the decision candle's time feed the regime and BTC features). Training
drops the setups whose feature window touches a bad candle over the same window
(:mod:`training.data.bad_windows`), so live and training skip the same decisions.

An **episode** starts with the first skipped decision of a pair and ends at the pair's next
decision whose window is clean. A bad candle stays in the window until ``window_bars`` newer
candles closed (about 29 days at 1h), so one bad candle skips up to that many decisions in
one episode: each bad candle is logged once (WARNING, with pair, candle time, rule and values),
every skip is counted, and the runtime sends one system alert per episode.

No Hummingbot import: the runtime (:mod:`ml_signals.hummingbot.candle_decisions`) calls
:meth:`LiveCandleGuard.check`; executors already open are left to Hummingbot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from ml_signals.candle_guard import DEFAULT_MAX_MOVE_FRAC, BadCandle, WindowCheck
from ml_signals.timeutil import format_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CandleGuardSkip:
    """A pair's decision skipped because its feature window holds a bad candle.

    Attributes:
        pair: the pair whose decision was skipped.
        decision_candle_s: open time (s, UTC) of the newly closed candle the decision was for.
        bad_pair: the pair whose candle is bad: ``pair`` itself or the BTC reference.
        bad: the newest bad candle in the window (time, rule, values).
        bad_in_window: bad candles in the window (that pair's).
        window_bars: candles in the feature window.
        clear_from_s: open time of the first decision candle whose window no longer holds
            ``bad`` (``bad`` + ``window_bars`` candles), if no newer bad candle arrives.
        occurred_s: clock time of the skip (s).
        episode_start: True for the first skip of an episode (the runtime alerts on it).
        episode_skips: decisions skipped in this episode so far, this one included.
    """

    pair: str
    decision_candle_s: int
    bad_pair: str
    bad: BadCandle
    bad_in_window: int
    window_bars: int
    clear_from_s: int
    occurred_s: float
    episode_start: bool
    episode_skips: int

    @property
    def reason(self) -> str:
        """One line for logs, status and alerts."""
        whose = "" if self.bad_pair == self.pair else f" of {self.bad_pair}"
        more = f" ({self.bad_in_window} bad in the window)" if self.bad_in_window > 1 else ""
        return (f"{self.pair} decision on candle {format_utc(self.decision_candle_s)} skipped: "
                f"bad candle{whose} {self.bad.when}: {self.bad.rule}: {self.bad.detail}{more}; "
                f"decisions resume from candle {format_utc(self.clear_from_s)} "
                f"({self.window_bars}-candle feature window)")


class LiveCandleGuard:
    """Per-pair candle guard state of one runtime.

    Args:
        interval_s: candle length (s).
        window_bars: feature window, ``warmup_bars(interval_s) + 1``.
        btc_pair: the BTC reference pair.
        max_move_frac: one-candle move bound, fraction (0.50 = 50 %; the original plan's).

    Raises:
        ValueError: ``window_bars`` < 1, ``interval_s`` not > 0 or ``max_move_frac`` not a
            finite fraction > 0.
    """

    def __init__(self, interval_s: int, window_bars: int, btc_pair: str,
                 max_move_frac: float = DEFAULT_MAX_MOVE_FRAC) -> None:
        if window_bars < 1:
            raise ValueError(f"window_bars must be >= 1, got {window_bars}")
        self.interval_s = interval_s
        self.window_bars = window_bars
        self.btc_pair = btc_pair
        self.max_move_frac = max_move_frac
        self.skipped: dict[str, int] = {}
        """Decisions skipped per pair since start."""
        self.episodes: dict[str, int] = {}
        """Episodes started per pair since start."""
        self.last: dict[str, CandleGuardSkip] = {}
        """The latest skip per pair."""
        self._open: dict[str, int] = {}  # pair -> skips in its open episode
        self._logged: set[tuple[str, str, int | None, str]] = set()
        self._windows = WindowCheck(interval_s, window_bars, max_move_frac)
        """Flags each candle once (:class:`~ml_signals.candle_guard.WindowCheck`)."""

    def check(self, pair: str, frame: pd.DataFrame, btc_frame: pd.DataFrame | None,
              now_s: float) -> CandleGuardSkip | None:
        """Guard the decision on ``frame``'s newest candle: ``None`` when the pair's window
        and BTC's are clean (closing any open episode), else the skip (logged, counted).

        Args:
            pair: the pair deciding.
            frame: the pair's closed canonical candles, newest last (the features' input).
            btc_frame: BTC's closed candles up to the same time; ``None`` when ``pair`` is BTC.
            now_s: clock time (s).
        """
        decision_s = int(frame["timestamp"].iloc[-1])
        found, count, bad_pair = self._find(pair, frame, btc_frame)
        if found is None:
            if pair in self._open:
                log.info("%s: feature window clean again on candle %s after %d skipped "
                         "decision(s)", pair, format_utc(decision_s), self._open.pop(pair))
            return None
        episode_start = pair not in self._open
        self._open[pair] = self._open.get(pair, 0) + 1
        self.skipped[pair] = self.skipped.get(pair, 0) + 1
        if episode_start:
            self.episodes[pair] = self.episodes.get(pair, 0) + 1
        bad_ts = found.timestamp_s if found.timestamp_s is not None else decision_s
        skip = CandleGuardSkip(
            pair=pair, decision_candle_s=decision_s, bad_pair=bad_pair, bad=found,
            bad_in_window=count, window_bars=self.window_bars,
            clear_from_s=bad_ts + self.window_bars * self.interval_s, occurred_s=now_s,
            episode_start=episode_start, episode_skips=self._open[pair])
        self.last[pair] = skip
        key = (pair, bad_pair, found.timestamp_s, found.rule)
        if key in self._logged:
            log.debug("%s", skip.reason)
        else:
            self._logged.add(key)
            log.warning("%s", skip.reason)
        return skip

    def _find(self, pair: str, frame: pd.DataFrame,
              btc_frame: pd.DataFrame | None) -> tuple[BadCandle | None, int, str]:
        """The newest bad candle of the pair's window, else of BTC's, with the count."""
        found, count = self._windows.newest_bad(pair, frame)
        if found is not None or btc_frame is None or len(btc_frame) == 0:
            return found, count, pair
        found, count = self._windows.newest_bad(self.btc_pair, btc_frame)
        return found, count, self.btc_pair

    def in_episode(self, pair: str) -> bool:
        """True while ``pair``'s latest decision was skipped."""
        return pair in self._open

    def status_line(self, pair: str) -> str | None:
        """``"candle guard: 3 decisions skipped in 1 episode(s); now: <reason>"`` or ``None``
        when the pair never skipped."""
        skipped = self.skipped.get(pair, 0)
        if not skipped:
            return None
        now = (f"now: {self.last[pair].reason}" if pair in self._open
               else f"last: {self.last[pair].reason}")
        return (f"candle guard: {skipped} decision(s) skipped in {self.episodes[pair]} "
                f"episode(s); {now}")

    def summary_line(self) -> str:
        """One line over all pairs for the status."""
        total = sum(self.skipped.values())
        if not total:
            return (f"Candle guard: no decision skipped (window {self.window_bars} candles, "
                    f"move bound {self.max_move_frac:.0%}).")
        return (f"Candle guard: {total} decision(s) skipped on {len(self.skipped)} pair(s), "
                f"{len(self._open)} pair(s) skipping now (window {self.window_bars} candles, "
                f"move bound {self.max_move_frac:.0%}).")
