"""Backtests of a training run: every scope x mode x slice, on the same setups for rules and ML.

Slices: ``oof`` = rows scored by a walk-forward test fold (``fold > 0``), ``quarantine`` = the
newest 30 days scored once by the published model (``fold == -1``). The rules-only baseline
runs on exactly the rows of the ML run's slice (same setups, same window), so the two differ
only by what the model does: filter (confidence threshold), size and exits.

The combined portfolio holds the three strategies with the orchestrator's allocation
(``BacktestConfig.combined_weights``: dca 0.5 / swing 0.3 / channel 0.2). Its ``oof`` window is
the span every strategy's folds cover (from the latest first-fold start to the earliest
last-fold setup), so no strategy trades alone at either end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from ml_signals.orchestration import AllocationConfig, StrategyOrchestrator
from ml_signals.risk import RiskManager
from ml_signals.setups import STRATEGIES
from training.backtest.book import Book
from training.backtest.candidates import Candidates, build_candidates
from training.backtest.config import COMBINED, BacktestConfig, Mode, SliceName
from training.backtest.equity import equity_curve
from training.backtest.market import Market
from training.backtest.portfolio import PortfolioRun
from training.backtest.result import BacktestResult, skipped_frame, trades_frame
from training.backtest.stats import headline
from training.labels.outcomes import FeeSchedule
from training.pipeline import TrainingRun

log = logging.getLogger(__name__)

ResultKey = tuple[str, str, str]
"""``(scope, mode, slice)``: scope a strategy or ``"combined"``; mode ``"rules"`` / ``"ml"``;
slice ``"oof"`` / ``"quarantine"``."""


def market_for(run: TrainingRun, config: BacktestConfig) -> Market:
    """Candle arrays of the run's pairs with the BTC regime from its features."""
    btc = run.features.get(run.btc_pair)
    regime = btc.features["btc_regime"] if btc is not None else None
    stamps = btc.candles.frame["timestamp"].to_numpy() if btc is not None else None
    return Market.build(run.candle_sets, regime, stamps, config.slippage)


def slice_mask(fold: npt.NDArray[np.int64], slice_name: SliceName) -> npt.NDArray[np.bool_]:
    """Rows of a slice: ``fold > 0`` for ``oof``, ``fold == -1`` for ``quarantine``."""
    return fold > 0 if slice_name == "oof" else fold == -1


@contextmanager
def quiet_guards() -> Iterator[None]:
    """Silence the guards' WARNING per lock for the duration (a backtest trips them often;
    the locks are kept in ``BacktestResult.locks``)."""
    logger = logging.getLogger("ml_signals.risk")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_backtests(run: TrainingRun,
                  config: BacktestConfig | None = None) -> dict[ResultKey, BacktestResult]:
    """Every configured scope x mode x slice of ``run`` (scopes whose strategies the run lacks
    are left out; ``combined`` takes the strategies the run has).

    Raises:
        LookAheadError: an ML score comes from a model whose training labels reach the setup's
            decision time (see :func:`training.backtest.candidates.check_no_look_ahead`).
    """
    config = config or BacktestConfig()
    market = market_for(run, config)
    have = [s for s in STRATEGIES if s in run.strategies]
    cands: dict[tuple[str, Mode], Candidates] = {}
    for strategy in have:
        sr = run.strategies[strategy]
        fold = sr.result.oof["fold"].to_numpy(dtype=np.int64)
        version = sr.artifact.name if sr.artifact is not None else "oof"
        for mode in config.modes:
            cands[(strategy, mode)] = build_candidates(
                sr.dataset, sr.result.oof, sr.scoring, mode, market, config, run.fees,
                rows=fold != 0, model_version=version,
                exit_source=sr.exit_choice.get("source", "model"),
                size_source=sr.sizing_choice.get("source", "rank"))
    results: dict[ResultKey, BacktestResult] = {}
    for slice_name in config.slices:
        masks = {s: slice_mask(cands[(s, config.modes[0])].fold, slice_name) for s in have}
        for scope in config.scopes:
            members = have if scope == COMBINED else [scope] if scope in have else []
            if not members:
                continue
            scope_masks = _common_window(
                {s: masks[s] for s in members}, cands, config.modes[0]) \
                if scope == COMBINED and slice_name == "oof" else masks
            for mode in config.modes:
                parts = [(cands[(s, mode)], scope_masks[s]) for s in members]
                results[(scope, mode, slice_name)] = backtest(
                    parts, market, config, run.fees, scope, mode, slice_name)
    return results


