"""Decisions of a :class:`~.strategy_runtime.StrategyRuntime` on newly closed candles.

Decisions happen once per closed candle and pair: a candle is processed when
``timestamp + interval + candle_close_delay_s <= now`` (the delay lets the feed take the candle's
last trades) and it is newer than the last processed one; BTC's candle for the same time must be
closed too (features use it). A candle first seen more than ``max_decision_delay_s`` after it
closed (start-up, a feed outage) is skipped, logged, so an entry never acts on a stale signal.
Before the features, the candle guard (:mod:`ml_signals.candle_guard_live`) checks the window
they read (the pair's and BTC's last ``lookback_bars`` candles, 704 at 1h): a bad candle there
skips the pair's decision, logged once, counted in the runtime's ``format_status``
(:mod:`.runtime_status`), and the observers' ``bad_candles`` (a system alert) runs once per
episode. The features come from per-pair states pushed one closed candle at a time
(:class:`~ml_signals.incremental.IncrementalFeatures`, equal to ``compute_features`` on the same
frame); a skipped or failed decision drops the pair's state, the next decision rebuilds it from
its window. Each strategy's engine then evaluates the candle
(:meth:`ml_signals.decision.engine.StrategyEngine.evaluate`, through :mod:`.scoring_faults`); the
runtime hands the evaluations to its planner.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ml_signals.candle_guard_live import LiveCandleGuard
from ml_signals.candles import closed_frame
from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.decision.events import FeedStatus
from ml_signals.features import compute_features, lookback_bars, warmup_bars
from ml_signals.hummingbot.market_view import MarketView
from ml_signals.hummingbot.model_watch import ModelRefresh, Notify
from ml_signals.hummingbot.runtime_settings import RuntimeSettings
from ml_signals.hummingbot.scoring_faults import ScoringFaults
from ml_signals.incremental import IncrementalFeatures
from ml_signals.market_features import MarketState, add_market_row, needs_market
from ml_signals.regime import BtcRegime
from ml_signals.timeutil import format_utc

log = logging.getLogger(__name__)


@dataclass
class PairState:
    """What the runtime knows about one pair (shown by ``format_status``).

    Attributes:
        last_candle_ts: open time of the newest closed candle processed (s), ``None`` before.
        candles: closed candles in the last frame processed.
        evaluations: last setup evaluated per strategy.
        outcomes: what happened to it per strategy (entry placed / skip reason).
        note: the last warning for the pair (warm-up, stale candle, error), ``""`` if none.
    """

    last_candle_ts: int | None = None
    candles: int = 0
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    note: str = ""



class CandleDecisions:
    """Per-pair state and the evaluations of each newly closed candle (module docstring).

    Args:
        settings: markets and timing.
        engines: the runtime's engines by strategy (read, never replaced).
        faults: scoring faults of the engines (:mod:`.scoring_faults`).
        models: hot reload, expiry and shadows (:class:`~.model_watch.ModelRefresh`), checked
            once per closed candle.
        notify: the runtime's observer call, ``notify(hook_name, *args)``.

    Attributes:
        pairs: per trading pair, what the runtime knows (``format_status``).
        candle_guard: the live candle guard of the features' window.
        features: per-pair incremental feature states; ``None`` when
            ``settings.incremental_features`` is off.
        btc_regime: BTC's regime on the newest candle evaluated (``NEUTRAL`` before).
        feeds: what the feeds delivered so far (passed to the observers' ``tick``).
    """

    def __init__(self, settings: RuntimeSettings, engines: Mapping[str, StrategyEngine],
                 faults: ScoringFaults, models: ModelRefresh, notify: Notify) -> None:
        self.settings = settings
        self.pairs = {pair: PairState() for pair in settings.trading_pairs}
        self.candle_guard = LiveCandleGuard(settings.interval_s,
                                            lookback_bars(settings.interval_s),
                                            settings.btc_pair, settings.max_candle_move_frac)
        self.features = (IncrementalFeatures(settings.interval_s, settings.btc_pair)
                         if settings.incremental_features else None)
        self.btc_regime = BtcRegime.NEUTRAL
        self._engines = engines
        self._faults = faults
        self._models = models
        self._notify = notify
        self._warmup = warmup_bars(settings.interval_s)
        self._newest_closed: dict[str, int] = {}
        self.feeds = FeedStatus(settings.interval_s, MappingProxyType(self._newest_closed),
                                settings.feed_pairs)

    def evaluate_new_candles(self, now_s: float, view: MarketView) -> list[Evaluation]:
        """Evaluations of the candles closed since the last call, every pair and strategy
        (usually none: most ticks close no candle); skipped candles are noted per pair."""
        s = self.settings
        decided_until = now_s - s.candle_close_delay_s
        # open time of the newest candle that can be closed now: nothing to read before it
        due = (int(decided_until) // s.interval_s - 1) * s.interval_s
        if all(st.last_candle_ts is not None and st.last_candle_ts >= due
               for st in self.pairs.values()):
            return []
        self._models.on_candle(due, self._engines, now_s, self._notify)
        btc = self._closed(view, s.btc_pair, decided_until)
        if btc is None or len(btc) == 0:
            return []
        btc_last = int(btc["timestamp"].iloc[-1])
        self._saw(s.btc_pair, btc_last)
        market, market_note = self._market_state(view, decided_until)
        evaluations: list[Evaluation] = []
        for pair, state in self.pairs.items():
            frame = btc if pair == s.btc_pair else self._closed(view, pair, decided_until)
            if frame is None or len(frame) == 0:
                continue
            last = int(frame["timestamp"].iloc[-1])
            self._saw(pair, last)
            if state.last_candle_ts is not None and last <= state.last_candle_ts:
                continue
            if btc_last < last:
                continue  # BTC's candle for this time is not in yet: decide on a later tick
            state.last_candle_ts, state.candles = last, len(frame)
            late_s = now_s - (last + s.interval_s)
            if late_s > s.max_decision_delay_s:
                state.note = (f"candle {format_utc(last)} seen {late_s:.0f} s after its close: "
                              "skipped")
                log.info("%s: %s", pair, state.note)
                continue
            if len(frame) <= self._warmup:
                state.note = f"warming up: {len(frame)} of {self._warmup + 1} candles"
                continue
            reference = None if pair == s.btc_pair else _reference(btc, btc_last, last)
            if self._guard_candles(pair, state, frame, reference, now_s):
                continue
            if market_note:
                state.note = market_note  # a model reads market inputs the feeds cannot give
                continue
            evaluations.extend(self._evaluate_pair(pair, state, frame, reference, now_s,
                                                   market))
        return evaluations

    def _market_state(self, view: MarketView, until_s: float) -> tuple[MarketState | None, str]:
        """Market state over every fed pair's closed candles when a loaded model reads it, and
        ``""``; ``(None, "")`` when none does; ``(None, reason)`` (logged) when one does but
        too few pairs have candles: those candles are skipped, never scored on NaN."""
        if not any(needs_market(e.scorer.input_columns) for e in self._engines.values()):
            return None, ""
        frames = {}
        for pair in self.settings.feed_pairs:
            frame = self._closed(view, pair, until_s)
            if frame is not None and len(frame):
                frames[pair] = frame[["timestamp", "close"]]
        try:
            return MarketState(frames), ""
        except ValueError as exc:
            note = f"decision skipped: market features unavailable ({exc}; set universe_pairs)"
            log.warning(note)
            return None, note

    def _guard_candles(self, pair: str, state: PairState, frame: pd.DataFrame,
                       reference: pd.DataFrame | None, now_s: float) -> bool:
        """True (decision skipped, noted, alerted once per episode) when the candle guard finds
        a bad candle in the window the features would read (``reference``: BTC's candles up to
        the decision candle, ``None`` for BTC itself)."""
        skip = self.candle_guard.check(pair, frame, reference, now_s)
        if skip is None:
            return False
        if self.features is not None:  # rebuilt from the window once it is clean
            self.features.reset(skip.bad_pair)
        state.note = f"decision skipped: bad candle {skip.bad.when} ({skip.bad.rule})"
        if skip.episode_start:
            self._notify("bad_candles", skip)
        return True

    def _saw(self, pair: str, candle_ts: int) -> None:
        """Note the newest closed candle read from ``pair``'s feed (for the observers' tick)."""
        if candle_ts > self._newest_closed.get(pair, candle_ts - 1):
            self._newest_closed[pair] = candle_ts

    def _closed(self, view: MarketView, pair: str, until_s: float) -> pd.DataFrame | None:
        """Closed candles of ``pair``, or ``None`` (logged once per problem) when the feed
        cannot give them."""
        try:
            return closed_frame(view.candles(pair), self.settings.interval_s, until_s)
        except Exception as exc:  # noqa: BLE001 - a bad or missing feed skips the pair
            note = f"candles unavailable: {exc}"
            if self.features is not None:
                self.features.reset(pair)
            state = self.pairs.get(pair)
            if state is None or state.note != note:
                log.warning("%s: %s", pair, note)
            if state is not None:
                state.note = note
            return None

    def _evaluate_pair(self, pair: str, state: PairState, frame: pd.DataFrame,
                       reference: pd.DataFrame | None, now_s: float,
                       market: MarketState | None = None) -> list[Evaluation]:
        s = self.settings
        try:
            if self.features is not None:
                features = self.features.features(pair, frame, reference)
            else:
                features = compute_features(frame, reference, s.interval_s)
            if market is not None:
                features = add_market_row(features, market, pair,
                                          int(frame["timestamp"].to_numpy("int64")[-1]))
            regime = features["btc_regime"].iloc[-1]
            if not math.isnan(regime):
                self.btc_regime = BtcRegime(int(regime))
            found = []
            for strategy, engine in self._engines.items():
                evaluation = self._faults.evaluate(engine, pair, frame, features, now_s)
                if evaluation is not None:
                    state.evaluations[strategy] = evaluation
                    found.append(evaluation)
                    self._models.shadow(engine, evaluation, features.iloc[-1], now_s,
                                        self._notify, frame)
        except Exception as exc:  # noqa: BLE001 - logged safe skip of this pair's candle
            if self.features is not None:
                self.features.reset(pair)
            state.note = f"error on candle {format_utc(int(frame['timestamp'].iloc[-1]))}: {exc}"
            log.exception("%s: decision failed; candle skipped", pair)
            return []
        state.note = ""
        return found


def _reference(btc: pd.DataFrame, btc_last: int, last: int) -> pd.DataFrame:
    """BTC's closed candles up to the pair's decision candle ``last`` (open time, s): ``btc``
    itself when its newest candle ``btc_last`` is no newer (every row qualifies, so the guard
    and the features read the one frame the BTC decision read), else its rows up to ``last``
    (``btc`` is canonical: sorted, so a prefix)."""
    if btc_last <= last:
        return btc
    end = int(np.searchsorted(btc["timestamp"].to_numpy(), last, side="right"))
    return btc.iloc[:end]
