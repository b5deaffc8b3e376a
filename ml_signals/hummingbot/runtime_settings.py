"""The market and timing settings of a :class:`~.strategy_runtime.StrategyRuntime`.

A script builds them from its config (:meth:`~.script_config.MlScriptConfigBase.runtime_settings`);
the runtime, its candle decisions (:mod:`.candle_decisions`) and its market view
(:mod:`.market_view`) read them. Times in seconds, fractions as 0.50 = 50 %.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_signals.candle_guard import DEFAULT_MAX_MOVE_FRAC
from ml_signals.hummingbot import scoring_faults


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """Market and timing settings of a runtime (from the script config).

    Attributes:
        connector_name: trading connector, e.g. ``"kraken_paper_trade"``.
        candles_connector: candles source, e.g. ``"kraken"``.
        trading_pairs: pairs to trade.
        btc_pair: BTC pair for the regime and BTC features (its candles are always fed).
        interval: candle interval name, ``"1h"``; interval_s: its length in seconds.
        max_records: candles kept per feed (<= 720).
        capital_quote: capital the bot manages; equity = capital + realised + unrealised PnL.
        candle_close_delay_s: wait after a candle's close before deciding on it.
        max_decision_delay_s: skip a candle first seen later than this after its close.
        cancel_unfilled_after_s: stop an executor whose entry has not filled after this many
            seconds; ``None``: only the executor's own time limit.
        max_candle_move_frac: candle guard bound on a one-candle move (close-to-close and open
            vs previous close), fraction; 0.50 = 50 %, the original plan's.
        max_scoring_failures: setups in a row a strategy may fail to evaluate before it halts
            (:mod:`.scoring_faults`).
        universe_pairs: extra pairs fed only for the market-state inputs
            (:mod:`ml_signals.market_features`) of a model trained with them; the trading and
            BTC pairs count in the universe too.
        incremental_features: features from per-pair states updated one closed candle at a
            time (:mod:`ml_signals.incremental`, about 0.4 ms per pair and candle); ``False``:
            ``compute_features`` on the whole frame each time (about 10 ms), the reference the
            incremental path is tested against.
    """

    connector_name: str
    candles_connector: str
    trading_pairs: tuple[str, ...]
    btc_pair: str
    interval: str
    interval_s: int
    max_records: int
    capital_quote: float
    candle_close_delay_s: int = 5
    max_decision_delay_s: int = 900
    cancel_unfilled_after_s: int | None = None
    max_candle_move_frac: float = DEFAULT_MAX_MOVE_FRAC
    max_scoring_failures: int = scoring_faults.DEFAULT_MAX_SCORING_FAILURES
    universe_pairs: tuple[str, ...] = ()
    incremental_features: bool = True

    @property
    def feed_pairs(self) -> tuple[str, ...]:
        """Pairs needing a candles feed: the trading pairs, BTC if not among them, then the
        universe pairs not already fed."""
        out = list(self.trading_pairs)
        for pair in (self.btc_pair, *self.universe_pairs):
            if pair not in out:
                out.append(pair)
        return tuple(out)
