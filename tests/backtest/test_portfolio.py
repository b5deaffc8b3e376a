"""Portfolio invariants, guard effects and the no-look-ahead rule on a real training run."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ml_signals.orchestration import AllocationConfig, StrategyOrchestrator
from ml_signals.regime import BtcRegime
from ml_signals.risk import RiskConfig
from training.backtest import (
    TRADE_COLUMNS,
    BacktestConfig,
    LookAheadError,
    SlippageConfig,
    build_candidates,
    market_for,
    run_backtests,
)
from training.backtest.stats import CLOSED_REASONS

FREE = RiskConfig(max_open_positions=None, max_positions_per_pair=None, max_exposure_quote=None,
                  daily_loss_stop_frac=None, consecutive_losses=None, crash_pause=False,
                  kill_switch_min_hit_rate_frac=None)
"""Every guard off: each setup of the slice is entered."""


def unconstrained(**overrides) -> BacktestConfig:
    """Rules that let every setup trade on its own: huge capital, no guard, no cancel."""
    settings = dict(start_capital_quote=1e9, amount_scale=1.0, risk=FREE, combined_risk=FREE,
                    cancel_unfilled_after_s=None, cancel_unfilled_when_blocked=False,
                    scopes=("dca", "channel"))
    settings.update(overrides)
    return BacktestConfig(**settings)


@pytest.fixture(scope="module")
def default_results(training_run):
    return run_backtests(training_run, BacktestConfig())


def _intervals(trades: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    start = trades["placed_s"].to_numpy(dtype=float)
    end = trades["exit_ts"].to_numpy(dtype=float)
    return start, np.where(np.isnan(end), np.inf, end)


def _max_concurrent(trades: pd.DataFrame) -> int:
    start, end = _intervals(trades)
    return max([int(((start <= t) & (end > t)).sum()) for t in start] + [0])


def test_results_cover_every_scope_mode_and_slice(default_results):
    assert set(default_results) == {(scope, mode, sl) for scope in ("dca", "channel", "combined")
                                    for mode in ("rules", "ml") for sl in ("oof", "quarantine")}
    for result in default_results.values():
        assert tuple(result.trades.columns[:len(TRADE_COLUMNS)]) == TRADE_COLUMNS
        assert result.equity["timestamp"].diff().dropna().eq(3600).all()


def test_accounting_invariants(default_results):
    for key, r in default_results.items():
        t, eq, stats = r.trades, r.equity, r.stats
        start = r.config.start_capital_quote
        assert eq["cash_quote"].min() >= -1e-9, key
        # PnL: final equity - start = closed PnL + open positions marked at the last close
        assert eq["equity_quote"].iat[-1] - start == pytest.approx(t["net_pnl_quote"].sum(),
                                                                   abs=1e-6), key
        closed = t["exit_reason"].isin(CLOSED_REASONS)
        assert stats["engine_realised_pnl_quote"] == pytest.approx(
            t.loc[closed, "net_pnl_quote"].sum(), abs=1e-6), key
        # fees: what the event loop paid = the trades' fees; the balance path agrees
        assert stats["engine_fees_quote"] == pytest.approx(t["fees_quote"].sum(), abs=1e-9), key
        open_end = t["exit_reason"] == "OPEN_AT_END"
        expected_cash = start + t.loc[closed, "net_pnl_quote"].sum() - (
            t.loc[open_end, "amount_quote"] + t.loc[open_end, "fees_quote"]).sum()
        assert eq["cash_quote"].iat[-1] == pytest.approx(expected_cash, abs=1e-6), key
        # every filled position closes or is marked open at the end; unfilled ones book nothing
        filled = t["amount_quote"] > 0
        assert (closed | open_end)[filled].all(), key
        nf = t["exit_reason"] == "NOT_FILLED"
        assert (t.loc[nf, ["amount_quote", "net_pnl_quote", "fees_quote"]] == 0).all().all(), key
        assert (t.loc[closed, "exit_ts"] >= t.loc[closed, "entry_ts"]).all(), key
        assert (t.loc[filled, "entry_ts"] >= t.loc[filled, "decision_s"]).all(), key
        assert (t["placed_s"] == t["decision_s"]).all(), key


def test_headline_trade_figures_are_recomputed_from_the_closed_trades(default_results):
    """Win rate, expectancy, profit factor and the capital-weighted return of every run (and of
    each strategy in it) equal their definitions applied by hand to its closed trades."""
    checked = 0
    for key, r in default_results.items():
        for strategy, stats in [(None, r.stats), *r.stats["per_strategy"].items()]:
            trades = r.trades if strategy is None else r.trades[r.trades["strategy"] == strategy]
            closed = trades[trades["exit_reason"].isin(CLOSED_REASONS)]
            if closed.empty:
                continue
            pnl = closed["net_pnl_quote"].to_numpy(dtype=float)
            ret = closed["net_return_frac"].to_numpy(dtype=float)
            assert stats["trades"] == len(closed), (key, strategy)
            assert stats["win_rate"] == pytest.approx((ret > 0).mean()), (key, strategy)
            assert stats["expectancy_frac"] == pytest.approx(ret.mean()), (key, strategy)
            assert stats["weighted_return_frac"] == pytest.approx(
                pnl.sum() / closed["amount_quote"].sum()), (key, strategy)
            if (pnl < 0).any():
                assert stats["profit_factor"] == pytest.approx(
                    pnl[pnl > 0].sum() / -pnl[pnl < 0].sum()), (key, strategy)
            checked += 1
    assert checked >= len(default_results)


def test_guards_hold_on_real_runs(default_results, training_run):
    market = market_for(training_run, BacktestConfig())
    for key, r in default_results.items():
        t = r.trades
        risk = r.config.combined_risk if key[0] == "combined" else r.config.risk
        assert _max_concurrent(t) <= risk.max_open_positions, key
        assert r.equity["open_positions"].max() <= risk.max_open_positions, key
        start, end = _intervals(t)
        committed = t["committed_quote"].to_numpy()
        pairs = t["pair"].to_numpy()
        for i in range(len(t)):
            live = (start <= start[i]) & (end > start[i])
            assert committed[live].sum() <= risk.max_exposure_quote + 1e-9, key
            assert (pairs[live] == pairs[i]).sum() == 1, key  # one position per pair
            assert market.regime_at(int(start[i])) != BtcRegime.CRASH, key
        for lock in r.locks:
            until = np.inf if lock.until_s is None else lock.until_s
            assert not ((start >= lock.locked_at_s) & (start < until)).any(), (key, lock)
        if key[0] == "combined":
            orch = StrategyOrchestrator(AllocationConfig(
                total_capital_quote=r.config.start_capital_quote, weights=dict(
                    (s, w) for s, w in r.config.combined_weights.items() if s in r.strategies)))
            for i in range(len(t)):
                live = (start <= start[i]) & (end > start[i])
                mine = live & (t["strategy"].to_numpy() == t["strategy"].iat[i])
                assert committed[mine].sum() <= orch.capital_for(t["strategy"].iat[i]) + 1e-9


def test_one_open_position_means_no_overlap(training_run):
    config = BacktestConfig(risk=RiskConfig(max_open_positions=1,
                                            kill_switch_min_hit_rate_frac=None),
                            scopes=("dca", "channel"), slices=("oof",))
    for key, r in run_backtests(training_run, config).items():
        start, end = _intervals(r.trades.sort_values("placed_s"))
        assert (start[1:] >= end[:-1]).all(), key
        assert len(r.trades) > 1 and (r.skipped["reason"] == "max_open_positions").any(), key


def test_daily_loss_stop_blocks_only_after_the_loss(training_run):
    limit = 0.004
    config = BacktestConfig(risk=RiskConfig(daily_loss_stop_frac=limit,
                                            kill_switch_min_hit_rate_frac=None),
                            scopes=("dca",), modes=("rules",), slices=("oof",),
                            equity_interval_s=3600)
    r = run_backtests(training_run, config)[("dca", "rules", "oof")]
    eq = r.equity.set_index("timestamp")["equity_quote"]
    blocked = r.skipped[r.skipped["reason"] == "daily_loss"]
    assert len(blocked) > 0
    for t in blocked["decision_s"]:
        day_start = eq.loc[t // 86_400 * 86_400] if t // 86_400 * 86_400 in eq.index else \
            eq.iloc[0]
        assert eq.loc[t] - day_start <= -limit * day_start + 1e-6


def test_rules_positions_replay_exactly_as_their_labels(training_run):
    """With nothing constraining the portfolio and no slippage, every rules-only position is
    its label: same exit, same net return (both default to the scripts' order types)."""
    config = unconstrained(slippage=SlippageConfig(fixed_bps=0, range_frac=0), modes=("rules",))
    results = run_backtests(training_run, config)
    for strategy in ("dca", "channel"):
        labels = training_run.strategies[strategy].dataset.frame.set_index("setup_id")
        for sl in ("oof", "quarantine"):
            t = results[(strategy, "rules", sl)].trades.set_index("setup_id")
            assert len(t) > 0 and len(results[(strategy, "rules", sl)].skipped) == 0
            lab = labels.loc[t.index]
            assert (t["exit_reason"] == lab["exit_reason"]).all()
            closed = t["exit_reason"].isin(CLOSED_REASONS)
            np.testing.assert_allclose(t.loc[closed, "net_return_frac"],
                                       lab.loc[closed, "net_return_frac"], rtol=1e-12)
            np.testing.assert_allclose(t.loc[closed, "entry_price"],
                                       lab.loc[closed, "entry_price"], rtol=1e-12)


def test_slippage_makes_market_entries_pay_more(training_run):
    config = unconstrained(slippage=SlippageConfig(fixed_bps=10, range_frac=0),
                           modes=("rules",), slices=("oof",), scopes=("channel",))
    t = run_backtests(training_run, config)[("channel", "rules", "oof")].trades
    candles = training_run.candle_sets
    opens = np.array([candles[p].frame.set_index("timestamp")["open"].loc[int(ts)]
                      for p, ts in zip(t["pair"], t["decision_s"], strict=True)])
    np.testing.assert_allclose(t["entry_price"], opens * 1.001, rtol=1e-12)
    assert (t["slippage_quote"] > 0).all()


def test_ml_trades_use_only_out_of_fold_scores(default_results, training_run):
    for (_scope, mode, sl), r in default_results.items():
        if mode != "ml":
            continue
        for strategy in r.strategies:
            sr = training_run.strategies[strategy]
            oof = sr.result.oof.assign(setup_id=sr.dataset.frame["setup_id"],
                                       decision_s=sr.dataset.frame["decision_s"])
            used = pd.concat([r.trades, r.skipped])
            used = used[used["strategy"] == strategy].merge(oof, on="setup_id",
                                                            suffixes=("", "_oof"))
            assert (used["model_train_end_s"] < used["decision_s"]).all()
            assert (used["fold_oof"] > 0).all() if sl == "oof" else \
                (used["fold_oof"] == -1).all()
            # every ML trade passed its fold's ex-ante rule and is sized by its rank, or flat
            # when training found rank sizes did not earn more (training.evaluation.size_choice)
            mine = r.trades[r.trades["strategy"] == strategy].merge(
                oof[["setup_id", "rank", "min_rank", "take"]], on="setup_id")
            assert mine["take"].all() and (mine["rank"] >= mine["min_rank"] - 1e-12).all()
            by_rank = sr.sizing_choice["source"] == "rank"
            np.testing.assert_allclose(mine["size_multiplier"],
                                       [sr.scoring.size_multiplier(r_, c) if by_rank else 1.0
                                        for r_, c in
                                        zip(mine["rank"], mine["min_rank"], strict=True)])
    assert len(default_results[("combined", "ml", "oof")].trades) > 0


def test_rules_and_ml_runs_see_the_same_setups(default_results):
    for scope in ("dca", "channel", "combined"):
        for sl in ("oof", "quarantine"):
            seen = {}
            for mode in ("rules", "ml"):
                r = default_results[(scope, mode, sl)]
                seen[mode] = set(r.trades["setup_id"]) | set(r.skipped["setup_id"])
            assert seen["rules"] == seen["ml"] and seen["rules"], (scope, sl)


def test_a_leaky_score_is_refused(training_run):
    sr = training_run.strategies["dca"]
    leaky = copy.copy(sr.result)
    leaky.oof = sr.result.oof.copy()
    row = int(np.flatnonzero(leaky.oof["fold"].to_numpy() > 0)[-1])
    decision = int(sr.dataset.frame["decision_s"].iat[row])
    leaky.oof.loc[leaky.oof.index[row], "model_train_end_s"] = decision  # saw its own period
    run = replace(training_run, strategies={**training_run.strategies,
                                            "dca": replace(sr, result=leaky)})
    with pytest.raises(LookAheadError, match=sr.dataset.frame["setup_id"].iat[row]):
        run_backtests(run, BacktestConfig(scopes=("dca",), slices=("oof",)))
    run_backtests(run, BacktestConfig(scopes=("dca",), modes=("rules",), slices=("oof",)))


def test_an_unscored_row_is_refused_for_ml(training_run):
    sr = training_run.strategies["channel"]
    fold = sr.result.oof["fold"].to_numpy()
    assert (fold == 0).any()
    market = market_for(training_run, BacktestConfig())
    with pytest.raises(LookAheadError, match="fold 0"):
        build_candidates(sr.dataset, sr.result.oof, sr.scoring, "ml", market, BacktestConfig(),
                         training_run.fees, rows=np.ones(fold.size, dtype=bool))
