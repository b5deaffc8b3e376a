"""The kernel additions the backtester relies on: slippage of market fills and the per-level
fill record, on real setups and real candles."""

from __future__ import annotations

import numpy as np

from training.labels.batch import simulate_positions
from training.labels.executor_walk import REASON_NOT_FILLED, REASON_OPEN_AT_END, REASON_TAKE_PROFIT
from training.labels.outcomes import FeeSchedule, LabelConfig, position_batch

FEES = FeeSchedule()
HOUR = 3600


def _replay(pf, setups, order="market", **kwargs):
    c = pf.candles.frame
    batch = position_batch(setups, c["timestamp"].to_numpy(), HOUR,
                           LabelConfig(position_take_profit_order=order))
    arrays = [c[col].to_numpy() for col in ("open", "high", "low", "close")]
    return batch, arrays, simulate_positions(*arrays, batch, FEES.maker_frac, FEES.taker_frac,
                                             **kwargs)


def _cases_by_pair(parity_cases):
    out: dict[str, list] = {}
    for setup, _ in parity_cases:
        out.setdefault(setup.pair, []).append(setup)
    return out


def test_zero_slippage_changes_nothing(parity_features, parity_cases):
    for pair, setups in _cases_by_pair(parity_cases).items():
        pf = parity_features[pair]
        _, _, plain = _replay(pf, setups)
        _, _, zero = _replay(pf, setups, slippage_frac=np.zeros(len(pf.candles.frame)))
        for name in ("reason", "exit_bar", "exit_price", "filled_base", "filled_quote",
                     "entry_fee_quote", "exit_fee_quote"):
            np.testing.assert_array_equal(getattr(plain, name), getattr(zero, name))
        assert (plain.slippage_quote == 0).all()


def test_slippage_hits_market_fills_only(parity_features, parity_cases):
    slip_frac = 0.002
    limit_take_profits = 0
    for pair, setups in _cases_by_pair(parity_cases).items():
        pf = parity_features[pair]
        n = len(pf.candles.frame)
        batch, (o, _, _, _), sim = _replay(pf, setups, slippage_frac=np.full(n, slip_frac))
        closed = (sim.reason != REASON_OPEN_AT_END) & (sim.reason != REASON_NOT_FILLED)
        market = batch.market_entry
        # a market entry spends its quote amount at open x (1 + slip)
        first = sim.level_fills[:, 0, :]
        rows = np.flatnonzero(market & (sim.fill_bar >= 0))
        bars = first[rows, 3].astype(int)
        np.testing.assert_allclose(first[rows, 1] / first[rows, 0], o[bars] * (1 + slip_frac),
                                   rtol=1e-12)
        np.testing.assert_allclose(first[rows, 1], batch.level_quote[rows, 0], rtol=1e-12)
        # grid levels never pay more than their limit
        grid = np.flatnonzero(~market & (sim.fill_bar >= 0))
        for r in grid:
            k = int(sim.levels_filled[r])
            price = sim.level_fills[r, :k, 1] / sim.level_fills[r, :k, 0]
            assert (price <= batch.level_price[r, :k] * (1 + 1e-12)).all()
        # every exit is a market sell here (market take profit): its slippage is reported
        exit_leg = sim.filled_base * sim.exit_price * slip_frac / (1 - slip_frac)
        assert (sim.slippage_quote[closed] >= exit_leg[closed] * (1 - 1e-9)).all()
        # a limit take profit is not slipped
        _, _, lim = _replay(pf, setups, order="limit", slippage_frac=np.full(n, slip_frac))
        tp = (lim.reason == REASON_TAKE_PROFIT) & market
        entry_leg = lim.level_fills[:, 0, 1] * slip_frac / (1 + slip_frac)
        np.testing.assert_allclose(lim.slippage_quote[tp], entry_leg[tp], rtol=1e-9)
        limit_take_profits += int(tp.sum())
    assert limit_take_profits > 0


def test_level_fill_record_adds_up(parity_features, parity_cases):
    for pair, setups in _cases_by_pair(parity_cases).items():
        pf = parity_features[pair]
        batch, _, sim = _replay(pf, setups)
        lv = sim.level_fills
        np.testing.assert_allclose(np.nansum(lv[:, :, 0], axis=1), sim.filled_base, rtol=1e-12)
        np.testing.assert_allclose(np.nansum(lv[:, :, 1], axis=1), sim.filled_quote, rtol=1e-12)
        np.testing.assert_allclose(np.nansum(lv[:, :, 2], axis=1), sim.entry_fee_quote,
                                   rtol=1e-12)
        counted = (~np.isnan(lv[:, :, 3])).sum(axis=1)
        np.testing.assert_array_equal(counted, sim.levels_filled)
        filled = sim.fill_bar >= 0
        np.testing.assert_array_equal(lv[filled, 0, 3], sim.fill_bar[filled])
        last = np.where(sim.exit_bar >= 0, sim.exit_bar, len(pf.candles.frame) - 1)
        bars = lv[:, :, 3]
        assert np.all(np.isnan(bars) | ((bars >= batch.entry_bar[:, None]) &
                                        (bars <= last[:, None])))