def _common_window(masks: dict[str, npt.NDArray[np.bool_]],
                   cands: dict[tuple[str, Mode], Candidates],
                   mode: Mode) -> dict[str, npt.NDArray[np.bool_]]:
    """Restrict each strategy's rows to the time span all of them cover."""
    spans = [(cands[(s, mode)].decision_s[m].min(), cands[(s, mode)].decision_s[m].max())
             for s, m in masks.items() if m.any()]
    if not spans:
        return masks
    lo, hi = max(a for a, _ in spans), min(b for _, b in spans)
    return {s: m & (cands[(s, mode)].decision_s >= lo) & (cands[(s, mode)].decision_s <= hi)
            for s, m in masks.items()}


def backtest(parts: Sequence[tuple[Candidates, npt.NDArray[np.bool_]]], market: Market,
             config: BacktestConfig, fees: FeeSchedule, scope: str, mode: Mode,
             slice_name: SliceName) -> BacktestResult:
    """One portfolio run over the masked candidates of one or more strategies.

    Args:
        parts: per strategy, its candidates (of ``mode``) and the rows to trade.
        scope: a strategy name, or ``"combined"`` (orchestrator + ``combined_risk``).
        fees: the run's fees (``config`` may override them).
    """
    strategies = tuple(c.strategy for c, _ in parts)
    book = Book.merge(parts)
    combined = scope == COMBINED
    risk = RiskManager(config.combined_risk if combined else config.risk)
    orchestrator = None
    if combined:
        weights = {s: w for s, w in config.combined_weights.items() if s in strategies}
        orchestrator = StrategyOrchestrator(AllocationConfig(
            total_capital_quote=config.start_capital_quote, reserve_frac=config.reserve_frac,
            weights=weights))
    taker = fees.taker_frac if config.taker_fee_frac is None else config.taker_fee_frac
    sim = PortfolioRun(book, market, risk, orchestrator, config.start_capital_quote, taker,
                       config.cancel_unfilled_after_s, config.cancel_unfilled_when_blocked)
    with quiet_guards():
        ledger = sim.run()
    trades = trades_frame(book, ledger, market)
    skipped = skipped_frame(book, ledger)
    step = config.equity_interval_s
    if len(book):
        first, last = int(book.decision_s[0]), int(book.decision_s[-1])
    else:
        first = last = market.data_end_s
    ends = [last, *(e for _, e, _, _ in ledger.opened.values() if np.isfinite(e))]
    if (trades["exit_reason"] == "OPEN_AT_END").any():
        ends.append(market.data_end_s)
    start_s = first // step * step
    equity = equity_curve(book, ledger.opened, market, config.start_capital_quote, start_s,
                          int(max(ends)), step)
    stats = headline(trades, skipped, equity, config.start_capital_quote, strategies)
    stats["engine_realised_pnl_quote"] = ledger.realised_quote
    stats["engine_fees_quote"] = ledger.fees_quote
    log.info("%s %s %s: %d trades, return %.2f%%", scope, mode, slice_name, stats["trades"],
             100 * stats["total_return_frac"])
    return BacktestResult(trades=trades, skipped=skipped, equity=equity, stats=stats,
                          config=config, mode=mode, slice_name=slice_name,
                          strategies=strategies, scope=scope, window_s=(first, last),
                          locks=tuple(ledger.locks))
