"""Portfolio backtester: the live rules (scorer, sizing, risk guards, orchestration) over the
setups of a training run, with exits replayed by the executor kernel.

Entry point::

    from training.backtest import BacktestConfig, run_backtests
    results = run_backtests(training_run, BacktestConfig())
    results[("combined", "ml", "oof")].stats["sharpe"]

Modules: ``config`` (settings), ``market`` (candle arrays, slippage, BTC regime),
``candidates`` (scores, sizing, kernel outcomes, look-ahead check), ``book`` (merged
candidates), ``portfolio`` (event loop), ``equity`` (hourly curve), ``stats``, ``result`` (the
``BacktestResult`` contract), ``run`` (all scopes / modes / slices), ``hummingbot_sim``
(Hummingbot's own simulators, for parity; the only Hummingbot import). Parity with Hummingbot's
simulators: ``parity.md``.
"""

from training.backtest.candidates import Candidates, LookAheadError, build_candidates
from training.backtest.config import BacktestConfig, SlippageConfig
from training.backtest.result import SKIP_COLUMNS, TRADE_COLUMNS, BacktestResult
from training.backtest.run import backtest, market_for, run_backtests

__all__ = [
    "SKIP_COLUMNS",
    "TRADE_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "Candidates",
    "LookAheadError",
    "SlippageConfig",
    "backtest",
    "build_candidates",
    "market_for",
    "run_backtests",
]
